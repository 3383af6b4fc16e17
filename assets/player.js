/* Optimizer Race — the race player, shared by the app and by exported HTML files.
 *
 * A race arrives once (paths and loss gaps as float32); everything per frame happens here.
 * Plotly draws the static parts (axes, and in 3-D the surface) over a contour image this file
 * draws once per surface; the moving parts (paths, heads, markers, loss curves) are drawn on a
 * canvas laid over each plot, so a frame costs a few thousand canvas segments and never a
 * Plotly redraw. The player finds its elements by id: race-map,
 * loss-chart, leaderboard, scrubber-host, step-label, speed and the btn-* buttons.
 */
(function () {
  "use strict";

  const TAU = 2 * Math.PI;
  const BOARD_INTERVAL_MS = 80; // leaderboard text refresh while playing
  const S = {
    meta: null,
    surface: null,
    race: null,
    rawRace: null,
    shownRaw: null, // the race last shown, and its length
    shownSteps: 0,
    view: "grid",
    visible: null,
    step: 0,
    playing: false,
    speed: 100,
    carry: 0,
    lastTs: null,
    boardTs: 0,
    frameTimes: [],
    loopToken: 0, // one animation loop at a time
    raceShownAt: 0,
    firstFrameAt: 0, // when the first race first moved on a drawn map (the benchmark's first paint)
    camera3d: null, // the 3-D camera the paths were last drawn for
    watching3d: false,
    initialStep: null, // a step to open the first race at (from a shared link), paused
    earlyRaw: null, // the page's own first race, played before its callback delivers it
  };
  const stepListeners = [];
  const renderListeners = []; // called after every render (the data panel, assets/datapanel.js)

  // ---------------------------------------------------------------- data -------------------
  function decodeFloat32(b64) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float32Array(bytes.buffer);
  }

  function decodeRace(p) {
    const n = p.ids.length;
    const len = p.steps + 1;
    const lastValid = p.diverged_at.map((k) => (k >= 0 ? k - 1 : p.steps));
    const gaps = decodeFloat32(p.gaps);
    const threshold = 1e-3 * gaps[0]; // SPEC §4: f − f_min ≤ 1e-3·(f(start) − f_min)
    return {
      raw: p,
      n: n,
      len: len,
      steps: p.steps,
      ids: p.ids,
      names: p.names,
      colors: p.colors,
      start: p.start,
      fMin: p.f_min,
      surfaceId: p.surface_id,
      paths: decodeFloat32(p.paths),
      gaps: gaps,
      divergedAt: p.diverged_at,
      stopReasons: p.stop_reasons || [],
      arrivedAt: p.arrived_at,
      lastValid: lastValid,
      threshold: threshold,
      entered: enteredAt(gaps, n, len, lastValid, threshold),
      clock: p.clock || "steps", // "examples": row k is after k examples processed
      perEpoch: p.per_epoch || 1,
    };
  }

  // Whether optimizer `id` is shown: all are until the first race is loaded (the loss chart may
  // draw a race decoded for its figure before load() has set what is shown).
  function shown(id) {
    return !S.visible || S.visible.has(id);
  }

  // Row k of the race in words: "step k", or on the clock in examples "2.4 epochs".
  function when(k, R) {
    R = R || S.race;
    if (!R || R.clock !== "examples") return "step " + k;
    const e = k / R.perEpoch;
    const text = e === 0 ? "0" : e < 10 ? e.toFixed(2).replace(/\.?0+$/, "") : e.toFixed(1).replace(/\.0$/, "");
    return text + (text === "1" ? " epoch" : " epochs");
  }

  // entered[i·len + k]: the step at which run i last came within the arrival threshold, if it is
  // within it at step k, else −1. The leaderboard and the map say "arrived" only while a path is
  // within the threshold, so a path that arrived and bounced out again is shown as having left.
  function enteredAt(gaps, n, len, lastValid, threshold) {
    const entered = new Int32Array(n * len).fill(-1);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k <= lastValid[i]; k++) {
        if (gaps[i * len + k] > threshold) continue;
        entered[i * len + k] = k > 0 && entered[i * len + k - 1] >= 0 ? entered[i * len + k - 1] : k;
      }
    }
    return entered;
  }

  function fmt(v) {
    if (!isFinite(v)) return "—";
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    return Number(v.toPrecision(4)).toString();
  }

  // ---------------------------------------------------------------- axes -------------------
  function graphDiv(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    return el.classList.contains("js-plotly-plot") ? el : el.querySelector(".js-plotly-plot");
  }

  // A panel's data → pixel mapping as plain affine maps (Plotly's own c2p per point is too slow
  // for tens of thousands of points a frame). Log axes map log10 of the value.
  function axes(gd, k) {
    const fl = gd && gd._fullLayout;
    if (!fl) return null;
    const sfx = k > 1 ? String(k) : "";
    const xa = fl["xaxis" + sfx];
    const ya = fl["yaxis" + sfx];
    if (!(xa && ya && xa._length)) return null;
    const affine = (ax, flip) => {
      const [r0, r1] = ax.range;
      const scale = ax._length / (r1 - r0);
      const log = ax.type === "log";
      return flip
        ? (v) => ax._offset + (r1 - (log ? Math.log10(v) : v)) * scale
        : (v) => ax._offset + ((log ? Math.log10(v) : v) - r0) * scale;
    };
    return { xa: xa, ya: ya, x: affine(xa, false), y: affine(ya, true) };
  }

  // ---------------------------------------------------------------- overlay ----------------
  function Overlay(graphId, draw) {
    this.graphId = graphId;
    this.draw = draw;
    this.canvas = null;
    this.hooked = null;
    this.retry = null;
    this.early = null; // an EarlyMap while the map is drawn before Plotly
  }

  Overlay.prototype.render = function () {
    let gd = graphDiv(this.graphId);
    if (!plotDrawn(gd)) {
      // The plot is not drawn yet (a paused race can arrive first): look again shortly.
      if (!this.retry) {
        this.retry = setTimeout(() => {
          this.retry = null;
          this.render();
        }, 100);
      }
      gd = this.early ? this.early.stand() : null; // the map before Plotly: drawn here
      if (!gd) return;
    } else {
      this.early = null; // Plotly's map is in: it draws the static parts from now on
    }
    const host = gd.overlayHost || gd; // the canvas goes in Plotly's element, or the stand-in's host
    if (!this.canvas || this.canvas.parentNode !== host) {
      if (this.canvas) this.canvas.remove();
      this.canvas = document.createElement("canvas");
      this.canvas.className = "race-overlay";
      host.appendChild(this.canvas);
    }
    if (this.hooked !== gd && gd.on) {
      this.hooked = gd;
      gd.on("plotly_afterplot", () => this.render());
    }
    const dpr = window.devicePixelRatio || 1;
    const w = gd.clientWidth;
    const h = gd.clientHeight;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
      this.canvas.style.width = w + "px";
      this.canvas.style.height = h + "px";
    }
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (gd.staticParts) ctx.drawImage(gd.staticParts, 0, 0, w, h);
    if (S.race) this.draw(ctx, gd);
  };

  // Whether Plotly has drawn the plot: laid out, and in 3-D its scene's camera set up (WebGL
  // draws a moment after the layout).
  function plotDrawn(gd) {
    if (!gd || !gd._fullLayout || !gd.on) return false;
    const meta = gd.layout && gd.layout.meta;
    return !(meta && meta.view === "3d") || sceneProjection(gd) !== null;
  }

  // ---------------------------------------------------------------- before Plotly ----------
  // The page's first race (webapp/first_race.py) plays before plotly.js has loaded: the map's
  // figure is drawn on a canvas (assets/mapframe.js) at the pixels Plotly will draw it at, and
  // the paths over it, until Plotly's map is in.
  function EarlyMap(figure) {
    this.figure = figure;
    this.stood = null; // the stand-in for Plotly's graph div, for one size
  }

  // A stand-in for Plotly's graph div (what the overlay and drawMap read of it): the figure's
  // layout, its axes laid out by mapframe.js, the static parts drawn once, and the element the
  // overlay's canvas goes in (the map's host: Plotly's own element is not there yet).
  EarlyMap.prototype.stand = function () {
    const frame = window.OptimizerRaceMapFrame;
    // the map's host, which the map fills (and which stays if plotly.js fails to load and the
    // graph's element goes)
    const el = document.getElementById("race-map");
    const host = el ? el.parentNode : this.stood && this.stood.overlayHost;
    if (!frame || !host || !host.isConnected || host.clientWidth < 50 || host.clientHeight < 50) return null;
    const w = host.clientWidth;
    const h = host.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    if (this.stood && this.stood.clientWidth === w && this.stood.clientHeight === h) return this.stood;
    const fl = frame.layoutOf(this.figure, w, h);
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const stood = { layout: this.figure.layout, _fullLayout: fl, clientWidth: w, clientHeight: h,
                    overlayHost: host, staticParts: canvas };
    if (fl.scene) frame.draw3d(ctx, this.figure, fl, sceneProjection(stood), scaleColor);
    else frame.draw(ctx, this.figure, fl, contourSource, scaleColor);
    this.stood = stood;
    return stood;
  };

  function clipTo(ctx, ax) {
    ctx.beginPath();
    ctx.rect(ax.xa._offset, ax.ya._offset, ax.xa._length, ax.ya._length);
    ctx.clip();
  }

  function strokeHalo(ctx, color, width) {
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    ctx.strokeStyle = "rgba(20, 24, 32, 0.55)";
    ctx.lineWidth = width + 2;
    ctx.stroke();
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.stroke();
  }

  function drawCross(ctx, x, y, r, color) {
    ctx.beginPath();
    ctx.moveTo(x - r, y - r);
    ctx.lineTo(x + r, y + r);
    ctx.moveTo(x + r, y - r);
    ctx.lineTo(x - r, y + r);
    strokeHalo(ctx, color, 3);
  }

  function drawPathOnMap(ctx, ax, i, t, big) {
    const R = S.race;
    const last = Math.min(t, R.lastValid[i]);
    const base = i * R.len * 2;
    const P = R.paths;
    ctx.beginPath();
    ctx.moveTo(ax.x(P[base]), ax.y(P[base + 1]));
    for (let k = 1; k <= last; k++) {
      ctx.lineTo(ax.x(P[base + 2 * k]), ax.y(P[base + 2 * k + 1]));
    }
    strokeHalo(ctx, R.colors[i], big ? 2.5 : 2);
    const hx = ax.x(P[base + 2 * last]);
    const hy = ax.y(P[base + 2 * last + 1]);
    const diverged = R.divergedAt[i] >= 0 && t >= R.divergedAt[i];
    return { hx: hx, hy: hy, diverged: diverged };
  }

  function drawHead(ctx, head, i, big) {
    const R = S.race;
    if (head.diverged) {
      drawCross(ctx, head.hx, head.hy, big ? 8 : 7, R.colors[i]);
      return;
    }
    ctx.beginPath();
    ctx.arc(head.hx, head.hy, big ? 7 : 6, 0, TAU);
    ctx.fillStyle = R.colors[i];
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
  }

  function drawStart(ctx, ax) {
    const R = S.race;
    const x = ax.x(R.start[0]);
    const y = ax.y(R.start[1]);
    ctx.beginPath();
    ctx.arc(x, y, 5, 0, TAU);
    ctx.fillStyle = "#ffffff";
    ctx.fill();
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = "#14181f";
    ctx.stroke();
  }

  // Text on a projector-wide screen (assets/style.css: min-width 1700px) is at least 14 px: the
  // figures' and the canvas labels' sizes, as they are drawn.
  const PROJECTOR = window.matchMedia ? window.matchMedia("(min-width: 1700px)") : { matches: false };
  function textSize(px) {
    return PROJECTOR.matches ? Math.max(px, 14) : px;
  }

  // A label in the panel's top-right corner; a shorter text when the long one does not fit.
  function drawLabel(ctx, ax, text, color, shortText) {
    const fs = Math.round(textSize(12));
    ctx.font = "600 " + fs + "px system-ui, sans-serif";
    let w = ctx.measureText(text).width + 10;
    if (w > ax.xa._length - 12 && shortText) {
      text = shortText;
      w = ctx.measureText(text).width + 10;
    }
    const x = Math.max(ax.xa._offset + 2, ax.xa._offset + ax.xa._length - w - 6);
    const y = ax.ya._offset + 6;
    ctx.fillStyle = "rgba(255,255,255,0.9)";
    ctx.fillRect(x, y, w, fs + 6);
    ctx.fillStyle = color;
    ctx.fillText(text, x + 5, y + fs + 1);
  }

  // 3-D: Plotly draws the surface once; the paths are drawn on the canvas over it, projected
  // with the scene's camera as Plotly projects its own scene annotations (data × the scene's
  // scale → model, view and projection matrices → the scene's box). Restyling path traces
  // instead made WebGL draw the whole scene again several times a second. The paths lie on the
  // surface, so they are drawn over it, never hidden behind it.
  function multiply4(a, b) {
    // column-major 4 × 4 matrices, as gl-matrix and Plotly keep them: (a·b)[4i + j]
    const out = new Float64Array(16);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        let v = 0;
        for (let k = 0; k < 4; k++) v += a[4 * k + j] * b[4 * i + k];
        out[4 * i + j] = v;
      }
    }
    return out;
  }

  function sceneProjection(gd) {
    const fl = gd._fullLayout;
    const scene = fl && fl.scene && fl.scene._scene;
    const cam = scene && scene.glplot && scene.glplot.cameraParams;
    if (!cam || !cam.model || !cam.view || !cam.projection || !fl._size) return null;
    const m = multiply4(cam.projection, multiply4(cam.view, cam.model));
    const [sx, sy, sz] = scene.dataScale;
    const dom = fl.scene.domain;
    const w = fl._size.w * (dom.x[1] - dom.x[0]);
    const h = fl._size.h * (dom.y[1] - dom.y[0]);
    const left = fl._size.l + dom.x[0] * fl._size.w;
    const top = fl._size.t + (1 - dom.y[1]) * fl._size.h;
    const project = (x, y, z, out) => {
      const X = x * sx;
      const Y = y * sy;
      const Z = z * sz;
      const cw = m[3] * X + m[7] * Y + m[11] * Z + m[15];
      out[0] = left + 0.5 * (1 + (m[0] * X + m[4] * Y + m[8] * Z + m[12]) / cw) * w;
      out[1] = top + 0.5 * (1 - (m[1] * X + m[5] * Y + m[9] * Z + m[13]) / cw) * h;
      return cw > 0; // in front of the camera
    };
    project.key = Array.from(m).concat([w, h, left, top]).join();
    project.box = [left, top, w, h];
    return project;
  }

  function drawMap3d(ctx, gd) {
    const project = sceneProjection(gd);
    if (!project) return;
    S.camera3d = project.key;
    const R = S.race;
    const t = S.step;
    const floor = S.surface.grid.floor;
    const p = [0, 0];
    ctx.save();
    ctx.beginPath();
    ctx.rect(project.box[0], project.box[1], project.box[2], project.box[3]);
    ctx.clip();
    const heads = [];
    for (let i = 0; i < R.n; i++) {
      if (!shown(R.ids[i])) continue;
      const last = Math.min(t, R.lastValid[i]);
      ctx.beginPath();
      let pen = false;
      for (let k = 0; k <= last; k++) {
        const j = i * R.len + k;
        if (!project(R.paths[2 * j], R.paths[2 * j + 1], Math.log10(R.gaps[j] + floor), p)) {
          pen = false;
          continue;
        }
        if (pen) ctx.lineTo(p[0], p[1]);
        else ctx.moveTo(p[0], p[1]);
        pen = true;
      }
      strokeHalo(ctx, R.colors[i], 2.5);
      if (pen) heads.push([i, { hx: p[0], hy: p[1], diverged: R.divergedAt[i] >= 0 && t >= R.divergedAt[i] }]);
    }
    heads.forEach(([i, head]) => drawHead(ctx, head, i, false));
    ctx.restore();
    noteFirstFrame(gd);
  }

  // The camera moves (a drag turns the scene) without telling the player: while the 3-D view is
  // shown, look once a frame and draw the paths again when it has.
  function followCamera() {
    if (S.view !== "3d" || S.watching3d) return;
    S.watching3d = true;
    const look = () => {
      if (S.view !== "3d") {
        S.watching3d = false;
        return;
      }
      const gd = graphDiv("race-map");
      const project = gd && S.race ? sceneProjection(gd) : null;
      if (project && project.key !== S.camera3d) mapOverlay.render();
      requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  }

  // The first frame of the first race drawn on its map while it plays (after its first step):
  // page open → this is how long a visitor waits to see the race run.
  function noteFirstFrame(gd) {
    if (S.firstFrameAt || !S.playing || S.step < 1) return;
    const meta = gd.layout && gd.layout.meta;
    if (meta && meta.surface === S.surface.id && meta.view === S.view) S.firstFrameAt = performance.now();
  }

  // "diverged at step k", or for a loss that is undefined there (a custom formula's log of a
  // negative number, say) "stopped at step k: loss undefined"
  function stopLabel(i) {
    const R = S.race;
    const reason = R.stopReasons[i] || "";
    const verb = reason.indexOf("undefined") >= 0 ? "stopped" : "diverged";
    return verb + " at " + when(R.divergedAt[i]) + (verb === "stopped" ? ": loss undefined" : "");
  }

  // The badge of optimizer i's panel at step t: what the leaderboard says, in words.
  function panelLabel(i, t) {
    const R = S.race;
    const s = standing(i, t);
    if (s.cls === "diverged") return { text: stopLabel(i), color: "#a01c2c", short: "✗ " + when(R.divergedAt[i]) };
    if (s.cls === "arrived") return { text: "arrived at " + when(s.key), color: "#1d5e2c" };
    if (s.cls === "left") return { text: "arrived at " + when(R.arrivedAt[i]) + ", left", color: "#8a4b00", short: "↺ left" };
    return null;
  }

  function drawMap(ctx, gd) {
    const R = S.race;
    if (!S.surface || R.surfaceId !== S.surface.id) return;
    const t = S.step;
    if (S.view === "3d") {
      const meta = gd.layout && gd.layout.meta; // the scene on screen is this surface's
      if (meta && meta.view === "3d" && meta.surface === S.surface.id) drawMap3d(ctx, gd);
      return;
    }
    noteFirstFrame(gd);
    if (S.view === "grid") {
      // Panel k + 1 shows optimizer panels[k]: the figure says which (mapFigure, layout.meta),
      // so the paths follow the panels drawn even while a new figure is on its way.
      const panels = panelIds(gd);
      if (!panels.length) {
        const ax = axes(gd, 1);
        if (ax) {
          ctx.save();
          clipTo(ctx, ax);
          drawStart(ctx, ax);
          ctx.restore();
        }
        return;
      }
      const group = twins(R, S.visible);
      for (let k = 0; k < panels.length; k++) {
        const i = R.ids.indexOf(panels[k]);
        const ax = axes(gd, k + 1);
        if (!ax) continue;
        ctx.save();
        clipTo(ctx, ax);
        drawStart(ctx, ax);
        if (i >= 0 && shown(R.ids[i])) {
          const head = drawPathOnMap(ctx, ax, i, t, false);
          drawHead(ctx, head, i, false);
          const label = panelLabel(i, t);
          if (label) drawLabel(ctx, ax, label.text, label.color, label.short);
        }
        if (i >= 0) drawTwinBadge(ctx, ax, R.ids[i], group);
        ctx.restore();
      }
      return;
    }
    const ax = axes(gd, 1);
    if (!ax) return;
    ctx.save();
    clipTo(ctx, ax);
    drawStart(ctx, ax);
    const heads = [];
    for (let i = 0; i < R.n; i++) {
      if (shown(R.ids[i])) heads.push([i, drawPathOnMap(ctx, ax, i, t, true)]);
    }
    heads.forEach(([i, head]) => drawHead(ctx, head, i, true));
    ctx.restore();
  }

  function drawLoss(ctx, gd) {
    const R = S.race;
    const ax = axes(gd, 1);
    if (!ax) return;
    const t = S.step;
    const lo = Math.pow(10, ax.ya.range[0]);
    ctx.save();
    clipTo(ctx, ax);
    for (let i = 0; i < R.n; i++) {
      if (!shown(R.ids[i])) continue;
      const last = Math.min(t, R.lastValid[i]);
      const base = i * R.len;
      ctx.beginPath();
      for (let k = 0; k <= last; k++) {
        const x = ax.x(k);
        const y = ax.y(Math.max(R.gaps[base + k], lo));
        if (k === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.lineJoin = "round";
      ctx.strokeStyle = R.colors[i];
      ctx.lineWidth = 2;
      ctx.stroke();
      if (R.divergedAt[i] >= 0 && t >= R.divergedAt[i]) {
        const x = ax.x(last);
        const y = ax.y(Math.max(R.gaps[base + last], lo));
        drawCross(ctx, x, y, 5, R.colors[i]);
      }
    }
    const cx = ax.x(t);
    ctx.beginPath();
    ctx.moveTo(cx, ax.ya._offset);
    ctx.lineTo(cx, ax.ya._offset + ax.ya._length);
    ctx.strokeStyle = "rgba(20,24,31,0.5)";
    ctx.lineWidth = 1;
    ctx.stroke();
    ctx.restore();
  }

  const mapOverlay = new Overlay("race-map", drawMap);
  const lossOverlay = new Overlay("loss-chart", drawLoss);

  // ---------------------------------------------------------------- leaderboard ------------
  // Where optimizer i stands at step t: diverged; within the arrival threshold (since it last
  // came in); arrived earlier and left again; or not there yet. Groups rank in that order of
  // merit: within (earliest in first), then the rest by loss, diverged last. At the last step
  // "within" is exactly "arrived and stayed".
  function standing(i, t) {
    const R = S.race;
    const d = R.divergedAt[i];
    const a = R.arrivedAt[i];
    const k = Math.min(t, R.lastValid[i]);
    const gap = R.gaps[i * R.len + k];
    if (d >= 0 && t >= d) {
      const verb = (R.stopReasons[i] || "").indexOf("undefined") >= 0 ? "✗ stopped " : "✗ diverged ";
      return { group: 2, key: -d, at: d, gap: gap, status: verb + ago(d), cls: "diverged", reason: R.stopReasons[i] || "" };
    }
    const since = R.entered[i * R.len + k];
    if (since >= 0) return { group: 0, key: since, at: since, gap: gap, status: "✓ arrived " + ago(since), cls: "arrived" };
    if (a >= 0 && t >= a) {
      return { group: 1, key: gap, at: a, gap: gap, status: "↺ left", cls: "left",
               reason: "came within the arrival threshold at " + when(a) + " and is outside it now" };
    }
    return { group: 1, key: gap, at: -1, gap: gap, status: "", cls: "" };
  }

  // A leaderboard cell: the step number, or on the clock in examples "after 2.4 epochs".
  function ago(k) {
    return S.race && S.race.clock === "examples" ? "after " + when(k) : String(k);
  }

  // The shown optimizers at step t in the leaderboard's order, best first: [[i, standing], …].
  function ranked(t) {
    const R = S.race;
    const rows = [];
    for (let i = 0; i < R.n; i++) {
      if (shown(R.ids[i])) rows.push([i, standing(i, t)]);
    }
    return rows.sort((a, b) => a[1].group - b[1].group || a[1].key - b[1].key || a[1].gap - b[1].gap);
  }

  function renderBoard() {
    const host = document.getElementById("leaderboard");
    const R = S.race;
    if (!host || !R) return;
    const rows = ranked(S.step);
    let html = '<table><thead><tr><th>#</th><th>Optimizer</th><th class="num">loss f(θ)</th><th>' +
      (R.clock === "examples" ? "work" : "step") + "</th></tr></thead><tbody>";
    rows.forEach(([i, s], r) => {
      html +=
        '<tr class="' + s.cls + '" data-id="' + R.ids[i] + '" data-at="' + s.at + '" title="' + (s.reason || "").replace(/"/g, "&quot;") +
        '"><td>' + (r + 1) + "</td>" +
        '<td><span class="swatch" style="background:' + R.colors[i] + '"></span>' + R.names[i] + "</td>" +
        '<td class="num">' + fmt(s.gap + R.fMin) + "</td><td>" + s.status + "</td></tr>";
    });
    host.innerHTML = html + "</tbody></table>";
  }

  // ---------------------------------------------------------------- playback ---------------
  function scrubber() {
    let el = document.getElementById("scrubber");
    const host = document.getElementById("scrubber-host");
    if (!el && host) {
      el = document.createElement("input");
      el.type = "range";
      el.id = "scrubber";
      el.min = "0";
      el.step = "1";
      el.setAttribute("aria-label", "Animation step");
      el.addEventListener("input", () => {
        pause();
        setStep(Number(el.value));
      });
      host.appendChild(el);
    }
    return el;
  }

  function renderAll(force) {
    followCamera();
    mapOverlay.render();
    lossOverlay.render();
    if (force) renderNote();
    const R = S.race;
    const label = document.getElementById("step-label");
    if (label && R) {
      label.textContent = R.clock === "examples" ? S.step + " / " + R.steps + " examples (" + when(S.step) + ")"
        : "step " + S.step + " / " + R.steps;
    }
    const sc = scrubber();
    if (sc && R) {
      sc.max = String(R.steps);
      sc.value = String(S.step);
    }
    const now = performance.now();
    if (force || !S.playing || now - S.boardTs > BOARD_INTERVAL_MS) {
      S.boardTs = now;
      renderBoard();
    }
    renderListeners.forEach((listener) => listener(S.step));
  }

  function setStep(k) {
    if (!S.race) return;
    S.step = Math.max(0, Math.min(S.race.steps, Math.round(k)));
    renderAll(false);
    stepListeners.forEach((listener) => listener(S.step, S.playing));
  }

  function playButton() {
    const b = document.getElementById("btn-play");
    if (b) {
      b.classList.toggle("playing", S.playing);
      b.setAttribute("aria-pressed", S.playing ? "true" : "false");
    }
  }

  function tick(ts, token) {
    if (!S.playing || token !== S.loopToken) return; // a newer loop has taken over
    if (S.lastTs !== null) {
      S.frameTimes.push(ts);
      if (S.frameTimes.length > 5000) S.frameTimes.splice(0, 1000);
      const dt = Math.min(0.1, (ts - S.lastTs) / 1000);
      S.carry += dt * S.speed;
      const advance = Math.floor(S.carry);
      if (advance > 0) {
        S.carry -= advance;
        setStep(S.step + advance);
      }
    }
    S.lastTs = ts;
    if (S.race && S.step >= S.race.steps) {
      pause();
      renderAll(true);
      return;
    }
    requestAnimationFrame((next) => tick(next, token));
  }

  function play() {
    if (!S.race || S.playing) return;
    if (S.step >= S.race.steps) S.step = 0;
    S.playing = true;
    S.lastTs = null;
    S.carry = 0;
    playButton();
    const token = ++S.loopToken;
    requestAnimationFrame((ts) => tick(ts, token));
  }

  function pause() {
    S.playing = false;
    playButton();
    stepListeners.forEach((listener) => listener(S.step, S.playing));
  }

  const controls = {
    "btn-play": () => (S.playing ? pause() : play()),
    "btn-restart": () => {
      setStep(0);
      play();
    },
    "btn-back": (big) => {
      pause();
      setStep(S.step - (big ? 10 : 1));
    },
    "btn-forward": (big) => {
      pause();
      setStep(S.step + (big ? 10 : 1));
    },
  };

  document.addEventListener("click", (ev) => {
    const btn = ev.target.closest && ev.target.closest("button");
    if (btn && controls[btn.id]) controls[btn.id](ev.shiftKey);
  });

  document.addEventListener("change", (ev) => {
    if (ev.target.id === "speed") S.speed = Number(ev.target.value) || 100;
  });

  document.addEventListener("keydown", (ev) => {
    const el = ev.target;
    const tag = (el.tagName || "").toUpperCase();
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) || el.isContentEditable) return;
    if (el.getAttribute && el.getAttribute("role") === "slider") return; // sliders use arrows
    if (ev.key === " " && el.closest && el.closest("button, summary, a[href]")) return; // Space presses a focused button
    if (ev.key === " ") controls["btn-play"]();
    else if (ev.key === "ArrowLeft") controls["btn-back"](ev.shiftKey);
    else if (ev.key === "ArrowRight") controls["btn-forward"](ev.shiftKey);
    else if (ev.key === "Home") controls["btn-restart"]();
    else if (ev.key === "End") {
      pause();
      setStep(S.race ? S.race.steps : 0);
    } else return;
    ev.preventDefault();
  });

  window.addEventListener("resize", () => renderAll(true));

  // ---------------------------------------------------------------- figures ----------------
  const CONTOUR_SCALE = [
    [0, "#ffffff"],
    [0.45, "#e6edf4"],
    [0.8, "#c2cfdc"],
    [1, "#a3b3c4"],
  ];

  const CONTOUR_LINE = "rgba(40, 55, 75, 0.35)";
  const CONTOUR_LINE_WIDTH = 0.6;
  const CONTOUR_BANDS = 22;

  // The map's contour levels: the grid's log-levels from lowest to highest in 22 bands, and the
  // grid as one flat array (row r is y[r]; NaN where the loss is undefined).
  const levelCache = new WeakMap();
  function contourLevels(surface) {
    const grid = surface.grid;
    if (levelCache.has(grid)) return levelCache.get(grid);
    const ny = grid.z.length;
    const nx = ny ? grid.z[0].length : 0;
    const z = new Float64Array(nx * ny);
    let lo = Infinity;
    let hi = -Infinity;
    grid.z.forEach((row, r) => row.forEach((v, c) => {
      z[r * nx + c] = v === null ? NaN : v;
      if (v === null) return;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }));
    if (!(hi > lo)) hi = lo + 1; // a flat (or empty) grid: one band
    const size = (hi - lo) / CONTOUR_BANDS;
    const ticks = [];
    for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) ticks.push(e);
    // as Plotly counts them: the levels lo, lo + size, … up to hi
    const count = Math.floor((hi + size / 1e6 - lo) / size) + 1;
    const levels = { lo: lo, hi: hi, size: size, count: count, ticks: ticks, z: z, nx: nx, ny: ny };
    levelCache.set(grid, levels);
    return levels;
  }

  function hexRgb(hex) {
    return [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  }

  // CONTOUR_SCALE at s in [0, 1], interpolated in RGB as Plotly does.
  function scaleColor(s) {
    const t = Math.max(0, Math.min(1, s));
    let k = 1;
    while (k < CONTOUR_SCALE.length - 1 && CONTOUR_SCALE[k][0] < t) k++;
    const [s0, c0] = CONTOUR_SCALE[k - 1];
    const [s1, c1] = CONTOUR_SCALE[k];
    const f = s1 > s0 ? (t - s0) / (s1 - s0) : 0;
    const a = hexRgb(c0);
    const b = hexRgb(c1);
    return a.map((v, j) => Math.round(v + (b[j] - v) * f));
  }

  // The colour of each band, as Plotly's filled contours colour them: the band above level k
  // (k = −1 below the lowest level) at (k + 1) / count of the scale.
  function bandColors(L) {
    const table = new Uint8Array((L.count + 1) * 3);
    for (let k = -1; k < L.count; k++) table.set(scaleColor((k + 1) / L.count), (k + 1) * 3);
    return table;
  }

  // The bands, pixel by pixel: the grid interpolated bilinearly at each pixel's centre.
  function paintBands(ctx, L, W, H) {
    const { z, nx, ny, lo, size, count } = L;
    const table = bandColors(L);
    const img = ctx.createImageData(W, H);
    const px = img.data;
    const col = new Int32Array(W);
    const colFrac = new Float64Array(W);
    for (let i = 0; i < W; i++) {
      const g = Math.min(((i + 0.5) / W) * (nx - 1), nx - 1.000001);
      col[i] = Math.floor(g);
      colFrac[i] = g - col[i];
    }
    for (let j = 0; j < H; j++) {
      const g = Math.min((1 - (j + 0.5) / H) * (ny - 1), ny - 1.000001);
      const r = Math.floor(g);
      const fy = g - r;
      const below = r * nx;
      const above = below + nx;
      for (let i = 0; i < W; i++) {
        const c = col[i];
        const fx = colFrac[i];
        const v0 = z[below + c] + (z[below + c + 1] - z[below + c]) * fx;
        const v1 = z[above + c] + (z[above + c + 1] - z[above + c]) * fx;
        const v = v0 + (v1 - v0) * fy;
        if (v !== v) continue; // undefined there: left clear, over the plot's background
        const k = Math.max(-1, Math.min(count - 1, Math.floor((v - lo) / size)));
        const o = (j * W + i) * 4;
        const t = (k + 1) * 3;
        px[o] = table[t];
        px[o + 1] = table[t + 1];
        px[o + 2] = table[t + 2];
        px[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  // The level lines, by marching squares over the grid's cells (a cell whose corners are split
  // two against two is split as its centre's value says), joined cell to cell into lines: a
  // canvas draws each separate piece's rounded ends over its neighbour's, which dots the line.
  // Where many levels cross one cell (a narrow valley's floor, where the log-levels plunge) the
  // lines would only grey the bands: there they are drawn fainter, and where they would crowd
  // twice as close, not at all.
  function strokeLevels(ctx, L, W, H, lineWidth) {
    const { z, nx, ny } = L;
    const sx = W / (nx - 1);
    const sy = H / (ny - 1);
    const crowded = Math.max(1.5, Math.min(sx, sy) / 2); // levels in one cell: lines 2 px apart
    // a cell edge by number: 2·(r·nx + c) from grid point (c, r) rightwards, + 1 upwards
    const crosses = (e, level) => {
      const v0 = z[e >> 1];
      const v1 = z[(e >> 1) + (e & 1 ? nx : 1)];
      return v0 > level !== v1 > level;
    };
    const at = (e, level, out) => {
      const i = e >> 1;
      const r = Math.floor(i / nx);
      const v0 = z[i];
      const f = (level - v0) / (z[i + (e & 1 ? nx : 1)] - v0);
      out[0] = (i - r * nx + (e & 1 ? 0 : f)) * sx;
      out[1] = H - (r + (e & 1 ? f : 0)) * sy;
    };
    // each level's pieces: the two edges a piece joins, and whether it is drawn faint (1) or not
    const pieces = Array.from({ length: L.count }, () => []);
    const edges = [0, 0, 0, 0];
    for (let r = 0; r < ny - 1; r++) {
      for (let c = 0; c < nx - 1; c++) {
        const i = r * nx + c;
        const a = z[i]; // corners: a bottom left, b bottom right, d top right, e top left
        const b = z[i + 1];
        const d = z[i + nx + 1];
        const e = z[i + nx];
        const low = Math.min(a, b, d, e);
        const high = Math.max(a, b, d, e);
        if (!(high > low)) continue; // flat, or undefined somewhere
        const crowding = (high - low) / L.size / crowded; // over 1: lines too close to tell apart
        if (crowding > 2) continue;
        const faint = crowding > 1 ? 1 : 0;
        const around = [2 * i, 2 * (i + 1) + 1, 2 * (i + nx), 2 * i + 1]; // bottom, right, top, left
        for (let k = Math.max(0, Math.ceil((low - L.lo) / L.size)); k < L.count; k++) {
          const level = L.lo + k * L.size;
          if (level > high) break;
          let n = 0;
          for (const edge of around) if (crosses(edge, level)) edges[n++] = edge;
          if (n === 2) pieces[k].push(edges[0], edges[1], faint);
          else if (n === 4) {
            // a saddle: a and d on one side, b and e on the other. If the centre is on a's
            // side, a and d are joined and b and e cut off (bottom–right, top–left); else the
            // other way round (left–bottom, right–top).
            if (((a + b + d + e) / 4 > level) === (a > level)) pieces[k].push(edges[0], edges[1], faint, edges[2], edges[3], faint);
            else pieces[k].push(edges[3], edges[0], faint, edges[1], edges[2], faint);
          }
        }
      }
    }
    const paths = [new Path2D(), new Path2D()];
    const p = [0, 0];
    pieces.forEach((list, k) => {
      const level = L.lo + k * L.size;
      const count = list.length / 3;
      const ends = new Map(); // edge → the pieces (one or two) that end on it
      for (let j = 0; j < 3 * count; j++) {
        if (j % 3 === 2) continue;
        const seen = ends.get(list[j]);
        if (seen) seen.push((j / 3) | 0);
        else ends.set(list[j], [(j / 3) | 0]);
      }
      const used = new Uint8Array(count);
      // follow the line from `edge` through piece `q` and on, as far as it goes
      const follow = (q, edge) => {
        let style = -1;
        at(edge, level, p);
        while (q !== undefined && !used[q]) {
          used[q] = 1;
          if (list[3 * q + 2] !== style) {
            style = list[3 * q + 2];
            paths[style].moveTo(p[0], p[1]);
          }
          edge = list[3 * q] === edge ? list[3 * q + 1] : list[3 * q];
          at(edge, level, p);
          paths[style].lineTo(p[0], p[1]);
          const next = ends.get(edge);
          q = next.length > 1 ? (next[0] === q ? next[1] : next[0]) : undefined;
        }
      };
      ends.forEach((on, edge) => { // lines that end (at the map's edge or a gap) first, then loops
        if (on.length === 1 && !used[on[0]]) follow(on[0], edge);
      });
      for (let q = 0; q < count; q++) if (!used[q]) follow(q, list[3 * q]);
    });
    ctx.lineWidth = lineWidth;
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    ctx.strokeStyle = CONTOUR_LINE;
    ctx.stroke(paths[0]);
    ctx.globalAlpha = 0.4;
    ctx.stroke(paths[1]);
    ctx.globalAlpha = 1;
  }

  // The filled contour map as a PNG data URL, w × h CSS pixels (at the screen's pixel ratio),
  // drawn here rather than by Plotly: Plotly builds SVG paths for every band of every panel,
  // nine times the same work in the side-by-side view, and that held up the page's first race.
  // One image per surface and panel size serves every panel: a data URL, which Plotly shows at
  // once (it loads other sources itself, later) and exported files' policy allows. Kept for the
  // last few sizes, so switching views costs nothing.
  const contourImages = new Map(); // key → {url, canvas}
  function contourImage(surface, w, h) {
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    const W = Math.round(Math.max(32, Math.min(2048, w * ratio)));
    const H = Math.round(Math.max(32, Math.min(2048, h * ratio)));
    const key = [surface.id, JSON.stringify(surface.domain), W, H].join("|");
    if (contourImages.has(key)) return contourImages.get(key).url;
    const L = contourLevels(surface);
    const canvas = document.createElement("canvas");
    canvas.width = W;
    canvas.height = H;
    const ctx = canvas.getContext("2d");
    if (L.nx > 1 && L.ny > 1) {
      paintBands(ctx, L, W, H);
      strokeLevels(ctx, L, W, H, CONTOUR_LINE_WIDTH * ratio);
    }
    const url = canvas.toDataURL("image/png");
    if (contourImages.size >= 6) contourImages.delete(contourImages.keys().next().value);
    contourImages.set(key, { url: url, canvas: canvas });
    return url;
  }

  // The canvas a contour image's URL was made from (the map drawn before Plotly draws it).
  function contourSource(url) {
    for (const image of contourImages.values()) if (image.url === url) return image.canvas;
    return null;
  }

  // The contour image laid under subplot k's axes, over the grid's extent.
  function contourLayoutImage(surface, url, k) {
    const sfx = k > 1 ? String(k) : "";
    const x = surface.grid.x;
    const y = surface.grid.y;
    return {
      source: url,
      xref: "x" + sfx,
      yref: "y" + sfx,
      x: x[0],
      y: y[y.length - 1],
      sizex: x[x.length - 1] - x[0],
      sizey: y[y.length - 1] - y[0],
      xanchor: "left",
      yanchor: "top",
      sizing: "stretch",
      layer: "below",
    };
  }

  // The overlay's colour bar is Plotly's own, from a 2 × 2 contour with the map's levels that
  // lies outside the axes' range (the map itself is the image).
  function colorbarTrace(surface) {
    const L = contourLevels(surface);
    const xr = surface.domain[0];
    const away = xr[1] + 10 * (xr[1] - xr[0]);
    return {
      type: "contour",
      x: [away, away + 1],
      y: surface.domain[1],
      z: [[L.lo, L.hi], [L.hi, L.lo]],
      colorscale: CONTOUR_SCALE,
      contours: { start: L.lo, end: L.hi, size: L.size, coloring: "fill" },
      line: { width: 0 },
      hoverinfo: "skip",
      showscale: true,
      colorbar: {
        title: { text: "f − f<sub>min</sub>", side: "right" },
        tickvals: L.ticks,
        ticktext: L.ticks.map((e) => "1e" + e),
        thickness: 12,
        len: 0.9,
      },
    };
  }

  // The right margin the colour bar needs (Plotly places it at x = 1.02 of the plot's width, 10 px
  // in, and widens the margin to fit it): set in the figure, so that the plot's size is known
  // before Plotly lays it out (the map drawn before Plotly has loaded, assets/mapframe.js). `w`:
  // the plot and the margin together.
  let measure = null;
  function colorbarMargin(trace, w, font) {
    measure = measure || document.createElement("canvas").getContext("2d");
    measure.font = font.size + "px " + font.family;
    const labels = Math.max(0, ...trace.colorbar.ticktext.map((t) => measure.measureText(t).width));
    const bar = 10 + trace.colorbar.thickness + 3 + labels + 6 + 2 * font.size + 10 + 6; // a few px to spare
    return Math.ceil((0.02 * w + bar) / 1.02);
  }

  function minimaTraces(surface, k) {
    const sfx = k > 1 ? String(k) : "";
    const traces = [];
    const add = (pts, symbol, name) => {
      if (!pts.length) return;
      traces.push({
        type: "scatter",
        mode: "markers",
        x: pts.map((p) => p[0]),
        y: pts.map((p) => p[1]),
        xaxis: "x" + sfx,
        yaxis: "y" + sfx,
        name: name,
        hoverinfo: "skip",
        marker: { symbol: symbol, size: 13, color: "#ffd34d", line: { color: "#14181f", width: 1.2 } },
      });
    };
    add(surface.minima, "star", "global minimum");
    add(surface.local_minima, "star-open", "local minimum");
    return traces;
  }

  function axisStyle(range, showLabels, domain, anchor, title) {
    return {
      title: title && showLabels ? { text: title, standoff: 2, font: { size: textSize(11) } } : undefined,
      range: range,
      domain: domain,
      anchor: anchor,
      showgrid: false,
      zeroline: false,
      showticklabels: showLabels,
      ticks: showLabels ? "outside" : "",
      ticklen: 3,
      tickfont: { size: textSize(10) },
      fixedrange: true,
      mirror: true,
      showline: true,
      linecolor: "#c5ced8",
    };
  }

  // The 3-D view's figure: the surface alone (drawMap3d draws the paths over it).
  function figure3d(surface) {
    const data = [
      {
        type: "surface",
        x: surface.grid.x,
        y: surface.grid.y,
        z: surface.grid.z,
        colorscale: CONTOUR_SCALE,
        showscale: false,
        hoverinfo: "skip",
        opacity: 0.92,
        // no level lines on the surface: they slow WebGL's first paint of the scene, and the
        // shading shows the shape (the flat views show the levels)
      },
    ];
    const axis = (title) => ({ title: { text: title }, showspikes: false, backgroundcolor: "#fbfcfd" });
    return {
      data: data,
      layout: {
        margin: { l: 0, r: 0, t: 0, b: 0 },
        showlegend: false,
        hovermode: false,
        paper_bgcolor: "rgba(0,0,0,0)",
        font: { size: textSize(12) },
        meta: { surface: surface.id, view: "3d" },
        scene: {
          xaxis: axis(surface.data ? "w" : "x"),
          yaxis: axis(surface.data ? "b" : "y"),
          zaxis: axis("log₁₀(f − f_min)"),
          aspectmode: "manual",
          aspectratio: { x: 1, y: 1, z: 0.55 },
          camera: { eye: { x: -1.3, y: -1.5, z: 1.1 } },
        },
      },
    };
  }

  // The grid's shape for n panels in a w × h map: the columns × rows that give the largest
  // panels (the smaller of a panel's width and height), so 4 shown make 2 × 2, 2 make 2 side by
  // side, 9 make 3 × 3. gx, gy: the gaps between panels (room for titles and tick labels).
  function gridShape(n, w, h) {
    const W = Math.max(w - 44, 100);
    const H = Math.max(h - 48, 100);
    const gx = Math.max(14, 0.035 * W);
    const gy = Math.max(40, 0.07 * H);
    let best = null;
    for (let cols = 1; cols <= Math.max(n, 1); cols++) {
      const rows = Math.ceil(n / cols);
      const pw = (W - (cols - 1) * gx) / cols;
      const ph = (H - (rows - 1) * gy) / rows;
      const size = Math.min(pw, ph);
      if (!best || size > best.size + 0.5) best = { cols: cols, rows: rows, size: size, pw: pw, ph: ph };
    }
    return Object.assign(best, { W: W, H: H, gx: gx, gy: gy });
  }

  // The map's size on the page (the grid is shaped to it), or a laptop's if it is not laid out.
  function mapSize() {
    const el = document.getElementById("race-map");
    const w = el ? el.clientWidth : 0;
    const h = el ? el.clientHeight : 0;
    return w > 50 && h > 50 ? [w, h] : [780, 660];
  }

  // GD, SGD and Mini-batch SGD take the same steps when every gradient is exact (σ = 0, SPEC §3)
  // and their settings are the same: the shown ones that do, in that order ([] if fewer than two).
  const TWINS = ["gd", "sgd", "minibatch_sgd"];
  const SHORT = { gd: "GD", sgd: "SGD", minibatch_sgd: "Mini-batch SGD" };
  function twins(R, visible) {
    // (on data the noise is the examples; on the clock in examples they take different steps)
    if (!R || R.raw.noise !== 0 || R.raw.data || R.clock === "examples" || !visible) return [];
    const groups = {};
    TWINS.forEach((id) => {
      const i = R.ids.indexOf(id);
      if (i < 0 || !visible.has(id)) return;
      const key = JSON.stringify((R.raw.settings || {})[id] || null);
      (groups[key] = groups[key] || []).push(id);
    });
    return Object.values(groups).find((g) => g.length >= 2) || [];
  }

  function listText(names) {
    return names.length > 1 ? names.slice(0, -1).join(", ") + " and " + names[names.length - 1] : names.join("");
  }

  // The line by the leaderboard that says why those panels are identical.
  function twinsNote(group) {
    if (group.length < 2) return "";
    return "Gradient noise σ = 0: " + listText(group.map((id) => SHORT[id])) +
      " see the exact gradient and move together. Raise σ to see them differ.";
  }

  function renderNote() {
    const host = document.getElementById("race-note");
    if (!host) return;
    const text = twinsNote(twins(S.race, S.visible));
    if (host.textContent !== text) host.textContent = text;
  }

  // In a twin's grid panel (bottom left): "= GD here: σ = 0", the one it moves with. Drawn with
  // the paths, so it follows the race at once (a new title would make Plotly redraw the contours).
  function drawTwinBadge(ctx, ax, id, group) {
    const k = group.indexOf(id);
    if (k <= 0) return;
    const fs = textSize(11.5);
    const box = Math.round(fs) + 6;
    ctx.font = "600 " + fs + "px system-ui, sans-serif";
    let text = "= " + SHORT[group[0]] + " here: σ = 0";
    let w = ctx.measureText(text).width + 10;
    if (w > ax.xa._length - 12) {
      text = "= " + SHORT[group[0]];
      w = ctx.measureText(text).width + 10;
    }
    const x = ax.xa._offset + 6;
    const y = ax.ya._offset + ax.ya._length - box - 6;
    ctx.fillStyle = "rgba(238, 244, 251, 0.95)";
    ctx.fillRect(x, y, w, box);
    ctx.strokeStyle = "#9fb8d6";
    ctx.lineWidth = 1;
    ctx.strokeRect(x + 0.5, y + 0.5, w - 1, box - 1);
    ctx.fillStyle = "#1f3b63";
    ctx.fillText(text, x + 5, y + box - 5);
  }

  // The ids of the grid's panels in order, as the figure on screen has them.
  function panelIds(gd) {
    const meta = gd && gd.layout && gd.layout.meta;
    if (meta && Array.isArray(meta.panels)) return meta.panels;
    return S.race ? S.race.ids : [];
  }

  function mapFigure(surface, view, meta, visible) {
    if (view === "3d") return figure3d(surface);
    const xr = surface.domain[0];
    const yr = surface.domain[1];
    // a data surface's axes are a model's parameters: named (w, b), with room for the names
    const titles = surface.data ? surface.axes : [null, null];
    const layout = {
      margin: { l: surface.data ? 48 : 36, r: view === "grid" ? 8 : 10, t: view === "grid" ? 22 : 10,
                b: surface.data ? 38 : 26 },
      dragmode: false,
      hovermode: false,
      showlegend: false,
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "#fbfcfd",
      font: { family: "system-ui, sans-serif", size: textSize(12), color: "#2b3340" },
      meta: { surface: surface.id, view: view }, // the figure on screen is for this surface and view
    };
    const data = [];
    if (view === "grid") {
      // one panel per shown optimizer (all of them when `visible` is not a list)
      const showing = Array.isArray(visible) ? new Set(visible) : null;
      const shown = [];
      meta.ids.forEach((id, i) => {
        if (!showing || showing.has(id)) shown.push(i);
      });
      const n = shown.length;
      const size = mapSize();
      const g = gridShape(n, size[0], size[1]);
      const boxes = shown.map((_, p) => {
        const r = Math.floor(p / g.cols);
        const inRow = Math.min(g.cols, n - r * g.cols); // a last row that is not full is centred
        const c = (p % g.cols) + (g.cols - inRow) / 2;
        const x0 = c * (g.pw + g.gx);
        const y0 = r * (g.ph + g.gy);
        return { r: r, first: p % g.cols === 0, xd: [x0 / g.W, (x0 + g.pw) / g.W],
                 yd: [1 - (y0 + g.ph) / g.H, 1 - y0 / g.H] };
      });
      layout.annotations = [];
      layout.images = [];
      const image = contourImage(surface, g.pw, g.ph);
      layout.meta.panels = shown.map((i) => meta.ids[i]); // drawMap draws panel k for panels[k]
      shown.forEach((i, p) => {
        const k = p + 1;
        const sfx = k > 1 ? String(k) : "";
        const box = boxes[p];
        // tick labels on the x axis where no panel is below, on the y axis for a row's first
        const below = boxes.some((b) => b.r === box.r + 1 && b.xd[0] < box.xd[1] && b.xd[1] > box.xd[0]);
        layout["xaxis" + sfx] = axisStyle(xr, !below, box.xd, "y" + sfx, titles[0]);
        layout["yaxis" + sfx] = axisStyle(yr, box.first, box.yd, "x" + sfx, titles[1]);
        layout.images.push(contourLayoutImage(surface, image, k));
        data.push(...minimaTraces(surface, k));
        layout.annotations.push({
          text: '<span style="color:' + meta.colors[i] + '">■</span> <b>' + meta.names[i] + "</b>",
          x: (box.xd[0] + box.xd[1]) / 2,
          y: box.yd[1],
          xref: "paper",
          yref: "paper",
          xanchor: "center",
          yanchor: "bottom",
          showarrow: false,
          font: { size: textSize(13), color: "#1f2630" },
          bgcolor: "rgba(255,255,255,0)",
        });
      });
      if (!n) {
        // nothing shown: the map alone (a click still sets the start), and what to do
        layout.xaxis = axisStyle(xr, true, [0, 1], "y", titles[0]);
        layout.yaxis = axisStyle(yr, true, [0, 1], "x", titles[1]);
        layout.images.push(contourLayoutImage(surface, contourImage(surface, g.W, g.H), 1));
        data.push(...minimaTraces(surface, 1));
        layout.annotations.push({
          text: "No optimizer is shown: tick one under Per-optimizer settings.",
          x: 0.5, y: 1, xref: "paper", yref: "paper", xanchor: "center", yanchor: "bottom",
          showarrow: false, font: { size: textSize(13), color: "#1f2630" },
        });
      }
    } else {
      layout.xaxis = axisStyle(xr, true, [0, 1], "y", titles[0]);
      layout.yaxis = axisStyle(yr, true, [0, 1], "x", titles[1]);
      // about the plot area: the map less its margins and the colour bar
      const size = mapSize();
      layout.images = [contourLayoutImage(surface, contourImage(surface, size[0] - 130, size[1] - 36), 1)];
      const bar = colorbarTrace(surface);
      data.push(bar);
      layout.margin.r = colorbarMargin(bar, size[0] - layout.margin.l, layout.font);
      data.push(...minimaTraces(surface, 1));
    }
    return { data: data, layout: layout };
  }

  // The loss chart's axes, fitted to the shown optimizers' curves (all when `visible` is not a
  // list): a hidden one that diverges to 1e10 must not squash the rest.
  function lossFigure(R, visible) {
    const showing = Array.isArray(visible) ? new Set(visible) : null;
    let lo = Infinity;
    let hi = 0;
    for (let i = 0; i < R.n; i++) {
      if (showing && !showing.has(R.ids[i])) continue;
      for (let k = 0; k <= R.lastValid[i]; k++) {
        const g = R.gaps[i * R.len + k];
        if (g > 0 && g < lo) lo = g;
        if (g > hi) hi = g;
      }
    }
    if (!(hi > 0)) hi = R.gaps[0] > 0 ? R.gaps[0] : 1; // nothing shown: the start's gap
    if (!(lo < hi)) lo = hi / 10;
    const top = Math.ceil(Math.log10(hi) + 0.05);
    const bottom = Math.max(Math.floor(Math.log10(lo)), top - 16, Math.floor(Math.log10(R.threshold)) - 1);
    // what the Hessian's eigenvalues predict for GD and Momentum on a quadratic (dotted), and
    // where a schedule halved or doubled η (dashed lines)
    const predicted = [];
    Object.entries(R.raw.predicted || {}).forEach(([id, p]) => {
      const i = R.ids.indexOf(id);
      if (i < 0 || (showing && !showing.has(id))) return;
      const gaps = decodeFloat32(p.gaps);
      const x = [];
      const y = [];
      for (let k = 0; k < gaps.length; k += Math.max(1, Math.floor(gaps.length / 400))) {
        if (gaps[k] > 0) {
          x.push(k);
          y.push(gaps[k]);
        }
      }
      predicted.push({ x: x, y: y, type: "scatter", mode: "lines", hoverinfo: "skip", name: "predicted " + id,
                       line: { dash: "dot", width: 1.5, color: R.colors[i] } });
    });
    const marks = R.raw.lr_marks || [];
    const markShapes = marks.map(([t]) => ({ type: "line", x0: t, x1: t, yref: "paper", y0: 0, y1: 1,
                                             line: { dash: "dash", width: 1, color: "#5b4a8a" } }));
    const markNotes = marks.map(([t, f]) => ({ text: "η×" + fmt(f), x: t, xanchor: "left", yref: "paper", y: 1,
                                               yanchor: "top", showarrow: false,
                                               font: { size: textSize(9.5), color: "#5b4a8a" } }));
    return {
      data: [{ x: [], y: [], type: "scatter", hoverinfo: "skip" }].concat(predicted),
      layout: {
        margin: { l: 52, r: 10, t: 10, b: 36 },
        showlegend: false,
        hovermode: false,
        dragmode: false,
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "#ffffff",
        font: { family: "system-ui, sans-serif", size: textSize(11), color: "#2b3340" },
        xaxis: Object.assign({ range: [0, R.steps], title: { text: "step" }, fixedrange: true, showline: true,
                               linecolor: "#c5ced8", zeroline: false, automargin: true }, // room for larger labels on a projector
                             R.clock === "examples" ? epochTicks(R) : {}),
        yaxis: {
          type: "log",
          range: [bottom, top],
          title: { text: "f(θ) − f<sub>min</sub>" },
          fixedrange: true,
          exponentformat: "power",
          dtick: 1,
          showline: true,
          linecolor: "#c5ced8",
          automargin: true,
        },
        shapes: [
          {
            type: "line",
            xref: "paper",
            x0: 0,
            x1: 1,
            y0: R.threshold,
            y1: R.threshold,
            line: { dash: "dot", width: 1, color: "#1d5e2c" },
          },
        ].concat(markShapes),
        annotations: [
          {
            text: "arrival",
            xref: "paper",
            x: 1,
            xanchor: "right",
            y: Math.log10(R.threshold),
            yanchor: "bottom",
            showarrow: false,
            font: { size: textSize(10), color: "#1d5e2c" },
          },
        ].concat(markNotes),
      },
    };
  }

  // The loss chart's x axis on the clock in examples: ticks at whole epochs (about six of them).
  function epochTicks(R) {
    const epochs = R.steps / R.perEpoch;
    const every = Math.max(1, Math.ceil(epochs / 6));
    const vals = [];
    const text = [];
    for (let e = 0; e <= epochs; e += every) {
      vals.push(e * R.perEpoch);
      text.push(String(e));
    }
    return { tickmode: "array", tickvals: vals, ticktext: text,
             title: { text: "epochs (" + R.perEpoch.toLocaleString("en") + " examples each)" } };
  }

  function decoded(race) {
    if (S.earlyRaw && S.earlyRaw !== race) {
      // the page's first race again, from its callback: the same race, which plays on
      if (S.rawRace === S.earlyRaw && JSON.stringify(race) === JSON.stringify(S.earlyRaw)) {
        S.rawRace = race;
        S.race.raw = race;
        if (S.shownRaw === S.earlyRaw) S.shownRaw = race;
      }
      S.earlyRaw = null;
    }
    if (S.rawRace !== race) {
      S.rawRace = race;
      S.race = decodeRace(race);
    }
    return S.race;
  }

  // Show a race. Returns true when it is a new race (not the same payload again).
  function load(race, surface, view, visible) {
    const R = decoded(race); // (the page's first race again is not new: decoded says so)
    const fresh = S.shownRaw !== race;
    S.surface = surface;
    S.view = view || "grid";
    S.visible = new Set(visible || []);
    const wasPlaying = S.playing;
    const atEnd = S.shownRaw !== null && S.step >= S.shownSteps;
    S.shownRaw = race;
    S.shownSteps = R.steps;
    if (!fresh) {
      renderAll(true);
      return false;
    }
    // First race, or playing: the race starts over. Paused: keep the step (at the end or at 0,
    // show the whole new race), so a slider change shows its effect at once.
    const first = !S.raceShownAt;
    if (first && S.initialStep !== null) {
      S.step = Math.min(S.initialStep, R.steps);
      S.initialStep = null;
      renderAll(true);
      S.raceShownAt = performance.now();
      return true;
    }
    if (first || wasPlaying) S.step = 0;
    else S.step = atEnd || S.step === 0 ? R.steps : Math.min(S.step, R.steps);
    renderAll(true);
    S.raceShownAt = performance.now();
    if (first || wasPlaying) {
      S.playing = false;
      play();
    }
    return true;
  }

  // The page's first race, shown before Plotly has loaded: `figure` (mapFigure's) is drawn on a
  // canvas until Plotly's map is in. Then load() it; the same race from a callback plays on.
  function prepaint(race, figure) {
    S.earlyRaw = race;
    mapOverlay.early = new EarlyMap(figure);
  }

  // A new figure for the map while it is still drawn before Plotly (a phone's switcher picks
  // another optimizer): drawn at once. False once Plotly's map is in.
  function repaint(figure) {
    if (!mapOverlay.early) return false;
    const before = mapOverlay.early.stood;
    mapOverlay.early = new EarlyMap(figure);
    mapOverlay.early.stood = before && { overlayHost: before.overlayHost }; // (its host, not its size)
    mapOverlay.render();
    return true;
  }

  // The player's API, for the app's glue code, exported files, tests and the benchmark.
  window.OptimizerRacePlayer = {
    load: load,
    prepaint: prepaint,
    repaint: repaint,
    decoded: decoded,
    mapFigure: mapFigure,
    lossFigure: lossFigure,
    graphDiv: graphDiv,
    axes: axes,
    fmt: fmt,
    onStep: (listener) => stepListeners.push(listener),
    onRender: (listener) => renderListeners.push(listener),
    decodeFloat32: decodeFloat32,
    // a canvas at the device's pixel ratio: its 2-D context scaled to CSS pixels, and its size
    fitCanvas: (canvas, width, height) => {
      const dpr = window.devicePixelRatio || 1;
      const W = canvas.clientWidth || width;
      const H = canvas.clientHeight || height;
      const resized = canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr);
      if (resized) {
        canvas.width = Math.round(W * dpr);
        canvas.height = Math.round(H * dpr);
      }
      const ctx = canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      return { ctx: ctx, W: W, H: H, dpr: dpr, resized: resized };
    },
    surfaceData: () => S.surface,
    race: () => S.race,
    isShown: shown,
    when: when,
    startAt: (k) => {
      S.initialStep = k;
    },
    render: () => renderAll(true),
    state: () => ({
      step: S.step,
      playing: S.playing,
      view: S.view,
      steps: S.race ? S.race.steps : null,
      surface: S.surface ? S.surface.id : null,
      start: S.race ? S.race.start : null,
      diverged_at: S.race ? S.race.divergedAt : null,
      arrived_at: S.race ? S.race.arrivedAt : null,
      ids: S.race ? S.race.ids : null,
      visible: S.visible ? Array.from(S.visible) : null,
      twins: twins(S.race, S.visible), // shown optimizers that move together (σ = 0)
      raceShownAt: S.raceShownAt,
      firstFrameAt: S.firstFrameAt,
      early: S.earlyRaw !== null, // the page's own first race, not yet delivered by its callback
      settings: S.race ? S.race.raw.settings : null,
      noise: S.race ? S.race.raw.noise : null,
      batch_size: S.race ? S.race.raw.batch_size : null,
      seed: S.race ? S.race.raw.seed : null,
    }),
    head: (i) => {
      const R = S.race;
      const k = Math.min(S.step, R.lastValid[i]);
      return [R.paths[(i * R.len + k) * 2], R.paths[(i * R.len + k) * 2 + 1]];
    },
    label: (i) => {
      const label = S.race ? panelLabel(i, S.step) : null;
      return label ? label.text : "";
    },
    // the leaderboard at step t (default: the last): [{id, name, color, status}, …], best first
    ranking: (t) => {
      const R = S.race;
      if (!R) return [];
      return ranked(t === undefined ? R.steps : t).map(([i, s]) => ({
        id: R.ids[i], name: R.names[i], color: R.colors[i], status: s.status,
      }));
    },
    frameTimes: () => S.frameTimes.slice(),
    clearFrameTimes: () => {
      S.frameTimes = [];
    },
    play: play,
    pause: pause,
    setStep: setStep,
    setSpeed: (v) => {
      S.speed = v;
    },
  };
})();
