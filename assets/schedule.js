/* The learning-rate schedule's small plot, under its menu: ηₜ/η over the race (the factor every
 * optimizer's η is multiplied by at update t), with the update shown in the race marked. Drawn
 * on a canvas after every render of the race (OptimizerRacePlayer.onRender); hidden for a
 * constant η.
 */
(function () {
  const PAD = { l: 34, r: 6, t: 6, b: 16 };
  let factorsFor = null;
  let factors = null;

  function draw(step) {
    const P = window.OptimizerRacePlayer;
    const canvas = document.getElementById("schedule-plot");
    if (!P || !canvas) return;
    const R = P.race();
    const packed = R && R.raw.lr_factors;
    if (canvas.hidden === Boolean(packed)) canvas.hidden = !packed;
    if (!packed) return;
    if (factorsFor !== packed) {
      factors = P.decodeFloat32(packed);
      factorsFor = packed;
    }
    const { ctx, W, H } = P.fitCanvas(canvas, 200, 70);
    ctx.clearRect(0, 0, W, H);
    let most = 0;
    for (let i = 0; i < factors.length; i++) most = Math.max(most, factors[i]);
    const top = most > 0 ? most * 1.05 : 1; // a little room above the highest η
    const n = factors.length;
    const sx = (t) => PAD.l + (t / Math.max(1, n)) * (W - PAD.l - PAD.r);
    const sy = (f) => H - PAD.b - (f / top) * (H - PAD.t - PAD.b);
    ctx.strokeStyle = "#c5ced8";
    ctx.strokeRect(PAD.l, PAD.t, W - PAD.l - PAD.r, H - PAD.t - PAD.b);
    ctx.fillStyle = "#2b3340";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText(most >= 10 ? most.toExponential(0) : String(Number(most.toPrecision(2))), PAD.l - 4, sy(most));
    ctx.fillText("0", PAD.l - 4, sy(0));
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    ctx.fillText("update 1 … " + n, PAD.l + 2, H - PAD.b + 2);
    ctx.textAlign = "right";
    ctx.fillText("ηₜ/η", W - PAD.r - 3, PAD.t + 2);
    ctx.strokeStyle = "#5b4a8a";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    const every = Math.max(1, Math.floor(n / 400));
    for (let t = 0; t < n; t += every) {
      if (t === 0) ctx.moveTo(sx(t), sy(factors[t]));
      else ctx.lineTo(sx(t), sy(factors[t]));
    }
    ctx.lineTo(sx(n - 1), sy(factors[n - 1]));
    ctx.stroke();
    // the update shown in the race (row k follows update k); on the clock in examples each
    // optimizer is at its own update, so the mark follows the first shown one
    const k = Math.max(1, Math.min(n, R.clock === "examples" ? 1 : step));
    ctx.fillStyle = "#5b4a8a";
    ctx.beginPath();
    ctx.arc(sx(k - 1), sy(factors[k - 1]), 3, 0, 2 * Math.PI);
    ctx.fill();
    canvas.setAttribute("aria-label", "The learning rate over the race: at update " + k + ", η × " +
      Number(factors[k - 1].toPrecision(3)));
  }

  function attach() {
    if (!window.OptimizerRacePlayer) {
      setTimeout(attach, 50);
      return;
    }
    window.OptimizerRacePlayer.onRender(draw);
  }
  attach();
})();
