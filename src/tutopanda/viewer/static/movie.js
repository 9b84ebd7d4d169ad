/* The movie page (/movies/{id}[?revision=rev-NNNN]): player, timeline, segments with their
 * provenance, revision history and diff, and build progress. Reads only the JSON API. */
"use strict";

(function () {
  const TP = window.TP;
  const { el, $, $$, clear, getJSON, showError, isNumber } = TP;
  const { fmtTime, fmtSeconds, fmtCost, fmtBytes, fmtDate, shortHash, artefactUrl } = TP;

  const SEEK_EPSILON = 0.01; // lands a seek inside the segment, not on the boundary before it
  const POLL_MS = 2000;
  const KIND_ORDER = ["visual", "narration", "music", "captions"];
  const EMPTY_REVISION = "rev-0000";

  const state = {
    movieId: null,
    revisionParam: null, // ?revision= of the page (an older revision), else null = current
    detail: null,
    timeline: null,
    segments: [], // [{index, start, duration, narration, artefacts}] with numeric start/duration when known
    duration: null,
    selectedIndex: null,
    playingIndex: undefined,
    fakeTime: 0, // playhead position when there is no video to seek
    pendingSeek: null, // a seek asked for before the video knew its length: applied once it does
    rafId: null,
    pollTimer: null,
    diffRequest: 0,
    clipNodes: [], // [{node, start, end, text}]
  };

  const player = () => $("#player");
  const api = () => TP.movieApi(state.movieId);
  const revisionQuery = () =>
    state.revisionParam ? `?revision=${encodeURIComponent(state.revisionParam)}` : "";
  const pct = (seconds) =>
    state.duration > 0 ? `${Math.max(0, Math.min(100, (seconds / state.duration) * 100))}%` : "0%";
  const shortName = (artefactId) => {
    const text = String(artefactId || "");
    const bare = text.replace(/^Artifact:/, "");
    const dot = bare.indexOf(".");
    return dot >= 0 ? bare.slice(dot + 1) : bare;
  };

  // ---- page state -----------------------------------------------------------------------------

  function movieIdFromPath() {
    const parts = location.pathname.replace(/\/+$/, "").split("/");
    if (parts.length < 3 || parts[1] !== "movies" || !parts[2]) return null;
    try {
      return decodeURIComponent(parts[2]);
    } catch (exc) {
      return parts[2];
    }
  }

  function fatal(error) {
    $("#status").hidden = true;
    $("#movie").hidden = true;
    stopPlayheadLoop();
    showError($("#error"), error, "Could not show this movie:");
    const box = $("#error");
    box.appendChild(el("p", {}, el("a", { href: "/?list", text: "Back to the list of movies" })));
    document.title = "Movie not found · Tutopanda viewer";
  }

  // ---- loading --------------------------------------------------------------------------------

  async function load() {
    const [detailResult, timelineResult] = await Promise.allSettled([
      getJSON(api() + revisionQuery()),
      getJSON(`${api()}/timeline${revisionQuery()}`),
    ]);
    if (detailResult.status === "rejected") {
      fatal(detailResult.reason);
      return;
    }
    $("#error").hidden = true;
    const timeline = timelineResult.status === "fulfilled" ? timelineResult.value : null;
    render(detailResult.value, timeline, timelineResult.status === "rejected" ? timelineResult.reason : null);
    loadRevisions();
  }

  function render(detail, timeline, timelineError) {
    state.detail = detail;
    state.timeline = timeline;
    state.segments = normaliseSegments(detail, timeline);
    state.duration = firstNumber(timeline && timeline.duration, detail.duration, lastSegmentEnd());
    $("#status").hidden = true;
    $("#movie").hidden = false;

    renderHeader(detail);
    renderPlayer(detail);
    renderSegmentStrip();
    renderTimeline(timeline, timelineError);
    const keep = state.segments.find((segment) => segment.index === state.selectedIndex);
    const first = state.segments[0];
    state.playingIndex = undefined;
    selectSegment(keep ? keep.index : first ? first.index : null, { seek: false });
    onTime();
    showProgress(detail.progress);
    if (detail.progress && detail.progress.building) startPolling();
  }

  function firstNumber(...values) {
    for (const value of values) if (isNumber(value) && value > 0) return value;
    return null;
  }

  function normaliseSegments(detail, timeline) {
    const placed = new Map(((timeline && timeline.segments) || []).map((item) => [item.index, item]));
    return (detail.segments || []).map((segment) => {
      const fallback = placed.get(segment.index) || {};
      return {
        index: segment.index,
        start: isNumber(segment.start) ? segment.start : isNumber(fallback.start) ? fallback.start : null,
        duration: isNumber(segment.duration)
          ? segment.duration
          : isNumber(fallback.duration)
            ? fallback.duration
            : null,
        narration: segment.narration,
        artefacts: segment.artefacts || [],
      };
    });
  }

  function lastSegmentEnd() {
    let end = null;
    for (const segment of state.segments) {
      if (isNumber(segment.start) && isNumber(segment.duration)) {
        end = Math.max(end || 0, segment.start + segment.duration);
      }
    }
    return end;
  }

  // ---- header and player ----------------------------------------------------------------------

  function renderHeader(detail) {
    const title = detail.title || detail.id;
    document.title = `${title} · Tutopanda viewer`;
    $("#title").textContent = title;
    const meta = clear($("#meta"));
    const parts = [
      el("code", { class: "meta-id", text: detail.id }),
      el("span", { class: "meta-revision", text: detail.revision || "no revision yet" }),
      el("span", { class: "meta-duration", text: fmtTime(state.duration, 1) }),
      isNumber(detail.width) && isNumber(detail.height)
        ? el("span", { class: "meta-size", text: `${detail.width}×${detail.height}` })
        : null,
      el("span", { class: "meta-cost", text: fmtCost(detail.cost) }),
      el("span", {
        class: "meta-segments",
        text: `${state.segments.length} segment${state.segments.length === 1 ? "" : "s"}`,
      }),
    ].filter(Boolean);
    parts.forEach((part, i) => {
      if (i) meta.appendChild(el("span", { class: "sep", "aria-hidden": "true", text: " · " }));
      meta.appendChild(part);
    });

    const mock = $("#mock-banner");
    if (detail.mock) {
      mock.textContent =
        detail.mock === "all"
          ? "Mock movie: made with the mock providers (--providers mock). Its pictures, voices and " +
            "video are placeholders, not a real render."
          : "Partly mock: some artefacts of this revision were made with the mock providers " +
            "(placeholders); rebuild them with real providers before publishing.";
      mock.dataset.mock = detail.mock;
      mock.hidden = false;
    } else {
      mock.hidden = true;
    }

    const banner = $("#revision-banner");
    clear(banner);
    if (state.revisionParam) {
      TP.append(banner, [
        `You are viewing ${detail.revision || state.revisionParam}, an earlier revision. `,
        el("a", { href: location.pathname, text: "Show the current revision" }),
      ]);
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
  }

  function renderPlayer(detail) {
    const video = player();
    const noVideo = $("#no-video");
    if (isNumber(detail.width) && isNumber(detail.height) && detail.height > 0) {
      video.style.aspectRatio = `${detail.width} / ${detail.height}`;
    }
    // A poster frame (the first segment's picture) so the player never opens on a black box; the
    // player is not muted: a narrated movie is meant to be heard when the user presses play.
    if (detail.poster) {
      const poster = artefactUrl(state.movieId, detail.poster, detail.revision);
      if (video.getAttribute("poster") !== poster) video.setAttribute("poster", poster);
    } else {
      video.removeAttribute("poster");
    }
    if (detail.video) {
      const src = artefactUrl(state.movieId, detail.video, detail.revision);
      if (video.getAttribute("src") !== src) video.setAttribute("src", src);
      video.hidden = false;
      noVideo.hidden = true;
    } else {
      if (video.hasAttribute("src")) {
        video.removeAttribute("src");
        video.load();
      }
      video.hidden = true;
      TP.append(clear(noVideo), [
        "No final video in this revision yet: build the movie (",
        el("code", { text: `tutopanda build run --movie ${state.movieId}` }),
        ") and reload this page.",
      ]);
      noVideo.hidden = false;
    }
  }

  function hasVideo() {
    const video = player();
    return !video.hidden && video.hasAttribute("src");
  }

  function currentTime() {
    return hasVideo() ? player().currentTime : state.fakeTime;
  }

  function seek(seconds) {
    if (!isNumber(seconds)) return;
    const target = Math.max(0, seconds);
    if (hasVideo()) {
      const video = player();
      // Before its metadata the video may still reset to 0 as it loads: keep the seek for then.
      state.pendingSeek = video.readyState < HTMLMediaElement.HAVE_METADATA ? target : null;
      video.currentTime = target;
    } else state.fakeTime = target;
    onTime();
  }

  function onTime() {
    // While the video loads, its time says nothing about where the user is (a segment chosen
    // meanwhile must not be taken back by the load's reset to 0).
    if (hasVideo() && player().readyState < HTMLMediaElement.HAVE_METADATA) return;
    const t = currentTime();
    const playhead = $("#playhead");
    playhead.style.left = pct(t);
    const segment = segmentAt(t);
    const index = segment ? segment.index : null;
    if (index !== state.playingIndex) {
      const follow = state.playingIndex !== undefined;
      state.playingIndex = index;
      for (const button of $$("#segments .segment")) {
        const current = Number(button.dataset.segment) === index;
        button.classList.toggle("current", current);
        if (current) button.setAttribute("aria-current", "true");
        else button.removeAttribute("aria-current");
      }
      // The details follow the playback: a segment reached by playing (or by a seek) is shown.
      if (follow && index !== null && index !== state.selectedIndex) selectSegment(index, { seek: false });
    }
    let caption = "";
    for (const item of state.clipNodes) {
      const active = t >= item.start && t < item.end;
      item.node.classList.toggle("active", active);
      if (active && item.text) caption = item.text;
    }
    const captionBox = $("#caption");
    if (captionBox.textContent !== caption) captionBox.textContent = caption;
  }

  function segmentAt(t) {
    const placed = state.segments.filter((s) => isNumber(s.start) && isNumber(s.duration));
    if (!placed.length) return null;
    for (const segment of placed) if (t >= segment.start && t < segment.start + segment.duration) return segment;
    return t < placed[0].start ? placed[0] : placed[placed.length - 1];
  }

  function tick() {
    onTime();
    const video = player();
    state.rafId = !video.paused && !video.ended ? requestAnimationFrame(tick) : null;
  }

  function startPlayheadLoop() {
    if (state.rafId === null) state.rafId = requestAnimationFrame(tick);
  }

  function stopPlayheadLoop() {
    if (state.rafId !== null) cancelAnimationFrame(state.rafId);
    state.rafId = null;
  }

  function wirePlayer() {
    const video = player();
    for (const event of ["timeupdate", "seeking", "seeked", "loadedmetadata"]) {
      video.addEventListener(event, onTime);
    }
    video.addEventListener("loadedmetadata", () => {
      if (isNumber(state.pendingSeek)) {
        video.currentTime = state.pendingSeek;
        state.pendingSeek = null;
      }
      if (!state.duration && isNumber(video.duration)) {
        state.duration = video.duration;
        onTime();
      }
    });
    video.addEventListener("play", startPlayheadLoop);
    video.addEventListener("pause", () => {
      stopPlayheadLoop();
      onTime();
    });
    video.addEventListener("ended", () => {
      stopPlayheadLoop();
      onTime();
    });
    video.addEventListener("error", () => {
      if (!video.hasAttribute("src")) return;
      const box = $("#no-video");
      box.textContent = "The video could not be loaded (was the movie deleted or rebuilt?). Reload the page.";
      box.hidden = false;
    });
  }

  // ---- segments -------------------------------------------------------------------------------

  function renderSegmentStrip() {
    const strip = clear($("#segments"));
    if (!state.segments.length) {
      strip.appendChild(el("p", { class: "empty", text: "No segments yet." }));
      return;
    }
    for (const segment of state.segments) {
      const span =
        isNumber(segment.start) && isNumber(segment.duration)
          ? `${fmtTime(segment.start, 1)}–${fmtTime(segment.start + segment.duration, 1)}`
          : "not placed yet";
      const snippet = segment.narration ? segment.narration.trim() : "";
      strip.appendChild(
        el(
          "button",
          {
            type: "button",
            class: "segment",
            dataset: { segment: String(segment.index) },
            "aria-pressed": "false",
            title: snippet || null,
            style: { flexGrow: String(isNumber(segment.duration) && segment.duration > 0 ? segment.duration : 1) },
            on: { click: () => selectSegment(segment.index, { seek: true }) },
          },
          el("span", { class: "segment-number", text: `Segment ${segment.index + 1}` }),
          el("span", { class: "segment-span", text: span }),
          snippet ? el("span", { class: "segment-snippet", text: snippet }) : null
        )
      );
    }
  }

  function selectSegment(index, options) {
    const segment = state.segments.find((item) => item.index === index) || null;
    state.selectedIndex = segment ? segment.index : null;
    for (const button of $$("#segments .segment")) {
      const selected = segment !== null && Number(button.dataset.segment) === segment.index;
      button.classList.toggle("selected", selected);
      button.setAttribute("aria-pressed", selected ? "true" : "false");
    }
    renderDetails(segment);
    if (segment && options && options.seek && isNumber(segment.start)) seek(segment.start + SEEK_EPSILON);
  }

  function renderDetails(segment) {
    if (TP.onSegmentShown) TP.onSegmentShown(segment ? segment.index : null);
    const panel = $("#segment-details");
    const text = $("#segment-text");
    const media = clear($("#segment-media"));
    const rows = clear($("#provenance tbody"));
    panel.hidden = state.segments.length === 0;
    if (!segment) {
      panel.dataset.segment = "";
      $("#segment-heading").textContent = "Segment";
      $("#segment-time").textContent = "";
      text.textContent = "Select a segment to see its texts, media and provenance.";
      text.classList.add("missing");
      return;
    }
    panel.dataset.segment = String(segment.index);
    $("#segment-heading").textContent = `Segment ${segment.index + 1}`;
    $("#segment-time").textContent =
      isNumber(segment.start) && isNumber(segment.duration)
        ? `${fmtTime(segment.start, 2)} – ${fmtTime(segment.start + segment.duration, 2)} ` +
          `(${segment.duration.toFixed(2)} s) · index ${segment.index}`
        : `index ${segment.index} · not on the timeline yet`;
    if (segment.narration) {
      text.textContent = segment.narration;
      text.classList.remove("missing");
    } else {
      text.textContent = "No narration text for this segment.";
      text.classList.add("missing");
    }

    const revision = state.detail && state.detail.revision;
    for (const artefact of segment.artefacts) {
      const mime = String(artefact.mimeType || "");
      const url = artefactUrl(state.movieId, artefact.id, revision);
      if (mime.startsWith("image/")) {
        media.appendChild(
          el(
            "figure",
            { class: "media media-image", dataset: { artefact: artefact.id } },
            el(
              "a",
              { href: url, target: "_blank", rel: "noopener" },
              el("img", { src: url, alt: `${shortName(artefact.id)} (image)`, loading: "lazy" })
            ),
            el("figcaption", {}, shortName(artefact.id), artefact.manual ? manualBadge() : null)
          )
        );
      } else if (mime.startsWith("audio/")) {
        media.appendChild(
          el(
            "figure",
            { class: "media media-audio", dataset: { artefact: artefact.id } },
            el("figcaption", {}, shortName(artefact.id), artefact.manual ? manualBadge() : null),
            el("audio", { controls: true, preload: "none", src: url })
          )
        );
      } else if (mime.startsWith("video/")) {
        media.appendChild(
          el(
            "p",
            { class: "media media-video", dataset: { artefact: artefact.id } },
            el("a", {
              class: "clip-link",
              href: url,
              target: "_blank",
              rel: "noopener",
              text: `Open ${shortName(artefact.id)} (${mime}, ${fmtBytes(artefact.size)})`,
            }),
            artefact.manual ? manualBadge() : null
          )
        );
      }
      rows.appendChild(provenanceRow(artefact, url));
    }
    if (!segment.artefacts.length) {
      rows.appendChild(el("tr", {}, el("td", { colspan: "8", class: "empty", text: "No artefacts yet." })));
    }
  }

  function manualBadge() {
    return el("span", { class: "badge badge-manual", title: "replaced by hand", text: "manual" });
  }

  function provenanceRow(artefact, url) {
    let provider = [artefact.provider, artefact.model].filter(Boolean).join(" / ") || "—";
    if (artefact.engine && artefact.voice) {
      // local speech: the engine and voice that spoke, e.g. "Piper en_US-joe-medium"
      const engines = { piper: "Piper", "espeak-ng": "eSpeak NG" };
      provider += ` (${engines[artefact.engine] || artefact.engine} ${artefact.voice})`;
    }
    return el(
      "tr",
      { dataset: { artefact: artefact.id }, class: artefact.manual ? "manual" : null },
      el(
        "td",
        { class: "artefact-id" },
        el("a", {
          href: url,
          target: "_blank",
          rel: "noopener",
          title: `${artefact.id} (open the file)`,
          text: String(artefact.id).replace(/^Artifact:/, ""),
        }),
        artefact.manual ? [" ", manualBadge()] : null
      ),
      el(
        "td",
        { class: "producer" },
        el("code", {
          title: artefact.producer || null,
          text: artefact.producer ? String(artefact.producer).replace(/^Producer:/, "") : "—",
        })
      ),
      el("td", { class: "provider" }, provider, artefact.mode ? el("span", { class: "mode", text: ` (${artefact.mode})` }) : null),
      el(
        "td",
        { class: "hash" },
        el("code", { title: artefact.inputsHash || null, text: shortHash(artefact.inputsHash, 12) })
      ),
      el(
        "td",
        { class: "type" },
        artefact.mimeType || "?",
        el("span", { class: "size", text: fmtBytes(artefact.size) })
      ),
      el("td", { class: "num", text: fmtCost(artefact.cost) }),
      el("td", { class: "num", text: isNumber(artefact.durationSeconds) ? `${artefact.durationSeconds.toFixed(2)} s` : "—" }),
      el("td", { text: artefact.revision || "—" })
    );
  }

  // ---- timeline -------------------------------------------------------------------------------

  function renderTimeline(timeline, error) {
    const box = $("#timeline");
    const message = $("#timeline-message");
    const tracksBox = clear($("#timeline-tracks"));
    const ruler = clear($("#timeline-ruler"));
    const bounds = clear($("#timeline-bounds"));
    state.clipNodes = [];
    if (!timeline || !(state.duration > 0)) {
      box.hidden = true;
      message.textContent =
        error && error.status !== 404
          ? `The timeline could not be loaded: ${error.message}`
          : "No timeline yet: it appears once the movie's clips are built.";
      message.hidden = false;
      return;
    }
    message.hidden = true;
    box.hidden = false;

    // time ruler
    const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
    const step = steps.find((s) => state.duration / s <= 10) || 3600;
    for (let t = 0; t < state.duration - step * 0.25; t += step) {
      ruler.appendChild(el("span", { class: "tick", style: { left: pct(t) }, text: fmtTime(t) }));
    }

    // segment boundaries
    for (const segment of state.segments) {
      if (isNumber(segment.start) && segment.start > 0) {
        bounds.appendChild(el("span", { class: "bound", style: { left: pct(segment.start) } }));
      }
    }

    const mimeOf = new Map();
    for (const segment of state.segments) {
      for (const artefact of segment.artefacts) mimeOf.set(artefact.id, artefact.mimeType || "");
    }
    const rank = (kind) => {
      const i = KIND_ORDER.indexOf(kind);
      return i < 0 ? KIND_ORDER.length : i;
    };
    const tracks = (timeline.tracks || [])
      .map((track, position) => ({ track, position }))
      .sort((a, b) => rank(a.track.kind) - rank(b.track.kind) || a.position - b.position)
      .map((item) => item.track);

    for (const track of tracks) {
      const lane = el("div", { class: "track-lane", on: { click: seekFromLane } });
      for (const clip of track.clips || []) {
        if (!isNumber(clip.start) || !isNumber(clip.duration)) continue;
        const label = clip.text || shortName(clip.artefactId) || clip.id;
        const tip = [
          clip.text ? `“${clip.text}”` : clip.artefactId,
          `${fmtTime(clip.start, 2)} – ${fmtTime(clip.start + clip.duration, 2)}`,
        ]
          .filter(Boolean)
          .join("\n");
        const node = el(
          "button",
          {
            type: "button",
            class: `clip clip-${track.kind}`,
            dataset: { clip: clip.id, artefact: clip.artefactId || null, start: String(clip.start) },
            title: tip,
            style: { left: pct(clip.start), width: pct(clip.duration) },
            on: { click: (event) => onClipClick(event, clip) },
          },
          el("span", { class: "clip-label", text: label })
        );
        if (clip.artefactId && String(mimeOf.get(clip.artefactId) || "").startsWith("image/")) {
          node.classList.add("has-thumb");
          node.style.backgroundImage = `url("${artefactUrl(state.movieId, clip.artefactId, state.detail.revision)}")`;
        }
        lane.appendChild(node);
        state.clipNodes.push({
          node,
          start: clip.start,
          end: clip.start + clip.duration,
          text: track.kind === "captions" ? clip.text || "" : "",
        });
      }
      tracksBox.appendChild(
        el(
          "div",
          { class: `timeline-row track track-${track.kind}`, dataset: { track: track.id, kind: track.kind } },
          el("div", { class: "track-label", title: `${track.id} (${track.kind})`, text: track.id }),
          lane
        )
      );
    }
  }

  function onClipClick(event, clip) {
    event.stopPropagation();
    const at = clip.start + SEEK_EPSILON;
    const segment = segmentAt(at);
    if (segment) selectSegment(segment.index, { seek: false });
    seek(at);
  }

  function seekFromLane(event) {
    if (event.target !== event.currentTarget || !(state.duration > 0)) return;
    const rect = event.currentTarget.getBoundingClientRect();
    if (rect.width <= 0) return;
    const fraction = Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
    seek(fraction * state.duration);
  }

  // ---- build progress -------------------------------------------------------------------------

  function showProgress(progress) {
    const box = $("#progress");
    if (!progress || !progress.building) {
      box.hidden = true;
      return;
    }
    const jobs = isNumber(progress.jobs) ? progress.jobs : 0;
    const finished = isNumber(progress.finished) ? progress.finished : 0;
    let what = progress.revision ? `building ${progress.revision}` : "building";
    if (progress.executor === "durable") {
      what += progress.workflow ? ` (durable build ${progress.workflow})` : " (durable build)";
    }
    let text = `${what}: planning…`;
    if (progress.planned) {
      const parts = [];
      if (progress.fresh) parts.push(`${progress.fresh} up to date`);
      if (progress.succeeded) parts.push(`${progress.succeeded} run`);
      if (progress.failed) parts.push(`${progress.failed} failed`);
      text = `${what}: ${finished} of ${jobs} jobs done` + (parts.length ? ` (${parts.join(", ")})` : "");
      if (progress.next) text += ` · next: ${String(progress.next).replace(/^Producer:/, "")}`;
    }
    const box0 = $("#progress");
    box0.dataset.finished = String(finished);
    box0.dataset.jobs = String(jobs);
    box0.dataset.revision = progress.revision || "";
    $("#progress-text").textContent = text;
    const bar = $("#progress-bar");
    bar.max = Math.max(1, jobs);
    bar.value = Math.min(finished, Math.max(1, jobs));
    box.hidden = false;
  }

  function startPolling() {
    if (state.pollTimer !== null) return;
    state.pollTimer = setTimeout(poll, POLL_MS);
  }

  async function poll() {
    let progress;
    try {
      progress = await getJSON(`${api()}/progress`);
    } catch (error) {
      $("#progress-text").textContent = `lost contact with the viewer (${error.message}); retrying…`;
      state.pollTimer = setTimeout(poll, POLL_MS);
      return;
    }
    if (progress && progress.building) {
      showProgress(progress);
      state.pollTimer = setTimeout(poll, POLL_MS);
      return;
    }
    state.pollTimer = null;
    showProgress(null);
    await load(); // the build finished: show what it made
  }

  // ---- revisions and diff ---------------------------------------------------------------------

  async function loadRevisions() {
    const errorBox = $("#revisions-error");
    let rows;
    try {
      rows = await getJSON(`${api()}/revisions`);
    } catch (error) {
      showError(errorBox, error, "Could not load the revision history:");
      return;
    }
    errorBox.hidden = true;
    renderRevisions(Array.isArray(rows) ? rows : []);
  }

  function renderRevisions(rows) {
    const shown = state.detail && state.detail.revision;
    const body = clear($("#revisions tbody"));
    if (!rows.length) {
      body.appendChild(el("tr", {}, el("td", { colspan: "8", class: "empty", text: "No revisions yet." })));
    }
    rows.forEach((row, position) => {
      const isShown = row.revision === shown;
      const latest = position === 0;
      const href = latest && !state.revisionParam ? location.pathname : `${location.pathname}?revision=${encodeURIComponent(row.revision)}`;
      const jobs = row.jobs || {};
      const jobParts = [];
      if (isNumber(jobs.succeeded)) jobParts.push(`${jobs.succeeded} run`);
      if (isNumber(jobs.cached)) jobParts.push(`${jobs.cached} cached`);
      if (isNumber(jobs.failed)) jobParts.push(`${jobs.failed} failed`);
      body.appendChild(
        el(
          "tr",
          { dataset: { revision: row.revision }, class: isShown ? "shown" : null },
          el(
            "td",
            {},
            isShown ? el("strong", { text: row.revision }) : el("a", { href, text: row.revision }),
            latest ? [" ", el("span", { class: "badge", text: "latest" })] : null,
            isShown ? [" ", el("span", { class: "badge badge-shown", text: "shown" })] : null
          ),
          el("td", { text: row.baseRevision || "—" }),
          el("td", { title: row.createdAt || null, text: fmtDate(row.createdAt) }),
          el("td", { class: `status status-${row.status || "unknown"}`, text: row.status || "—" }),
          el("td", { class: isNumber(jobs.failed) && jobs.failed > 0 ? "has-failures" : null, text: jobParts.join(", ") || "—" }),
          el("td", { class: "num", text: isNumber(row.artefacts) ? String(row.artefacts) : "—" }),
          el("td", { class: "num", text: fmtCost(row.cost) }),
          el("td", { class: "num", text: fmtSeconds(row.durationSeconds) })
        )
      );
    });
    fillDiffSelects(rows, shown);
  }

  function fillDiffSelects(rows, shown) {
    const from = clear($("#diff-from"));
    const to = clear($("#diff-to"));
    const names = rows.map((row) => row.revision);
    const button = $("#diff-show");
    $("#diff-form").hidden = names.length === 0;
    if (!names.length) {
      from.disabled = to.disabled = button.disabled = true;
      clear($("#diff")).appendChild(el("p", { class: "empty", text: "Nothing to compare yet." }));
      return;
    }
    from.disabled = to.disabled = button.disabled = false;
    for (const name of names) {
      from.appendChild(el("option", { value: name, text: name }));
      to.appendChild(el("option", { value: name, text: name }));
    }
    from.appendChild(el("option", { value: EMPTY_REVISION, text: `${EMPTY_REVISION} (empty)` }));
    const target = names.includes(shown) ? shown : names[0];
    const older = names[names.indexOf(target) + 1] || EMPTY_REVISION;
    to.value = target;
    from.value = older;
    showDiff();
  }

  async function showDiff() {
    const from = $("#diff-from").value;
    const to = $("#diff-to").value;
    const box = $("#diff");
    if (!from || !to) return;
    const request = ++state.diffRequest;
    box.setAttribute("aria-busy", "true");
    let diff;
    try {
      diff = await getJSON(
        `${api()}/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`
      );
    } catch (error) {
      if (request !== state.diffRequest) return;
      box.removeAttribute("aria-busy");
      clear(box);
      const errorBox = el("div", { class: "error", role: "alert" });
      box.appendChild(errorBox);
      showError(errorBox, error, "Could not compare the revisions:");
      return;
    }
    if (request !== state.diffRequest) return; // a newer comparison was asked for meanwhile
    box.removeAttribute("aria-busy");
    renderDiff(box, diff);
  }

  function renderDiff(box, diff) {
    clear(box);
    box.dataset.from = diff.from || "";
    box.dataset.to = diff.to || "";
    box.appendChild(el("h3", { class: "diff-title", text: `${diff.from || "?"} → ${diff.to || "?"}` }));
    let total = 0;
    for (const [section, label] of [
      ["inputs", "Inputs"],
      ["artefacts", "Artefacts"],
    ]) {
      const groups = diff[section] || {};
      const count = ["added", "changed", "removed"].reduce((n, key) => n + (groups[key] || []).length, 0);
      if (!count) continue;
      total += count;
      const sectionBox = el(
        "section",
        { class: "diff-section", dataset: { section } },
        el("h4", { text: `${label} (${count})` })
      );
      for (const change of ["changed", "added", "removed"]) {
        const items = groups[change] || [];
        if (!items.length) continue;
        sectionBox.appendChild(
          el(
            "div",
            { class: `diff-group diff-${change}`, dataset: { change } },
            el("h5", { text: `${change} (${items.length})` }),
            el("ul", {}, byKind(items).map((item) => diffItem(item, change, diff)))
          )
        );
      }
      box.appendChild(sectionBox);
    }
    if (!total) box.appendChild(el("p", { class: "diff-empty", text: "no differences" }));
  }

  /** The user's own edits first, then texts, pictures, sounds and clips, then the rest; by id within. */
  function byKind(items) {
    const order = ["text", "image", "audio", "video"];
    const rank = (item) => {
      if (item.manual) return -1;
      const found = order.indexOf(item.kind);
      return found < 0 ? order.length : found;
    };
    return items
      .map((item, position) => ({ item, position }))
      .sort((a, b) => rank(a.item) - rank(b.item) || a.position - b.position)
      .map((entry) => entry.item);
  }

  /** The changed words of a text, struck out and inserted in place (``textDiff`` runs from the API). */
  function textDiffBlock(item) {
    if (Array.isArray(item.textDiff)) {
      const tags = { same: "span", del: "del", add: "ins" };
      return el(
        "div",
        { class: "text-diff", dataset: { kind: "text" } },
        item.textDiff.map((run) => el(tags[run.op] || "span", { class: `run-${run.op}`, text: run.text }))
      );
    }
    const text = item.textAfter ?? item.textBefore;
    if (typeof text !== "string") return null;
    // An added or removed text is shown on demand: a first revision adds every input and text at once.
    const tag = item.textAfter != null ? "ins" : "del";
    return el(
      "details",
      { class: "text-diff text-whole" },
      el("summary", { text: tag === "ins" ? "show the text" : "show the removed text" }),
      el(tag, { class: `run-${tag === "ins" ? "add" : "del"}`, text })
    );
  }

  /** A picture, sound or clip of one revision, as the page shows it in a before/after pair. */
  function mediaOf(item, revision, label) {
    const url = artefactUrl(state.movieId, item.id, revision);
    const kind = item.kind;
    let media;
    if (kind === "image") media = el("img", { src: url, alt: `${label}: ${item.id}`, loading: "lazy" });
    else if (kind === "video") media = el("video", { src: url, controls: "", preload: "metadata" });
    else if (kind === "audio") media = el("audio", { src: url, controls: "", preload: "none" });
    else return null;
    return el("figure", { class: `side side-${label}` }, media, el("figcaption", { text: `${label} · ${revision}` }));
  }

  function mediaBlock(item, change, diff) {
    if (!["image", "video", "audio"].includes(item.kind)) return null;
    const sides = [];
    if (change !== "added") sides.push(mediaOf(item, diff.from, "before"));
    if (change !== "removed") sides.push(mediaOf(item, diff.to, "after"));
    return el("div", { class: `media-diff media-${item.kind}` }, sides.filter(Boolean));
  }

  function diffItem(item, change, diff) {
    const hashes =
      change === "changed"
        ? `${shortHash(item.before)} → ${shortHash(item.after)}`
        : change === "added"
          ? shortHash(item.after)
          : shortHash(item.before);
    return el(
      "li",
      { class: "diff-item", dataset: { id: item.id } },
      el("span", { class: "diff-marker", "aria-hidden": "true", text: { added: "+", changed: "~", removed: "−" }[change] }),
      el("code", { class: "diff-id", text: item.id }),
      item.detail ? el("span", { class: "diff-detail", text: item.detail }) : null,
      item.provider && !(item.manual && item.provider === "manual")
        ? el("span", { class: "diff-provider", text: item.provider })
        : null,
      item.manual ? manualBadge() : null,
      el("span", {
        class: "diff-hashes",
        title: [item.before && `before ${item.before}`, item.after && `after ${item.after}`].filter(Boolean).join("\n") || null,
        text: hashes,
      }),
      textDiffBlock(item),
      mediaBlock(item, change, diff)
    );
  }

  // ---- start ----------------------------------------------------------------------------------

  // What the editor (edit.js, present only with --allow-edits) needs from this page.
  TP.moviePage = {
    movieId: () => state.movieId,
    selectedIndex: () => state.selectedIndex,
    shownRevision: () => (state.detail ? state.detail.revision : null),
    isCurrent: () => !state.revisionParam,
    watchBuild: startPolling,
    reload: load,
  };

  function main() {
    state.movieId = movieIdFromPath();
    if (!state.movieId) {
      fatal(new TP.ApiError("no movie id in this address", "open a movie from the list", 404));
      return;
    }
    const revision = new URLSearchParams(location.search).get("revision");
    state.revisionParam = revision || null;
    wirePlayer();
    $("#timeline-ruler").addEventListener("click", seekFromLane);
    $("#diff-form").addEventListener("submit", (event) => {
      event.preventDefault();
      showDiff();
    });
    load();
  }

  main();
})();
