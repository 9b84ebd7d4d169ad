/* The movie list (/): one row per movie from /api/movies. */
"use strict";

(function () {
  const { el, $, getJSON, showError, fmtTime, fmtCost, fmtDate, moviePage } = window.TP;

  function row(movie) {
    const title = movie.title || movie.id;
    const titleCell = el(
      "td",
      { class: "title" },
      el("a", { class: "movie-link", href: moviePage(movie.id), text: title })
    );
    if (movie.error) titleCell.appendChild(el("p", { class: "row-error", text: movie.error }));
    return el(
      "tr",
      { dataset: { movie: movie.id }, class: movie.error ? "has-error" : null },
      titleCell,
      el("td", {}, el("code", { text: movie.id })),
      el("td", { text: movie.revision || "—" }),
      el("td", { class: "num", text: fmtTime(movie.durationSeconds) }),
      el("td", { class: "num", text: fmtCost(movie.cost) }),
      el("td", { title: movie.updatedAt || null, text: fmtDate(movie.updatedAt) })
    );
  }

  async function main() {
    const status = $("#status");
    let movies;
    try {
      movies = await getJSON("/api/movies");
    } catch (error) {
      status.hidden = true;
      showError($("#error"), error, "Could not list the movies:");
      return;
    }
    status.hidden = true;
    if (!Array.isArray(movies) || movies.length === 0) {
      $("#empty").hidden = false;
      return;
    }
    const table = $("#movies");
    const body = $("tbody", table);
    for (const movie of movies) body.appendChild(row(movie));
    table.hidden = false;
  }

  main();
})();
