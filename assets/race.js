/* Optimizer Race — the Dash glue: clientside callbacks, click-to-start, and hooks for tests.
 * The race player itself is assets/player.js (loaded first: assets load in name order). */
(function () {
  "use strict";

  const P = window.OptimizerRacePlayer;
  const explorer = { drawnAt: 0, lr: null, visible: false, hooked: null }; // the learning-rate explorer
  // For assets/slides.js: the race's surface and the app's meta, and `recording`, which it sets
  // while it drives the player frame by frame (the link and the live numbers then wait for its end).
  const shown = { surface: null, meta: null, recording: false };

  // A slider's value at a position and back, by the scale the page declares for it
  // (app-meta.sliders, from webapp/controls.py).
  const SCALES = {
    linear: [(p) => p, (v) => v],
    log10: [(p) => Math.pow(10, p), (v) => Math.log10(v)],
    log2: [(p) => Math.pow(2, p), (v) => Math.log2(v)],
    one_minus_log10: [(p) => 1 - Math.pow(10, -p), (v) => -Math.log10(1 - v)],
  };
  function sliderValue(slider, p) {
    return SCALES[slider.scale][0](p);
  }
  function sliderPosition(slider, v) {
    return SCALES[slider.scale][1](v);
  }
  function sliderText(slider, p) {
    if (p === null || p === undefined) return "";
    const v = sliderValue(slider, p);
    if (slider.scale === "log2") return String(Math.round(v));
    if (slider.scale === "one_minus_log10") return String(Number(v.toPrecision(6)));
    return P.fmt(v);
  }

  // A clicked coordinate to 1e-4 of the map's span at most (4 decimals on a span of 4, 3 on
  // 20): a short link, and the race runs on exactly the number the link says.
  function roundedCoordinate(v, range) {
    const span = Math.abs(range[1] - range[0]);
    const decimals = span > 0 ? Math.min(12, Math.max(0, Math.ceil(-Math.log10(span * 1e-4)))) : 4;
    return Number(v.toFixed(decimals)) + 0; // + 0: no −0
  }

  // Teacher mode (webapp/controls.py PARTS): what the link hides and locks, and whether students
  // predict the winner first.
  const teacher = { locked: [], predict: false };

  // A click on the map sets the start point (in any panel: they share coordinates). The grid
  // has one panel per shown optimizer: look through the panels the figure has.
  document.addEventListener("click", (ev) => {
    const gd = P.graphDiv("race-map");
    if (!gd || !gd.contains(ev.target) || !window.dash_clientside) return;
    if (teacher.locked.indexOf("start") >= 0) return;
    const rect = gd.getBoundingClientRect();
    const x = ev.clientX - rect.left;
    const y = ev.clientY - rect.top;
    for (let k = 1; ; k++) {
      const ax = P.axes(gd, k);
      if (!ax) break;
      const u = x - ax.xa._offset;
      const v = y - ax.ya._offset;
      if (u >= 0 && u <= ax.xa._length && v >= 0 && v <= ax.ya._length) {
        const point = [roundedCoordinate(ax.xa.p2c(u), ax.xa.range), roundedCoordinate(ax.ya.p2c(v), ax.ya.range)];
        window.dash_clientside.set_props("start-point", { data: point });
        return;
      }
    }
  });

  // ---- a phone: the side-by-side view shows one map at a time, the one the switcher picks
  // (each map the width of the screen, not nine of a ninth each); the leaderboard, the loss
  // chart and the overlay view still show every optimizer. A tap on a leaderboard row picks too.
  const NARROW = window.OptimizerRacePage.narrow; // a phone (assets/page.js, loaded first)
  const single = { id: null, args: null }; // the optimizer on the map; mapFigure's last arguments
  // The map's figure for mapFigure's last arguments: on a phone, one panel of the side-by-side view.
  function singleMapFigure() {
    const [surface, view, meta, shown] = single.args;
    const ids = Array.isArray(shown) ? shown : meta.ids;
    const one = view === "grid" && NARROW.matches && ids.length > 0;
    if (one && ids.indexOf(single.id) < 0) single.id = ids[0];
    renderSwitch(one ? ids : [], meta);
    return P.mapFigure(surface, view, meta, one ? [single.id] : shown);
  }
  function redrawMap() {
    // only the side-by-side view changes (a new 3-D figure would turn the camera back)
    if (!(single.args && single.args[1] === "grid")) return;
    const figure = singleMapFigure();
    P.repaint(figure); // the map drawn before Plotly, if it still is
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("race-map", { figure: figure });
    }
  }
  function pick(id) {
    if (!id || id === single.id) return;
    single.id = id;
    redrawMap();
  }
  function renderSwitch(ids, meta) {
    const host = document.getElementById("map-switch");
    if (!host) return;
    host.hidden = ids.length === 0;
    if (!ids.length) return;
    if (!host.firstChild) {
      host.innerHTML = '<button type="button" class="map-prev" aria-label="Previous optimizer">‹</button>' +
        '<select class="map-pick" aria-label="Optimizer on the map"></select>' +
        '<button type="button" class="map-next" aria-label="Next optimizer">›</button>';
      const select = host.querySelector("select");
      select.addEventListener("change", () => pick(select.value));
      const step = (d) => {
        const list = Array.from(select.options).map((o) => o.value);
        pick(list[(list.indexOf(single.id) + d + list.length) % list.length]);
      };
      host.querySelector(".map-prev").addEventListener("click", () => step(-1));
      host.querySelector(".map-next").addEventListener("click", () => step(1));
    }
    const select = host.querySelector("select");
    const options = ids.map((id) => '<option value="' + id + '">' + meta.names[meta.ids.indexOf(id)] + "</option>").join("");
    if (select.innerHTML !== options) select.innerHTML = options;
    select.value = single.id;
  }
  NARROW.addEventListener("change", redrawMap);

  // ---- the page's first race, carried in the page (webapp/first_race.py): it plays as soon as
  // the map has its place on the page, while plotly.js and the callbacks are still on their way
  // (Dash starts its callbacks only when every component's code is in)
  function startFirstRace() {
    const el = document.getElementById("first-race");
    if (!el) return;
    let first;
    try {
      first = JSON.parse(el.textContent);
    } catch (e) {
      return;
    }
    const begin = () => {
      if (P.state().steps !== null) return; // a callback was first
      const meta = { ids: first.race.ids, names: first.race.names, colors: first.race.colors };
      single.args = [first.surface, first.view, meta, first.visible];
      P.prepaint(first.race, singleMapFigure());
      P.load(first.race, first.surface, first.view, first.visible);
    };
    if (document.getElementById("race-map")) {
      requestAnimationFrame(begin);
      return;
    }
    const watch = new MutationObserver(() => {
      if (!document.getElementById("race-map")) return;
      watch.disconnect();
      requestAnimationFrame(begin);
    });
    watch.observe(document.body, { childList: true, subtree: true });
  }
  if (document.body) startFirstRace();
  else document.addEventListener("DOMContentLoaded", startFirstRace);

  // dcc.Graph loads plotly.js (4.8 MB: half a second of the main thread to evaluate) when a graph
  // first renders, unless window.Plotly is there, and Promise.resolve(window.Plotly) waits for a
  // promise. A page that carries its first race holds plotly.js back until that race has drawn
  // its first frame on the map (for at most PLOTLY_HOLD_MS), so the race moves first.
  const PLOTLY_HOLD_MS = 1500;
  if (document.getElementById("first-race") && !window.Plotly) {
    const held = performance.now();
    window.Plotly = new Promise((resolve, reject) => {
      const load = () => {
        const script = document.createElement("script");
        script.src = window._dashPlotlyJSURL;
        script.async = true;
        script.onload = () => resolve(window.Plotly); // plotly.js has set window.Plotly
        script.onerror = reject;
        document.body.appendChild(script);
      };
      const wait = () => {
        const moved = P.state().firstFrameAt > 0;
        if (window._dashPlotlyJSURL && (moved || performance.now() - held > PLOTLY_HOLD_MS)) load();
        else requestAnimationFrame(wait);
      };
      wait();
    });
  }
  document.addEventListener("click", (ev) => {
    const row = ev.target.closest && ev.target.closest("#leaderboard tr[data-id]");
    const host = document.getElementById("map-switch");
    if (row && host && !host.hidden) pick(row.dataset.id);
  });

  // ---- live numbers: asked for when the equations are on screen, at most a few times a second
  const LIVE_INTERVAL_MS = 250;
  const live = { visible: false, sent: null, timer: null, lastSent: 0 };
  function requestLive() {
    if (!live.visible || !window.dash_clientside || !window.dash_clientside.set_props) return;
    const step = Math.max(1, P.state().step);
    const now = performance.now();
    const wait = LIVE_INTERVAL_MS - (now - live.lastSent);
    clearTimeout(live.timer);
    if (wait > 0) {
      live.timer = setTimeout(requestLive, wait);
      return;
    }
    if (step === live.sent) return;
    live.sent = step;
    live.lastSent = now;
    window.dash_clientside.set_props("live-step", { data: step });
  }
  function watchEquations() {
    const section = document.querySelector(".equations");
    if (!section || !window.IntersectionObserver) return setTimeout(watchEquations, 300);
    new IntersectionObserver((entries) => {
      live.visible = entries.some((e) => e.intersectionRatio > 0);
      requestLive();
    }, { threshold: [0, 0.02] }).observe(section); // 0.02: an edge-touching start fires again once in view
  }
  watchEquations();

  // The learning-rate explorer is computed only while it is on screen (a sweep costs the
  // server several races).
  function watchExplorer() {
    const section = document.getElementById("explorer");
    const setProps = window.dash_clientside && window.dash_clientside.set_props;
    if (!section || !window.IntersectionObserver || !setProps) return setTimeout(watchExplorer, 300);
    new IntersectionObserver((entries) => {
      const visible = entries.some((e) => e.intersectionRatio > 0); // not just touching the edge
      if (visible !== explorer.visible) {
        explorer.visible = visible;
        window.dash_clientside.set_props("explorer-visible", { data: visible });
      }
    }, { threshold: [0, 0.02] }).observe(section);
  }
  watchExplorer();

  // ---- the opt-in extras (AMSGrad, AdamW, NAdam, RAdam): raced, and shown, while ticked
  function chosenExtras(extras, meta) {
    const all = (meta && meta.extras && meta.extras.ids) || [];
    return Array.isArray(extras) ? all.filter((id) => extras.indexOf(id) >= 0) : [];
  }
  // The app's meta with the raced optimizers only: the nine, then the ticked extras in order
  // (the race's own order, which the 3-D view's traces follow).
  function raceMeta(meta, extras) {
    const chosen = chosenExtras(extras, meta);
    if (!chosen.length) return meta;
    const e = meta.extras;
    const picked = chosen.map((id) => e.ids.indexOf(id));
    return Object.assign({}, meta, {
      ids: meta.ids.concat(chosen),
      names: meta.names.concat(picked.map((k) => e.names[k])),
      colors: meta.colors.concat(picked.map((k) => e.colors[k])),
    });
  }
  // The shown optimizers: the "visible" checklist (the nine) and every raced extra. Not a list:
  // as before (the player shows all).
  function shownIds(visible, extraIds) {
    return Array.isArray(visible) ? visible.concat(extraIds.filter((id) => visible.indexOf(id) < 0)) : visible;
  }
  function racedExtras(race, meta) {
    const all = (meta && meta.extras && meta.extras.ids) || [];
    return race && Array.isArray(race.ids) ? race.ids.filter((id) => all.indexOf(id) >= 0) : [];
  }

  function cell(v) {
    return "<td>" + (v === null || v === undefined ? "—" : P.fmt(v)) + "</td>";
  }
  function renderLive(data) {
    if (!data || !data.rows) return;
    data.rows.forEach((row) => {
      const host = document.getElementById("live-" + row.id);
      if (!host) return;
      const lines = [["g", row.grad], ["Δθ", row.step], ["effective η", row.effective_lr]].concat(
        row.state.map((q) => [q.symbol, q.value]));
      host.innerHTML =
        "<table><caption>update " + row.update + (row.diverged ? " (then diverged)" : "") +
        "</caption><tr><td></td><td>x</td><td>y</td></tr>" +
        lines.map(([name, v]) => "<tr><td>" + name + "</td>" + cell(v[0]) + cell(v[1]) + "</tr>").join("") +
        "</table>";
    });
  }

  // ---- the animation step in the link (kept while paused, without a new history entry)
  const linkStep = new URLSearchParams(window.location.search).get("step");
  if (linkStep !== null && /^\d{1,7}$/.test(linkStep)) P.startAt(Number(linkStep));
  function stepIntoLink(step, playing) {
    const url = new URL(window.location.href);
    if (playing) url.searchParams.delete("step");
    else url.searchParams.set("step", String(step));
    if (url.href !== window.location.href) window.history.replaceState(window.history.state, "", url.href);
  }
  P.onStep((step, playing) => {
    if (shown.recording) return; // a replaceState per frame would be throttled by the browser
    stepIntoLink(step, playing);
    requestLive();
  });

  // ---- share (the PNG, video and GIF exports are assets/slides.js)
  function copyLink(button) {
    const url = window.location.href;
    const done = () => {
      button.textContent = "Link copied";
      setTimeout(() => (button.textContent = "Copy link"), 1500);
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(url).then(done, () => prompt("Copy this link:", url));
    else prompt("Copy this link:", url);
  }
  document.addEventListener("click", (ev) => {
    const btn = ev.target.closest && ev.target.closest("button");
    if (!btn) return;
    if (btn.id === "btn-copy-link") copyLink(btn);
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    race: {
      readouts: function () {
        const args = Array.prototype.slice.call(arguments);
        const meta = args.pop();
        const ids = Object.keys(meta.sliders);
        return ids.map((id, j) => {
          const s = meta.sliders[id];
          return (s.symbol ? s.symbol + " = " : "") + sliderText(s, args[j]);
        });
      },
      mapFigure: function (surface, view, visible, extras, meta) {
        if (!surface || !meta) return window.dash_clientside.no_update;
        // only the grid's panels depend on the shown optimizers: no redraw of the others for that
        const context = window.dash_clientside.callback_context;
        const triggers = ((context && context.triggered) || []).map((t) => t.prop_id);
        if (view !== "grid" && triggers.length && triggers.every((t) => t === "visible.value")) {
          return window.dash_clientside.no_update;
        }
        const m = raceMeta(meta, extras);
        single.args = [surface, view, m, shownIds(visible, chosenExtras(extras, meta))];
        return singleMapFigure();
      },
      lossFigure: function (race, visible, meta) {
        if (!race) return window.dash_clientside.no_update;
        return P.lossFigure(P.decoded(race), shownIds(visible, racedExtras(race, meta)));
      },
      show: function (race, surface, view, visible, meta) {
        if (!race || !surface) return window.dash_clientside.no_update;
        shown.surface = surface;
        shown.meta = meta;
        if (P.load(race, surface, view, shownIds(visible, racedExtras(race, meta)))) {
          live.sent = null;
          requestLive();
          if (teacher.predict) askForPrediction();
        }
        return race.steps;
      },
      teacherView: function (hidden, locked, predict, present, meta) {
        // Hide and lock the parts the link names; the outputs are, in order, every part's
        // element's `hidden`, every lock's property, and the page's class (controls.PARTS).
        hidden = Array.isArray(hidden) ? hidden : [];
        locked = Array.isArray(locked) ? locked : [];
        teacher.locked = locked;
        teacher.predict = Array.isArray(predict) && predict.length > 0;
        if (!teacher.predict) closePrediction();
        const parts = Object.keys(meta.parts).map((id) => [id, meta.parts[id]]);
        const out = parts.filter(([, p]) => p.element).map(([id]) => hidden.indexOf(id) >= 0);
        parts.forEach(([id, p]) => p.locks.forEach(() => out.push(locked.indexOf(id) >= 0)));
        const presenter = Array.isArray(present) && present.length > 0;
        out.push("app" + (presenter ? " presenter" : "") + (hidden.indexOf("controls") >= 0 ? " no-controls" : ""));
        return out;
      },
      explorerClick: function (click, ids, meta) {
        const point = click && click.points && click.points[0];
        const lr = point && Number(point.x);
        if (!(lr > 0) || teacher.locked.indexOf("lr") >= 0) {
          return [window.dash_clientside.no_update, window.dash_clientside.no_update];
        }
        // the whole race at this learning rate: the shared slider, and no per-optimizer η left
        return [sliderPosition(meta.sliders.lr, lr), (ids || []).map(() => null)];
      },
      pushLink: function (search) {
        if (typeof search !== "string" || search.charAt(0) !== "?") return window.dash_clientside.no_update;
        const here = new URL(window.location.href);
        const next = new URL(here.pathname + search, here.origin);
        const s = P.state();
        if (!s.playing && s.steps && here.searchParams.has("step")) next.searchParams.set("step", String(s.step));
        const bare = (u) => {
          const c = new URL(u.href);
          c.searchParams.delete("step");
          return c.search;
        };
        if (bare(next) === bare(here)) return search; // the controls were set from this very link
        window.history.pushState({}, "", next.href);
        return search;
      },
      explorerRequest: function (visible) {
        // Ask the server for the explorer only while it is on screen (any other input is a
        // setting of its sweep; a new count makes the request).
        if (visible !== true) return window.dash_clientside.no_update;
        explorer.requests = (explorer.requests || 0) + 1;
        return explorer.requests;
      },
      explorerLine: function (position, overrides, meta, extras) {
        if (typeof position === "number") explorer.lr = sliderValue(meta.sliders.lr, position);
        const own = ownLearningRates(overrides, meta, extras);
        explorer.lrLabel = own.all
          ? "race: each optimizer at its own η"
          : "race: η = " + P.fmt(explorer.lr) + (own.names.length ? " (own η: " + own.names.join(", ") + ")" : "");
        explorer.lrShared = !own.all;
        placeExplorerLine();
        return explorer.lr;
      },
      untune: function (_position, tuned, values, ids) {
        // The shared η moved while Tune's values were in force: hand η back to the slider (the
        // values the user changed since Tune stay theirs).
        const no = window.dash_clientside.no_update;
        if (!tuned || typeof tuned !== "object" || !Array.isArray(values) || !Array.isArray(ids)) return [no, no, no];
        const next = ids.map((id, j) => (id && tuned[id.opt] === values[j] ? null : values[j]));
        return [next, null, "Back to one shared η: Tune's learning rates were cleared when η moved."];
      },
      sharedLr: function (clicks, ids) {
        const no = window.dash_clientside.no_update;
        if (!clicks || !Array.isArray(ids)) return [no, no, no];
        return [ids.map(() => null), null, "One shared η again: every per-optimizer learning rate was cleared."];
      },
      lrNotice: function (overrides, extras, meta) {
        const own = ownLearningRates(overrides, meta, extras);
        if (!own.names.length) return [{ display: "none" }, "", "control"];
        const text = own.all
          ? "The η slider sets no optimizer now: each races at its own η (" + own.listed + "). Moving η, or " +
            "this button, gives them one shared η again."
          : "Own η, not the slider's: " + own.listed + ".";
        return [{ display: "block" }, text, own.all ? "control overridden" : "control"];
      },
      explorerShown: function (figure) {
        // A new explorer figure: once Plotly has drawn it, place the η line again and note the
        // time (for the browser benchmark). The figure can arrive before its plot exists.
        const hook = (tries) => {
          const gd = P.graphDiv("explorer-graph");
          if (!gd || !gd.on) {
            if (tries > 0) setTimeout(() => hook(tries - 1), 100);
            return;
          }
          if (explorer.hooked !== gd) {
            explorer.hooked = gd;
            gd.on("plotly_afterplot", () => {
              explorer.drawnAt = performance.now();
              placeExplorerLine();
              fitExplorer(gd);
            });
          }
          requestAnimationFrame(() => requestAnimationFrame(placeExplorerLine));
        };
        hook(50);
        return figure ? performance.now() : null;
      },
      extrasShown: function (extras, meta) {
        // an extra's override row and equation card, only while it is raced
        const chosen = chosenExtras(extras, meta);
        const all = (meta && meta.extras && meta.extras.ids) || [];
        return all.map((id) => (chosen.indexOf(id) >= 0 ? "override-row" : "override-row extra-off"))
          .concat(all.map((id) => (chosen.indexOf(id) >= 0 ? "equation-card" : "equation-card extra-off")));
      },
      overrides: function (values, ids) {
        // the per-optimizer inputs as {optimizer: {hyperparameter: value}}; empty: the shared slider
        const out = {};
        (Array.isArray(ids) ? ids : []).forEach((id, j) => {
          const v = Array.isArray(values) ? values[j] : null;
          if (!id || v === null || v === undefined || v === "") return;
          (out[id.opt] = out[id.opt] || {})[id.hp] = v;
        });
        return out;
      },
      schedule: function (kind, values, ids) {
        // the chosen kind and its filled-in parameters (an empty box: the default); only the
        // chosen kind's inputs are shown
        const out = { kind: kind || "constant" };
        (Array.isArray(ids) ? ids : []).forEach((id, j) => {
          const v = Array.isArray(values) ? values[j] : null;
          if (id && id.kind === out.kind && v !== null && v !== undefined && v !== "") out[id.key] = v;
        });
        document.querySelectorAll(".schedule-fields").forEach((el) => {
          el.hidden = el.id !== "schedule-fields-" + out.kind;
        });
        return out;
      },
      reseed: function (clicks, seed) {
        // a new noise draw: the next seed (the seed is state, in the link, not a click count)
        const next = (Number.isInteger(seed) ? seed : 0) + 1;
        return next > 2147483647 ? 0 : next;
      },
      showLive: function (data) {
        renderLive(data);
        return data ? data.update : null;
      },
    },
  });

  // ---- predict first: students pick the winner before the race plays, then see how they did
  const PREDICTIONS_KEY = "optimizer-race-predictions"; // {right, total} in this browser
  const prediction = { pick: null, revealed: true };
  function tally() {
    try {
      const t = JSON.parse(window.localStorage.getItem(PREDICTIONS_KEY) || "{}");
      return { right: Number(t.right) || 0, total: Number(t.total) || 0 };
    } catch (err) {
      return { right: 0, total: 0 };
    }
  }
  function saveTally(t) {
    try {
      window.localStorage.setItem(PREDICTIONS_KEY, JSON.stringify(t));
    } catch (err) { /* private mode: the tally lasts for this page only */ }
  }
  function predictPanel() {
    return document.getElementById("predict-panel");
  }
  function closePrediction() {
    const panel = predictPanel();
    if (panel) panel.hidden = true;
  }
  function button(text, cls, onClick, color) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    if (color) b.style.borderLeftColor = color;
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }
  function askForPrediction() {
    const panel = predictPanel();
    const shown = P.ranking(0); // the shown optimizers (their order at step 0 does not matter)
    if (!panel || shown.length < 2) return;
    P.pause();
    P.setStep(0);
    prediction.pick = null;
    prediction.revealed = false;
    panel.innerHTML = "";
    const h = document.createElement("h2");
    h.textContent = "Who will win? Pick before the race starts.";
    panel.appendChild(h);
    const choices = document.createElement("div");
    choices.className = "predict-choices";
    shown.forEach((o) => choices.appendChild(button(o.name, "predict-choice", () => predicted(o), o.color)));
    panel.appendChild(choices);
    panel.appendChild(button("Just watch", "text-button", () => predicted(null)));
    panel.hidden = false;
    const first = choices.querySelector("button");
    if (first) first.focus();
  }
  function predicted(o) {
    prediction.pick = o;
    closePrediction();
    P.play();
  }
  function reveal() {
    const panel = predictPanel();
    const winner = P.ranking()[0];
    prediction.revealed = true;
    if (!panel || !prediction.pick || !winner) return;
    const right = prediction.pick.id === winner.id;
    const t = tally();
    t.total += 1;
    if (right) t.right += 1;
    saveTally(t);
    panel.innerHTML = "";
    const h = document.createElement("h2");
    h.textContent = right ? "✓ Right: " + winner.name + " won." : "✗ " + winner.name + " won, not " + prediction.pick.name + ".";
    const p = document.createElement("p");
    p.textContent = (winner.status ? winner.name + ": " + winner.status + ". " : "") +
      "Your predictions so far: " + t.right + " right of " + t.total + ".";
    panel.appendChild(h);
    panel.appendChild(p);
    panel.appendChild(button("Close", "text-button", closePrediction));
    panel.hidden = false;
  }
  P.onStep((step, playing) => {
    const st = P.state();
    if (shown.recording) return; // a recording reaching the last step is not the race's end
    if (teacher.predict && !prediction.revealed && st.steps !== null && step >= st.steps) reveal();
  });

  // The per-optimizer learning rates in force (the overrides' η of the raced optimizers): who
  // has one, and whether they cover every optimizer the shared η slider would set.
  function ownLearningRates(overrides, meta, extras) {
    const names = [];
    const listed = [];
    const covered = new Set();
    const chosen = chosenExtras(extras, meta);
    const m = meta ? raceMeta(meta, extras) : meta;
    const all = m && m.ids ? m.ids : [];
    all.forEach((opt, k) => {
      const v = overrides && overrides[opt] ? overrides[opt].lr : null;
      if (typeof v !== "number" || !(v > 0)) return;
      names.push(m.names[k]);
      listed.push(m.names[k] + " " + P.fmt(v));
      covered.add(opt);
    });
    const shared = ((meta && meta.shared_lr) || []).concat(chosen);
    return { names: names, listed: listed.join(", "), all: shared.length > 0 && shared.every((o) => covered.has(o)) };
  }

  // On a phone the explorer's legend (five rows there) and its 14 px labels would leave its plot
  // little room: no legend (the lines have the leaderboard's colours), smaller text.
  function fitExplorer(gd) {
    const fl = gd._fullLayout;
    if (NARROW.matches && fl && fl.showlegend) {
      window.Plotly.relayout(gd, { showlegend: false, "font.size": 11, "margin.t": 16 });
    }
  }

  // The race's learning rate on the explorer: a line drawn over the figure (a Plotly shape would
  // make Dash redraw the whole figure each time the slider moves).
  function placeExplorerLine() {
    const gd = P.graphDiv("explorer-graph");
    const fl = gd && gd._fullLayout;
    if (!fl || !fl.xaxis || !fl.yaxis2 || !(explorer.lr > 0)) return;
    let line = gd.querySelector(".explorer-line");
    if (!line) {
      line = document.createElement("div");
      line.className = "explorer-line";
      line.innerHTML = '<span class="explorer-line-label"></span>';
      gd.appendChild(line);
    }
    const xa = fl.xaxis;
    // every optimizer at its own η: no single line to draw; the label sits at the left instead
    const x = explorer.lrShared === false ? xa._offset : xa._offset + xa.l2p(Math.log10(explorer.lr)); // a log axis
    const top = fl.yaxis._offset;
    const inside = x >= xa._offset && x <= xa._offset + xa._length;
    line.style.display = inside ? "block" : "none";
    line.style.left = x + "px";
    line.style.top = top + "px";
    line.style.height = fl.yaxis2._offset + fl.yaxis2._length - top + "px";
    line.classList.toggle("own", explorer.lrShared === false);
    line.firstChild.textContent = explorer.lrLabel || "race: η = " + P.fmt(explorer.lr);
  }

  // Tests and the browser benchmark drive and read the player through this name.
  window.OptimizerRace = P;
  window.OptimizerRaceExplorer = explorer;
  window.OptimizerRaceShown = shown;
  window.OptimizerRaceTeacher = { teacher: teacher, prediction: prediction, tally: tally };
})();
