/* The data panel: a data surface's examples and, at the shown step, each optimizer's model (the
 * line y = w·x + b, or the curve σ(w·x + b) for logistic regression), drawn on a canvas in
 * lockstep with the race (OptimizerRacePlayer.onRender). The best model is dashed. Hovering a
 * leaderboard row (or its model here) highlights that optimizer's model; a click keeps it
 * highlighted until the next click.
 */
(function () {
  const PAD = { l: 46, r: 10, t: 8, b: 34 };
  const INK = "#2b3340";
  const MUTED = "#55606e";
  let hovered = null;
  let selected = null;
  let decodedFor = null;
  let examples = null; // Float32Array: x0, y0, x1, y1, …
  let backdrop = null; // the axes and points, drawn once per surface and size

  function niceTicks(lo, hi, count) {
    const raw = (hi - lo) / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const ticks = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return ticks;
  }

  function fmt(v) {
    return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(0) : String(Number(v.toPrecision(4)));
  }

  // The box the examples fill: x padded by 5 %, y too (a label is 0 or 1: a fixed box).
  function frame(data) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < examples.length; i += 2) {
      x0 = Math.min(x0, examples[i]);
      x1 = Math.max(x1, examples[i]);
      y0 = Math.min(y0, examples[i + 1]);
      y1 = Math.max(y1, examples[i + 1]);
    }
    if (data.draws === "sigmoid") {
      y0 = -0.12;
      y1 = 1.12;
    } else {
      const py = (y1 - y0 || 1) * 0.08;
      y0 -= py;
      y1 += py;
    }
    const px = (x1 - x0 || 1) * 0.05;
    return { x0: x0 - px, x1: x1 + px, y0: y0, y1: y1 };
  }

  function drawBackdrop(ctx, data, box, W, H) {
    const sx = (v) => PAD.l + ((v - box.x0) / (box.x1 - box.x0)) * (W - PAD.l - PAD.r);
    const sy = (v) => H - PAD.b - ((v - box.y0) / (box.y1 - box.y0)) * (H - PAD.t - PAD.b);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, W, H);
    ctx.strokeStyle = "#c5ced8";
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD.l, PAD.t, W - PAD.l - PAD.r, H - PAD.t - PAD.b);
    ctx.font = (window.innerWidth >= 1600 ? 14 : 12) + "px system-ui, sans-serif"; // readable on a projector
    ctx.fillStyle = INK;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    niceTicks(box.x0, box.x1, 5).forEach((v) => ctx.fillText(fmt(v), sx(v), H - PAD.b + 3));
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const yTicks = data.draws === "sigmoid" ? [0, 0.5, 1] : niceTicks(box.y0, box.y1, 4);
    yTicks.forEach((v) => ctx.fillText(fmt(v), PAD.l - 4, sy(v)));
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(data.labels[0], PAD.l + (W - PAD.l - PAD.r) / 2, H - 1);
    ctx.save();
    ctx.translate(11, PAD.t + (H - PAD.t - PAD.b) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText(data.labels[1].length > 28 ? data.labels[1].slice(0, 27) + "…" : data.labels[1], 0, 0);
    ctx.restore();
    // the examples: translucent, so that thousands of them still show where they crowd
    const n = examples.length / 2;
    const r = n > 2000 ? 1.2 : n > 300 ? 1.8 : 2.6;
    ctx.fillStyle = n > 300 ? "rgba(43, 51, 64, 0.35)" : "rgba(43, 51, 64, 0.6)";
    for (let i = 0; i < examples.length; i += 2) {
      // labels of logistic regression are spread a little, so that equal x values do not hide each other
      const jitter = data.draws === "sigmoid" ? (((i * 7919) % 17) / 17 - 0.5) * 0.06 : 0;
      ctx.beginPath();
      ctx.arc(sx(examples[i]), sy(examples[i + 1] + jitter), r, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  function modelCurve(ctx, data, box, W, H, w, b) {
    const sx = (v) => PAD.l + ((v - box.x0) / (box.x1 - box.x0)) * (W - PAD.l - PAD.r);
    const sy = (v) => H - PAD.b - ((v - box.y0) / (box.y1 - box.y0)) * (H - PAD.t - PAD.b);
    const steps = data.draws === "sigmoid" ? 80 : 1;
    ctx.beginPath();
    for (let k = 0; k <= steps; k++) {
      const x = box.x0 + ((box.x1 - box.x0) * k) / steps;
      const z = w * x + b;
      const y = data.draws === "sigmoid" ? 1 / (1 + Math.exp(-z)) : z;
      if (k === 0) ctx.moveTo(sx(x), sy(y));
      else ctx.lineTo(sx(x), sy(y));
    }
    ctx.stroke();
  }

  function draw() {
    const P = window.OptimizerRacePlayer;
    const panel = document.getElementById("data-panel");
    const canvas = document.getElementById("data-canvas");
    if (!P || !panel || !canvas) return;
    const surface = P.surfaceData();
    const R = P.race();
    const data = surface && surface.data;
    const show = Boolean(data && R && R.surfaceId === surface.id);
    if (panel.hidden === show) panel.hidden = !show;
    if (!show) return;
    if (decodedFor !== surface.id) {
      examples = P.decodeFloat32(data.examples);
      decodedFor = surface.id;
      backdrop = null;
      const caption = document.getElementById("data-caption");
      if (caption) {
        caption.textContent = data.n.toLocaleString("en") + " examples (" + data.source + "). " +
          (data.draws === "sigmoid" ? "Each curve is σ(w·x + b)" : "Each line is y = w·x + b") +
          " at the optimizer's current (w, b); dashed: the best fit. Hover over (or tap) a leaderboard row to pick one out.";
      }
    }
    const { ctx, W, H, dpr, resized } = P.fitCanvas(canvas, 320, 200);
    if (resized) backdrop = null;
    const box = frame(data);
    if (!backdrop) {
      backdrop = document.createElement("canvas");
      backdrop.width = canvas.width;
      backdrop.height = canvas.height;
      const bctx = backdrop.getContext("2d");
      bctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      drawBackdrop(bctx, data, box, W, H);
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(backdrop, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.l, PAD.t, W - PAD.l - PAD.r, H - PAD.t - PAD.b);
    ctx.clip();
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = MUTED;
    ctx.lineWidth = 1.5;
    modelCurve(ctx, data, box, W, H, data.best[0], data.best[1]);
    ctx.setLineDash([]);
    const focus = selected || hovered;
    const order = [];
    for (let i = 0; i < R.n; i++) if (P.isShown(R.ids[i])) order.push(i);
    // the highlighted model last, on top of the others
    order.sort((a, c) => (R.ids[a] === focus) - (R.ids[c] === focus));
    order.forEach((i) => {
      const wb = P.head(i);
      ctx.globalAlpha = focus && R.ids[i] !== focus ? 0.25 : 1;
      ctx.strokeStyle = R.colors[i];
      ctx.lineWidth = R.ids[i] === focus ? 3.5 : 1.8;
      modelCurve(ctx, data, box, W, H, wb[0], wb[1]);
    });
    ctx.globalAlpha = 1;
    ctx.restore();
    canvas.dataset.focus = focus || "";
  }

  function attach() {
    if (!window.OptimizerRacePlayer) {
      setTimeout(attach, 50);
      return;
    }
    window.OptimizerRacePlayer.onRender(draw);
    const rowOf = (ev) => ev.target.closest && ev.target.closest("#leaderboard tr[data-id]");
    document.addEventListener("mouseover", (ev) => {
      const row = rowOf(ev);
      const id = row ? row.dataset.id : null;
      if (id !== hovered) {
        hovered = id;
        draw();
      }
    });
    document.addEventListener("click", (ev) => {
      const row = rowOf(ev);
      if (!row) return;
      selected = selected === row.dataset.id ? null : row.dataset.id;
      draw();
    });
    window.addEventListener("resize", draw);
  }
  attach();

  // for tests: which model is highlighted
  window.OptimizerRaceDataPanel = { focus: () => selected || hovered, redraw: draw };
})();
