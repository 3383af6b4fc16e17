/* Optimizer Race — the learning-rate lab's browser glue (webapp/lab.py): one panel at a time, and
 * a request to the server for the chosen panel only while the lab is on screen (as the explorer's,
 * assets/race.js): the range test, the momentum map and the sharpness each cost the server a
 * computation, and a class moving sliders mostly watches the race.
 */
(function () {
  "use strict";

  const lab = { visible: false, requests: 0 };
  const PANELS = ["range", "map", "sharpness"];

  function watchLab() {
    const section = document.getElementById("lab");
    const setProps = window.dash_clientside && window.dash_clientside.set_props;
    if (!section || !window.IntersectionObserver || !setProps) return setTimeout(watchLab, 300);
    new IntersectionObserver((entries) => {
      const visible = entries.some((e) => e.intersectionRatio > 0); // not just touching the edge
      if (visible !== lab.visible) {
        lab.visible = visible;
        setProps("lab-visible", { data: visible });
      }
    }, { threshold: [0, 0.02] }).observe(section);
  }
  watchLab();


  // On a phone a legend of nine or more names would leave the plots little room: no legend (the
  // lines have the leaderboard's colours, and the text under each plot names them), smaller text.
  const NARROW = window.matchMedia("(max-width: 700px), (max-height: 500px) and (max-width: 1100px)");
  const hooked = new Set();
  function fit(gd) {
    const fl = gd._fullLayout;
    if (NARROW.matches && fl && fl.showlegend !== false) {
      window.Plotly.relayout(gd, { showlegend: false, "font.size": 11, "margin.t": 16, "margin.l": 52 });
    }
  }
  function hookGraphs(tries) {
    PANELS.forEach((p) => {
      const gd = document.querySelector("#lab-" + p + "-graph .js-plotly-plot");
      if (gd && gd.on && !hooked.has(gd)) {
        hooked.add(gd);
        gd.on("plotly_afterplot", () => fit(gd));
        fit(gd);
      }
    });
    if (tries > 0) setTimeout(() => hookGraphs(tries - 1), 200);
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    lab: {
      tabs: function (panel) {
        const chosen = PANELS.indexOf(panel) >= 0 ? panel : "range";
        // a graph drawn while its panel was hidden fits its width once shown
        setTimeout(() => window.dispatchEvent(new Event("resize")), 0);
        return PANELS.map((p) => p !== chosen);
      },
      request: function (visible, panel) {
        // Any input but the first two is a setting of the race: a new count for the chosen panel.
        const no = window.dash_clientside.no_update;
        if (visible !== true || PANELS.indexOf(panel) < 0) return PANELS.map(() => no);
        lab.requests += 1;
        hookGraphs(50);
        return PANELS.map((p) => (p === panel ? lab.requests : no));
      },
    },
  });

  // Tests read the lab's state through this name.
  window.OptimizerRaceLab = lab;
})();
