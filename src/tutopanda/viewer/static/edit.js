/* Editing a segment from the movie page (only when the viewer runs with --allow-edits, which puts
 * the edit token in the page). The same conversation as 'tutopanda edit': change the texts, see the
 * plan (what re-runs and why, what it costs), confirm (ticking the cost of a paid plan), watch the
 * build, then the page reloads on the new revision with its diff. */
"use strict";

(function () {
  const TP = window.TP;
  const { el, $, clear, getJSON, showError, fmtCost } = TP;
  const meta = document.querySelector('meta[name="tutopanda-edit-token"]');
  if (!meta || !meta.content || !TP.moviePage) return; // a read-only viewer: no editor at all
  const TOKEN = meta.content;
  const POLL_MS = 700;
  const page = TP.moviePage;

  const state = { segments: new Map(), open: false, index: null, preview: null, busy: false };
  const api = () => TP.movieApi(page.movieId());

  async function postJSON(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-Tutopanda-Token": TOKEN },
        body: JSON.stringify(body),
        cache: "no-store",
      });
    } catch (exc) {
      throw new TP.ApiError("could not reach the viewer server", "is 'tutopanda viewer' still running?", 0);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (exc) {
      data = null;
    }
    if (!response.ok) {
      const message = (data && data.error) || `the viewer answered ${response.status}`;
      throw new TP.ApiError(message, data && data.hint, response.status);
    }
    return data;
  }

  function label(text) {
    if (text.key === "NarrationScript") return "Narration";
    const words = text.key.replace(/([a-z])([A-Z])/g, "$1 $2");
    return text.item === null || text.item === undefined ? words : `${words} ${text.item + 1}`;
  }

  function setResult(stateName, message) {
    const box = $("#edit-result");
    box.dataset.state = stateName;
    const seen = (box.dataset.states || "").split(" ").filter(Boolean);
    if (seen[seen.length - 1] !== stateName) seen.push(stateName);
    box.dataset.states = seen.join(" ");
    box.textContent = message;
    box.hidden = !message;
  }

  async function loadTexts() {
    const found = await getJSON(`${api()}/editing`);
    state.segments = new Map((found.segments || []).map((segment) => [segment.index, segment.texts]));
    state.providers = found.providers;
  }

  function onSegmentShown(index) {
    const moved = index !== state.index;
    state.index = index;
    const panel = $("#edit-panel");
    panel.hidden = !page.isCurrent() || index === null || !state.segments.has(index);
    $("#edit-heading").textContent = index === null ? "Edit this segment" : `Edit segment ${index + 1}`;
    if (moved && state.open && !state.busy) closeEditor(); // the texts shown were another segment's
  }

  function openEditor() {
    const texts = state.segments.get(state.index) || [];
    const fields = clear($("#edit-fields"));
    for (const text of texts) {
      const id = `edit-${text.artefactId.replace(/[^A-Za-z0-9]+/g, "-")}`;
      fields.appendChild(
        el(
          "div",
          { class: "edit-field" },
          el("label", { for: id, text: label(text) }),
          el("textarea", {
            id,
            rows: text.key === "NarrationScript" ? 4 : 3,
            dataset: { artefact: text.artefactId, original: text.text, key: text.key },
          })
        )
      );
      $(`#${id}`).value = text.text;
    }
    state.open = true;
    $("#edit-form").hidden = false;
    $("#edit-open").hidden = true;
    $("#edit-plan").hidden = true;
    $("#edit-error").hidden = true;
    const first = fields.querySelector("textarea");
    if (first) first.focus();
  }

  function closeEditor() {
    state.open = false;
    state.preview = null;
    $("#edit-form").hidden = true;
    $("#edit-plan").hidden = true;
    $("#edit-open").hidden = false;
  }

  function changedTexts() {
    const texts = {};
    for (const area of document.querySelectorAll("#edit-fields textarea")) {
      if (area.value !== area.dataset.original) texts[area.dataset.artefact] = area.value;
    }
    return texts;
  }

  async function preview(event) {
    event.preventDefault();
    const texts = changedTexts();
    const errorBox = $("#edit-error");
    errorBox.hidden = true;
    if (!Object.keys(texts).length) {
      showError(errorBox, new TP.ApiError("nothing changed", "change a text, then preview"), "");
      return;
    }
    $("#edit-preview").disabled = true;
    try {
      state.preview = await postJSON(`${api()}/edit/preview`, { texts });
      renderPlan(state.preview);
    } catch (error) {
      showError(errorBox, error, "Cannot rebuild with this edit:");
    } finally {
      $("#edit-preview").disabled = false;
    }
  }

  function reasonText(reason) {
    const names = {
      "input-changed": "input changed",
      "upstream-changed": "upstream changed",
      "upstream-rebuilding": "upstream re-runs",
      "output-missing": "output missing",
      "last-attempt-failed": "last attempt failed",
      forced: "forced",
    };
    const what = names[reason.code] || reason.code;
    const detail = String(reason.detail || "").replace(/^(Artifact|Producer|Input):/, "");
    return detail ? `${what}: ${detail}` : what;
  }

  function renderPlan(shown) {
    const plan = shown.plan;
    const box = clear($("#edit-plan"));
    const paid = Object.entries(plan.paid || {});
    const cost = plan.estimatedCost;
    const costText =
      (cost === null || cost === undefined ? "cost unknown" : `estimated cost ${fmtCost(cost)}`) +
      (plan.unpricedJobs ? ` + ${plan.unpricedJobs} job(s) without a price` : "");
    box.appendChild(el("h4", { text: `Plan for ${plan.revision} (from ${plan.baseRevision || "nothing"})` }));
    box.appendChild(
      el("p", {
        class: "edit-plan-summary",
        text:
          `${plan.dirtyJobs} of ${plan.totalJobs} jobs re-run, ${plan.totalJobs - plan.dirtyJobs} stay as they are · ` +
          costText +
          (paid.length ? "" : ` · no paid provider (--providers ${state.providers})`),
      })
    );
    const rows = plan.jobs.map((job) =>
      el(
        "tr",
        { dataset: { job: job.jobId } },
        el("td", {}, el("code", { text: String(job.jobId).replace(/^Producer:/, "") })),
        el("td", { text: job.provider }),
        el("td", { text: job.reasons.map(reasonText).join("; ") }),
        el("td", { class: "num", text: fmtCost(job.estimatedCost) })
      )
    );
    box.appendChild(
      el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { class: "data-table edit-plan-jobs" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["Job", "Provider", "Why it re-runs", "Cost"].map((name) =>
                el("th", { scope: "col", class: name === "Cost" ? "num" : null, text: name })
              )
            )
          ),
          el("tbody", {}, rows)
        )
      )
    );
    let accept = null;
    if (shown.needsCostConfirmation) {
      accept = el("input", { type: "checkbox", id: "edit-accept-cost" });
      box.appendChild(
        el(
          "p",
          { class: "edit-paid" },
          accept,
          el("label", {
            for: "edit-accept-cost",
            text:
              ` This build calls paid online providers (${paid.map(([m, p]) => `${m}: ${p}`).join(", ")}). ` +
              `I accept its ${costText}.`,
          })
        )
      );
    }
    const confirm = el("button", { type: "button", id: "edit-confirm", text: "Confirm and rebuild" });
    const back = el("button", { type: "button", class: "secondary", text: "Back to the texts" });
    confirm.disabled = Boolean(accept);
    if (accept) accept.addEventListener("change", () => (confirm.disabled = !accept.checked));
    confirm.addEventListener("click", () => start(accept !== null));
    back.addEventListener("click", () => {
      box.hidden = true;
      $("#edit-form").hidden = false;
    });
    box.appendChild(el("div", { class: "edit-actions" }, confirm, back));
    $("#edit-form").hidden = true;
    box.hidden = false;
    confirm.focus();
  }

  async function start(paid) {
    const shown = state.preview;
    if (!shown) return;
    const errorBox = $("#edit-error");
    errorBox.hidden = true;
    const body = { token: shown.token };
    if (paid) body.acceptCost = shown.plan.estimatedCost;
    $("#edit-confirm").disabled = true;
    let started;
    try {
      started = await postJSON(`${api()}/edit/start`, body);
    } catch (error) {
      showError(errorBox, error, "The build did not start:");
      $("#edit-confirm").disabled = false;
      return;
    }
    state.busy = true;
    state.preview = null;
    $("#edit-plan").hidden = true;
    setResult(started.state, `Building ${shown.plan.revision}…`);
    page.watchBuild();
    follow(shown.plan);
  }

  async function follow(plan) {
    let status;
    try {
      status = await getJSON(`${api()}/edit`);
    } catch (error) {
      setTimeout(() => follow(plan), POLL_MS);
      return;
    }
    if (status.state === "running") {
      const progress = status.progress;
      const done =
        progress && progress.planned ? ` ${progress.finished} of ${progress.jobs} jobs done` : " planning…";
      setResult("running", `Building ${plan.revision}:${done}`);
      setTimeout(() => follow(plan), POLL_MS);
      return;
    }
    state.busy = false;
    closeEditor();
    if (status.state === "built") {
      setResult(
        "built",
        `Built ${status.revision}: ${status.jobsRun} job(s) run. The page now shows it; ` +
          "the changes are under “Revision history”."
      );
    } else {
      setResult(status.state, "");
      showError($("#edit-error"), new TP.ApiError(status.error || "the build failed", status.hint, 0), "");
    }
    await loadTexts();
    await page.reload();
  }

  function main() {
    TP.onSegmentShown = onSegmentShown;
    $("#edit-open").addEventListener("click", openEditor);
    $("#edit-cancel").addEventListener("click", closeEditor);
    $("#edit-form").addEventListener("submit", preview);
    loadTexts()
      .then(() => onSegmentShown(page.selectedIndex()))
      .catch((error) => {
        $("#edit-panel").hidden = false;
        showError($("#edit-error"), error, "Editing is not available:");
      });
  }

  main();
})();
