/* Optimizer Race — the Dash glue: clientside callbacks, click-to-start, and hooks for tests.
 * The race player itself is assets/player.js (loaded first: assets load in name order). */
(function () {
  "use strict";

  const P = window.OptimizerRacePlayer;

  function sliderText(scale, p) {
    if (p === null || p === undefined) return "";
    if (scale === "log10") return P.fmt(Math.pow(10, p));
    if (scale === "log2") return String(Math.round(Math.pow(2, p)));
    if (scale === "one_minus_log10") return String(Number((1 - Math.pow(10, -p)).toPrecision(6)));
    return P.fmt(p);
  }

  // A click on the map sets the start point (in any panel: they share coordinates).
  document.addEventListener("click", (ev) => {
    const gd = P.graphDiv("race-map");
    if (!gd || !gd.contains(ev.target) || !window.dash_clientside) return;
    const rect = gd.getBoundingClientRect();
    const x = ev.clientX - rect.left;
    const y = ev.clientY - rect.top;
    for (let k = 1; k <= 9; k++) {
      const ax = P.axes(gd, k);
      if (!ax) break;
      const u = x - ax.xa._offset;
      const v = y - ax.ya._offset;
      if (u >= 0 && u <= ax.xa._length && v >= 0 && v <= ax.ya._length) {
        const point = [ax.xa.p2c(u), ax.ya.p2c(v)];
        window.dash_clientside.set_props("start-point", { data: point });
        return;
      }
    }
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    race: {
      readouts: function () {
        const args = Array.prototype.slice.call(arguments);
        const meta = args.pop();
        const ids = Object.keys(meta.sliders);
        return ids.map((id, j) => {
          const s = meta.sliders[id];
          return (s.symbol ? s.symbol + " = " : "") + sliderText(s.scale, args[j]);
        });
      },
      mapFigure: function (surface, view, meta) {
        if (!surface || !meta) return window.dash_clientside.no_update;
        return P.mapFigure(surface, view, meta);
      },
      lossFigure: function (race) {
        if (!race) return window.dash_clientside.no_update;
        return P.lossFigure(P.decoded(race));
      },
      show: function (race, surface, view, visible) {
        if (!race || !surface) return window.dash_clientside.no_update;
        P.load(race, surface, view, visible);
        return race.steps;
      },
    },
  });

  // Tests and the browser benchmark drive and read the player through this name.
  window.OptimizerRace = P;
})();
