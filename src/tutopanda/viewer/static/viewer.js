/* Tutopanda viewer: helpers shared by the pages (no framework, no build step, no network beyond
 * this server). Every text that comes from the API is set with textContent, never as markup. */
"use strict";

(function () {
  const TP = {};

  /** An error answered by the API ({error, hint}) or a failed request. */
  class ApiError extends Error {
    constructor(message, hint, status) {
      super(message);
      this.name = "ApiError";
      this.hint = hint || null;
      this.status = status || 0;
    }
  }
  TP.ApiError = ApiError;

  /**
   * Build an element. props: class, text, dataset {..}, style {..}, on {event: handler}, and any
   * other key as an attribute (skipped when null/undefined/false). Children: nodes or strings
   * (as text), nested arrays, null skipped.
   */
  TP.el = function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "style") Object.assign(node.style, value);
      else if (key === "on") {
        for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
      } else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    }
    TP.append(node, children);
    return node;
  };

  TP.append = function append(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) TP.append(node, child);
      else if (child instanceof Node) node.appendChild(child);
      else node.appendChild(document.createTextNode(String(child)));
    }
    return node;
  };

  TP.clear = function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  TP.$ = (selector, root) => (root || document).querySelector(selector);
  TP.$$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  /** GET a JSON document; throws ApiError with the server's {error, hint} on a non-2xx answer. */
  TP.getJSON = async function getJSON(url) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    } catch (exc) {
      throw new ApiError(
        "could not reach the viewer server",
        "is 'tutopanda viewer' still running? Start it again and reload this page.",
        0
      );
    }
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (exc) {
      body = null;
    }
    if (!response.ok) {
      const message =
        body && typeof body === "object" && body.error
          ? String(body.error)
          : `${response.status} ${response.statusText || "error"} for ${url}`;
      const hint = body && typeof body === "object" && body.hint ? String(body.hint) : null;
      throw new ApiError(message, hint, response.status);
    }
    if (body === null) throw new ApiError(`unreadable answer from ${url}`, null, response.status);
    return body;
  };

  /** Show an error (message + optional hint) in `box` (an element with the `error` class). */
  TP.showError = function showError(box, error, prefix) {
    TP.clear(box);
    const message = error && error.message ? error.message : String(error);
    box.appendChild(
      TP.el("p", { class: "error-message" }, prefix ? TP.el("strong", { text: prefix + " " }) : null, message)
    );
    if (error && error.hint) box.appendChild(TP.el("p", { class: "error-hint", text: error.hint }));
    box.hidden = false;
  };

  // ---- formatting ---------------------------------------------------------------------------

  const isNumber = (value) => typeof value === "number" && Number.isFinite(value);
  TP.isNumber = isNumber;

  /** Seconds as m:ss (h:mm:ss past an hour); `decimals` adds tenths/hundredths. */
  TP.fmtTime = function fmtTime(seconds, decimals) {
    if (!isNumber(seconds)) return "—";
    const places = decimals || 0;
    const factor = Math.pow(10, places);
    const total = Math.round(Math.max(0, seconds) * factor) / factor;
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const secs = total - hours * 3600 - minutes * 60;
    let secText = secs.toFixed(places);
    if (secs < 10) secText = "0" + secText;
    return hours > 0
      ? `${hours}:${String(minutes).padStart(2, "0")}:${secText}`
      : `${minutes}:${secText}`;
  };

  /** A run time in seconds, for humans: 0.53 s, 9.5 s, 2 min 05 s. */
  TP.fmtSeconds = function fmtSeconds(seconds) {
    if (!isNumber(seconds)) return "—";
    if (seconds < 10) return `${seconds.toFixed(2)} s`;
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    const minutes = Math.floor(seconds / 60);
    return `${minutes} min ${String(Math.round(seconds - minutes * 60)).padStart(2, "0")} s`;
  };

  TP.fmtCost = function fmtCost(cost) {
    return isNumber(cost) ? `$${cost.toFixed(4)}` : "—";
  };

  TP.fmtBytes = function fmtBytes(size) {
    if (!isNumber(size)) return "—";
    if (size < 1024) return `${size} B`;
    if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
    return `${(size / 1024 / 1024).toFixed(1)} MB`;
  };

  /** An ISO timestamp as local "YYYY-MM-DD HH:MM" (the raw value when unparsable). */
  TP.fmtDate = function fmtDate(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return (
      `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}`
    );
  };

  TP.shortHash = function shortHash(hash, length) {
    if (!hash) return "—";
    const text = String(hash);
    const n = length || 10;
    return text.length > n ? text.slice(0, n) + "…" : text;
  };

  // ---- URLs ---------------------------------------------------------------------------------

  TP.movieApi = (movieId) => `/api/movies/${encodeURIComponent(movieId)}`;

  /** The blob of an artefact (the whole id is encoded: ids hold ':', '[' and ']'). */
  TP.artefactUrl = function artefactUrl(movieId, artefactId, revision) {
    const base = `${TP.movieApi(movieId)}/artefacts/${encodeURIComponent(artefactId)}`;
    return revision ? `${base}?revision=${encodeURIComponent(revision)}` : base;
  };

  TP.moviePage = (movieId) => `/movies/${encodeURIComponent(movieId)}`;

  window.TP = TP;
})();
