// The exported page's start-up (inlined after plotly.js and assets/player.js): the two figures,
// then the player (which autoplays); the view toggle re-plots the map and shows the same race in
// the other view. It lives here, not in assets/, because Dash serves every file in assets/ to the app.
(function () {
  "use strict";
  var P = window.OptimizerRacePlayer;
  var surface = JSON.parse(document.getElementById("surface-data").textContent);
  var race = JSON.parse(document.getElementById("race-data").textContent);
  var view = document.body.getAttribute("data-view") === "overlay" ? "overlay" : "grid";
  // the grid has a panel per optimizer in the file, shaped to the window (2 × 2 for four)
  var meta = { ids: race.ids.slice(), names: race.names.slice(), colors: race.colors.slice() };
  var config = { displayModeBar: false, responsive: true, doubleClick: false };
  var loss = P.lossFigure(P.decoded(race), race.ids);
  var map = P.mapFigure(surface, view, meta, race.ids);
  Promise.all([
    Plotly.newPlot("race-map", map.data, map.layout, config),
    Plotly.newPlot("loss-chart", loss.data, loss.layout, config),
  ]).then(function () {
    P.load(race, surface, view, race.ids);
  });
  // Plotly's responsive mode follows the window only; the charts also change size when the
  // leaderboard fills in, so follow each chart's own box (at most one resize per frame).
  if (window.ResizeObserver) {
    ["race-map", "loss-chart"].forEach(function (id) {
      var gd = document.getElementById(id);
      var pending = false;
      new ResizeObserver(function () {
        if (pending) return;
        pending = true;
        requestAnimationFrame(function () {
          pending = false;
          if (gd._fullLayout) Plotly.Plots.resize(gd);
        });
      }).observe(gd);
    });
  }
  document.querySelectorAll('input[name="view"]').forEach(function (input) {
    input.checked = input.value === view;
    input.addEventListener("change", function () {
      if (!input.checked || input.value === view) return;
      view = input.value;
      var fig = P.mapFigure(surface, view, meta, race.ids);
      Plotly.react("race-map", fig.data, fig.layout, config).then(function () {
        P.load(race, surface, view, race.ids);
      });
    });
  });
})();
