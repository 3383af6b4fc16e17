/* Optimizer Race — slides: the race as a picture (PNG), a video (WebM) or an animated GIF, for
 * teachers who put demos into slides. Every export is drawn by one function, `compose`: a header
 * band with the title, η and "step k / N", then the map below it. The map is Plotly's picture of
 * the contours (rendered once per export) with the player's own overlay canvas (the paths, drawn
 * by assets/player.js) scaled on top, so an export shows exactly what the page shows.
 *
 * Video and GIF drive the player step by step (pause, setStep, draw) from step 0 to the end and
 * then put the player back where it was. The 3-D view is refused for them: its paths are WebGL
 * traces that Plotly can only hand over as a fresh picture each frame, too slow to keep a
 * recording's pace; a PNG of the 3-D view works.
 *
 * Loaded after player.js and race.js (assets load in name order); the GIF encoder is
 * assets/vendor/gifenc.js (window.gifenc), looked up when a GIF is made.
 */
(function () {
  "use strict";

  const P = window.OptimizerRacePlayer;
  const VIDEO_FPS = 30;
  const GIF_FPS = 20; // a GIF's frame delay is counted in hundredths of a second: 5 per frame
  const HOLD_END_MS = 1000; // the last step stays on screen, so the end of the race is seen
  const PNG_SCALE = 2; // the picture is twice the map's size on screen, as before the header existed

  const slides = {
    busy: null, // "video" or "gif" while recording, "png" while a picture is made
    cancelled: false,
    lastBlob: null, // the last file made, and its name and facts (read by the tests)
    lastName: null,
    lastInfo: null,
  };

  // ---------------------------------------------------------------- what the header says ------
  function shownPage() {
    return window.OptimizerRaceShown || {};
  }

  function slug(surfaceId) {
    return String(surfaceId || "race").split(":")[0].replace(/[^a-z0-9_-]+/gi, "-");
  }

  // The surface's name (a typed formula: the formula itself), then the open lesson's title, else
  // the app's name.
  function title() {
    const surface = shownPage().surface;
    const id = P.state().surface || "";
    let name = surface && surface.name ? surface.name : id;
    if (id.indexOf("custom:") === 0) name = "f(x, y) = " + id.slice("custom:".length);
    const lesson = document.querySelector("#scenario-text .lesson-title");
    const second = lesson && lesson.textContent.trim() ? lesson.textContent.trim() : "Optimizer Race";
    return name ? name + " · " + second : second;
  }

  // The race's η as the shared slider sets it: the value every shown optimizer that follows the
  // slider uses, or the value most of them use (Tune or a typed η gives some their own), or
  // "η per optimizer" when no value has a majority. AdaDelta keeps its own η and is not counted.
  function etaText() {
    const s = P.state();
    const meta = shownPage().meta || {};
    const follows = new Set((meta.shared_lr || []).concat((meta.extras && meta.extras.ids) || []));
    const visible = (s.visible || []).filter((id) => s.settings && s.settings[id]);
    const counted = visible.some((id) => follows.has(id)) ? visible.filter((id) => follows.has(id)) : visible;
    const counts = new Map();
    counted.forEach((id) => {
      const lr = s.settings[id].lr;
      if (typeof lr === "number") counts.set(lr, (counts.get(lr) || 0) + 1);
    });
    if (!counts.size) return "";
    const [lr, n] = Array.from(counts.entries()).sort((a, b) => b[1] - a[1])[0];
    if (n === counted.length) return "η = " + P.fmt(lr);
    if (n * 2 > counted.length) return "η = " + P.fmt(lr) + " (" + (counted.length - n) + " with their own)";
    return "η per optimizer";
  }

  // ---------------------------------------------------------------- drawing -------------------
  function headerHeight(width, height) {
    return Math.round(Math.max(28, Math.min(96, 0.08 * Math.min(height, (width * 9) / 16))));
  }

  function fitText(ctx, text, room) {
    if (ctx.measureText(text).width <= room) return text;
    let t = text;
    while (t.length > 1 && ctx.measureText(t + "…").width > room) t = t.slice(0, -1);
    return t + "…";
  }

  function drawHeader(ctx, frame) {
    const s = P.state();
    const W = frame.width;
    const h = frame.header;
    const pad = Math.round(h * 0.4);
    const size = Math.round(h * 0.42);
    ctx.fillStyle = "#1f2a37";
    ctx.fillRect(0, 0, W, h);
    ctx.textBaseline = "middle";
    ctx.font = "600 " + size + "px system-ui, sans-serif";
    // the step is left-aligned in a box as wide as its widest text, so it does not jitter
    // on the clock in examples: "2.4 epochs" (OptimizerRacePlayer.when)
    const stepBox = ctx.measureText(P.when(s.steps) + " / " + s.steps).width;
    const stepText = P.when(s.step) + (P.race() && P.race().clock === "examples" ? "" : " / " + s.steps);
    const eta = frame.eta;
    const etaWidth = eta ? ctx.measureText(eta).width + pad : 0;
    const right = W - pad - stepBox;
    ctx.fillStyle = "#ffffff";
    ctx.textAlign = "left";
    ctx.fillText(stepText, right, h / 2);
    ctx.fillStyle = "#c9d6e4";
    ctx.textAlign = "right";
    if (eta) ctx.fillText(eta, right - pad, h / 2);
    ctx.textAlign = "left";
    ctx.fillStyle = "#ffffff";
    const room = right - pad - etaWidth - pad;
    ctx.font = "700 " + size + "px system-ui, sans-serif";
    if (room > 20) ctx.fillText(fitText(ctx, frame.title, room), pad, h / 2);
  }

  // The overlay and 3-D views have no names on the map: a legend of the shown optimizers beside
  // it, in the race's order, when the frame has room there.
  function legendEntries() {
    const s = P.state();
    const byId = {};
    P.ranking(0).forEach((o) => (byId[o.id] = o));
    return (s.ids || []).filter((id) => byId[id]).map((id) => byId[id]);
  }

  function drawLegend(ctx, frame) {
    const L = frame.legend;
    if (!L) return;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    ctx.font = "600 " + L.size + "px system-ui, sans-serif";
    L.entries.forEach((o, k) => {
      const y = L.y + k * L.line + L.line / 2;
      ctx.fillStyle = o.color;
      ctx.fillRect(L.x, y - L.size * 0.35, L.size * 0.7, L.size * 0.7);
      ctx.fillStyle = "#1f2630";
      ctx.fillText(o.name, L.x + L.size, y);
    });
  }

  // One picture of the race at the player's current step, onto frame.ctx: the header, the map's
  // picture and the player's overlay canvas over it (the paths, in the 3-D view too).
  function compose(frame) {
    const ctx = frame.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, frame.width, frame.height);
    const r = frame.rect;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(frame.base, r.x, r.y, r.w, r.h);
    const overlay = frame.gd.querySelector("canvas.race-overlay");
    if (overlay) ctx.drawImage(overlay, r.x, r.y, r.w, r.h);
    drawLegend(ctx, frame);
    drawHeader(ctx, frame);
  }

  // The legend's entries, type size and width for a frame with this header.
  function legendBox(ctx, header) {
    const entries = legendEntries();
    if (!entries.length) return null;
    const size = Math.round(Math.max(11, header * 0.3));
    ctx.font = "600 " + size + "px system-ui, sans-serif";
    const width = size * 1.6 + Math.max(...entries.map((o) => ctx.measureText(o.name).width));
    return { entries: entries, size: size, line: Math.round(size * 1.6), width: width };
  }

  // Where the map goes in the frame: below the header, within the margin, as large as fits at the
  // map's own shape (the overlay's coordinates are the map's on screen), centred with its legend
  // (dropped when it would leave the map less than 60 % of the width).
  function place(frame, mapW, mapH, legend) {
    const m = frame.margin;
    const top = frame.header + m;
    const areaW = frame.width - 2 * m;
    const areaH = frame.height - top - m;
    if (legend && areaW - legend.width < areaW * 0.6) legend = null;
    const room = areaW - (legend ? legend.width : 0);
    const scale = Math.min(room / mapW, areaH / mapH);
    const w = mapW * scale;
    const h = mapH * scale;
    const x = Math.round(m + (room - w) / 2);
    const y = Math.round(top + (areaH - h) / 2);
    frame.rect = { x: x, y: y, w: w, h: h };
    frame.scale = scale;
    if (legend) {
      legend.x = x + w + Math.round(legend.size * 0.4);
      legend.y = y + Math.max(0, (h - legend.line * legend.entries.length) / 2);
    }
    frame.legend = legend;
  }

  // The player draws its overlay canvas at window.devicePixelRatio: while an export needs it
  // larger than the screen does, that ratio is raised, so the paths stay sharp when scaled up.
  const pixelRatio = { saved: null };
  function raisePixelRatio(ratio) {
    if (pixelRatio.saved || !(ratio > (window.devicePixelRatio || 1))) return;
    pixelRatio.saved = Object.getOwnPropertyDescriptor(window, "devicePixelRatio") || { value: undefined, configurable: true };
    Object.defineProperty(window, "devicePixelRatio", { configurable: true, get: () => ratio });
    P.render();
  }
  function restorePixelRatio() {
    if (!pixelRatio.saved) return;
    const saved = pixelRatio.saved;
    pixelRatio.saved = null;
    if (saved.value === undefined && !saved.get) delete window.devicePixelRatio;
    else Object.defineProperty(window, "devicePixelRatio", saved);
    P.render();
  }

  function loadImage(src) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error("the map's picture could not be read"));
      img.src = src;
    });
  }

  // The map's picture at the frame's scale (Plotly lays the figure out at its size on screen, so
  // the overlay's coordinates hold).
  async function mapPicture(frame) {
    const gd = frame.gd;
    const src = await window.Plotly.toImage(gd, {
      format: "png", width: gd.clientWidth, height: gd.clientHeight, scale: frame.scale,
    });
    return loadImage(src);
  }

  // A frame (canvas, header, map's place and picture) for a width × height export; without a size,
  // the map at PNG_SCALE times its size on screen, with the header above it (and the legend
  // beside it in the overlay and 3-D views). `readBack`: its pixels are read every frame (a GIF),
  // so the canvas is kept in memory rather than on the GPU.
  async function makeFrame(width, height, readBack) {
    const gd = P.graphDiv("race-map");
    const s = P.state();
    if (!gd || !gd._fullLayout || !s.steps) throw new Error("There is no race on screen yet.");
    const mapW = gd.clientWidth;
    const mapH = gd.clientHeight;
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: !!readBack });
    const frame = { gd: gd, view: s.view, title: title(), eta: etaText(), canvas: canvas, ctx: ctx };
    frame.header = width ? headerHeight(width, height) : headerHeight(mapW * PNG_SCALE, mapH * PNG_SCALE);
    frame.margin = Math.round(frame.header * 0.2);
    const legend = s.view !== "grid" ? legendBox(ctx, frame.header) : null; // no names on one map
    if (!width) {
      width = Math.round(mapW * PNG_SCALE + 2 * frame.margin + (legend ? legend.width : 0));
      height = Math.round(mapH * PNG_SCALE + frame.header + 2 * frame.margin);
    }
    canvas.width = frame.width = width;
    canvas.height = frame.height = height;
    place(frame, mapW, mapH, legend);
    raisePixelRatio(Math.min(4, frame.scale));
    frame.base = await mapPicture(frame);
    return frame;
  }

  // ---------------------------------------------------------------- files ---------------------
  function download(blob, filename, info) {
    slides.lastBlob = blob;
    slides.lastName = filename;
    slides.lastInfo = Object.assign({ bytes: blob.size, type: blob.type }, info || {});
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000); // the download has read it by then
  }

  function canvasBlob(canvas) {
    return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  }

  function sizeText(bytes) {
    return bytes >= 1e6 ? (bytes / 1e6).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1e3)) + " kB";
  }

  // ---------------------------------------------------------------- the page's controls -------
  function el(id) {
    return document.getElementById(id);
  }

  // The status line is a live region: it changes only when its text does, and progress goes in
  // tens of percent, so a screen reader is not read a number every frame.
  function say(text) {
    const status = el("slides-status");
    if (status && status.textContent !== text) status.textContent = text;
  }

  function sayProgress(what, done) {
    say(what + "… " + Math.min(90, Math.floor(done * 10) * 10) + " %");
  }

  // The size and speed chosen in the share bar's options, and a GIF's most frames (beyond them a
  // GIF gets too big for a slide deck, so the steps are spread over that many): layout.py
  // _slides_options.
  function chosen() {
    const size = ((el("slides-size") || {}).value || "1280x720").split("x").map(Number);
    const speed = Number((el("slides-speed") || {}).value) || 100;
    const box = document.querySelector(".slides-options");
    const maxFrames = Number(box && box.getAttribute("data-gif-max-frames")) || 300;
    return { width: size[0], height: size[1], speed: speed, maxFrames: maxFrames };
  }

  // While a video or GIF is made its buttons are disabled and Cancel takes the focus; afterwards
  // the focus goes back to the button that started it. A PNG is quick: it only marks the time.
  function setBusy(kind, opener) {
    slides.busy = kind;
    if (kind === "png" || (!kind && !opener)) return;
    ["btn-export-png", "btn-export-video", "btn-export-gif"].forEach((id) => {
      const b = el(id);
      if (b) b.disabled = !!kind;
    });
    const cancel = el("btn-slides-cancel");
    if (cancel) {
      cancel.hidden = !kind;
      if (kind) cancel.focus();
    }
    if (!kind && document.activeElement === document.body) opener.focus();
  }

  // ---------------------------------------------------------------- recording -----------------
  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  }

  // The steps each frame shows: from 0 to the end at `speed` steps per second and `fps` frames
  // per second, at most `maxFrames` frames (more are spread evenly over the race instead, which
  // plays it faster).
  function frameSteps(steps, speed, fps, maxFrames) {
    let count = Math.ceil((steps * fps) / speed) + 1;
    const spedUp = maxFrames && count > maxFrames;
    if (spedUp) count = maxFrames;
    const out = [];
    for (let i = 0; i < count; i++) {
      out.push(spedUp ? Math.round((i * steps) / (count - 1)) : Math.min(steps, Math.round((i * speed) / fps)));
    }
    return { steps: out, spedUp: !!spedUp }; // the last is the last step either way
  }

  // Runs `body(frame, race)` with the player paused and a frame ready; afterwards the player is put
  // back at its step, playing again if it was, whatever happened.
  async function withPlayer(kind, opener, width, height, body) {
    if (slides.busy) return null;
    const s = P.state();
    if (!s.steps) {
      say("There is no race on screen yet.");
      return null;
    }
    if (kind !== "png" && s.view === "3d") {
      say("Video and GIF record the flat views: switch to Side by side or Overlay (the 3-D view can be saved as a PNG).");
      return null;
    }
    const before = { step: s.step, playing: s.playing };
    const race = { shownAt: s.raceShownAt, view: s.view, surface: s.surface };
    slides.cancelled = false;
    setBusy(kind, opener || el("btn-export-" + kind));
    P.pause();
    shownPage().recording = true;
    try {
      const frame = await makeFrame(width, height, kind === "gif");
      return await body(frame, race);
    } catch (err) {
      say((err && err.message) || String(err));
      return null;
    } finally {
      shownPage().recording = false;
      restorePixelRatio();
      P.setStep(before.step);
      if (before.playing) P.play();
      setBusy(null, kind === "png" ? null : opener || el("btn-export-" + kind));
    }
  }

  // The race must stay the one being recorded: a new race, view or surface stops the recording.
  function checkSameRace(race) {
    const s = P.state();
    if (s.raceShownAt !== race.shownAt || s.view !== race.view || s.surface !== race.surface) {
      throw new Error("The race changed while recording, so the recording stopped.");
    }
    if (s.playing) P.pause(); // Space or the play button during a recording: the recording drives
  }

  function showStep(k, race) {
    checkSameRace(race);
    P.setStep(k);
  }

  function videoType() {
    if (!window.MediaRecorder || !HTMLCanvasElement.prototype.captureStream) return null;
    const types = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"];
    return types.find((t) => MediaRecorder.isTypeSupported(t)) || null;
  }

  async function exportPng() {
    return withPlayer("png", null, 0, 0, async (frame) => {
      compose(frame);
      const blob = await canvasBlob(frame.canvas);
      const s = P.state();
      download(blob, "optimizer-race-" + slug(s.surface) + "-step" + s.step + ".png",
               { width: frame.width, height: frame.height, header: frame.header });
      return blob;
    });
  }

  async function exportVideo(options, opener) {
    const mimeType = videoType();
    if (!mimeType) {
      say("This browser cannot record WebM video; the GIF works in every browser.");
      return null;
    }
    const o = Object.assign(chosen(), options || {});
    return withPlayer("video", opener, o.width, o.height, async (frame, race) => {
      // The recorder stamps each frame with the time it was taken, so the step shown follows the
      // clock: a frame that takes long to draw skips steps rather than slowing the race down.
      const steps = P.state().steps;
      const endMs = (steps / o.speed) * 1000 + HOLD_END_MS;
      const stream = frame.canvas.captureStream(0);
      const track = stream.getVideoTracks()[0];
      const recorder = new MediaRecorder(stream, {
        mimeType: mimeType,
        videoBitsPerSecond: Math.round(frame.width * frame.height * VIDEO_FPS * 0.1),
      });
      const chunks = [];
      recorder.ondataavailable = (ev) => {
        if (ev.data && ev.data.size) chunks.push(ev.data);
      };
      const stopped = new Promise((resolve) => (recorder.onstop = resolve));
      showStep(0, race);
      compose(frame);
      recorder.start();
      const t0 = performance.now();
      let frames = 0;
      try {
        for (let elapsed = 0; !slides.cancelled; elapsed = performance.now() - t0) {
          showStep(Math.min(steps, Math.round((elapsed / 1000) * o.speed)), race);
          compose(frame);
          if (track.requestFrame) track.requestFrame();
          frames += 1;
          sayProgress("Recording video", elapsed / endMs);
          if (elapsed >= endMs) break;
          await sleep(t0 + (frames * 1000) / VIDEO_FPS - performance.now());
        }
        await sleep(1000 / VIDEO_FPS); // the last frame reaches the encoder before the recorder stops
      } finally {
        recorder.stop();
        track.stop();
        await stopped;
      }
      if (slides.cancelled) {
        say("Recording cancelled.");
        return null;
      }
      const blob = new Blob(chunks, { type: "video/webm" });
      const name = "optimizer-race-" + slug(race.surface) + ".webm";
      download(blob, name, { width: frame.width, height: frame.height, frames: frames, fps: VIDEO_FPS, mimeType: mimeType });
      say("Video saved: " + name + " (" + sizeText(blob.size) + ").");
      return blob;
    });
  }

  async function exportGif(options, opener) {
    const gif = window.gifenc;
    if (!gif) {
      say("The GIF encoder did not load: reload the page.");
      return null;
    }
    const o = Object.assign(chosen(), options || {});
    return withPlayer("gif", opener, o.width, o.height, async (frame, race) => {
      const plan = frameSteps(P.state().steps, o.speed, GIF_FPS, o.maxFrames);
      const w = frame.width;
      const h = frame.height;
      const pixels = () => frame.ctx.getImageData(0, 0, w, h).data;
      // One palette for every frame, from the first and the last (the map, the header and every
      // path drawn): the contours keep the same colours from frame to frame.
      showStep(plan.steps[0], race);
      compose(frame);
      const first = pixels();
      showStep(plan.steps[plan.steps.length - 1], race);
      compose(frame);
      const both = new Uint8ClampedArray(first.length * 2);
      both.set(first, 0);
      both.set(pixels(), first.length);
      // The last index is left free: it marks a pixel that is as in the frame before, so each frame
      // after the first holds only what moved (the paths, the labels, the header's step) and the
      // rest compresses to almost nothing.
      const palette = gif.quantize(both, 255);
      const same = palette.length;
      palette.push([255, 255, 255]);
      const encoder = gif.GIFEncoder();
      const delay = 1000 / GIF_FPS;
      let before = null;
      for (let i = 0; i < plan.steps.length; i++) {
        if (slides.cancelled) break;
        showStep(plan.steps[i], race);
        compose(frame);
        const index = gif.applyPalette(pixels(), palette.slice(0, same));
        const changed = before ? index.slice() : index;
        if (before) for (let j = 0; j < index.length; j++) if (index[j] === before[j]) changed[j] = same;
        const last = i === plan.steps.length - 1;
        encoder.writeFrame(changed, w, h, {
          palette: i === 0 ? palette : undefined,
          delay: last ? delay + HOLD_END_MS : delay,
          repeat: 0,
          transparent: i > 0,
          transparentIndex: same,
          dispose: 1, // keep the frame: the next one draws over it
        });
        before = index;
        sayProgress("Making the GIF", i / plan.steps.length);
        await sleep(0); // let the page show the progress and take a Cancel
      }
      if (slides.cancelled) {
        say("GIF cancelled.");
        return null;
      }
      encoder.finish();
      const blob = new Blob([encoder.bytes()], { type: "image/gif" });
      const name = "optimizer-race-" + slug(race.surface) + ".gif";
      download(blob, name, { width: w, height: h, frames: plan.steps.length, fps: GIF_FPS, spedUp: plan.spedUp });
      say("GIF saved: " + name + " (" + sizeText(blob.size) + ", " + plan.steps.length + " frames" +
          (plan.spedUp ? ", sped up to fit " + o.maxFrames + " frames" : "") + ").");
      return blob;
    });
  }

  function cancel() {
    if (slides.busy) slides.cancelled = true;
  }

  document.addEventListener("click", (ev) => {
    const btn = ev.target.closest && ev.target.closest("button");
    if (!btn) return;
    if (btn.id === "btn-export-png") exportPng();
    else if (btn.id === "btn-export-video") exportVideo(null, btn);
    else if (btn.id === "btn-export-gif") exportGif(null, btn);
    else if (btn.id === "btn-slides-cancel") cancel();
  });
  // While recording, Esc cancels and the player's keys (Space, arrows, Home, End) are kept from the
  // player, which the recording drives; Space and Enter still press the focused Cancel button.
  const PLAYER_KEYS = [" ", "ArrowLeft", "ArrowRight", "Home", "End"];
  window.addEventListener("keydown", (ev) => {
    if (!slides.busy || slides.busy === "png") return;
    if (ev.key === "Escape") cancel();
    else if (PLAYER_KEYS.indexOf(ev.key) >= 0) ev.stopImmediatePropagation();
  }, true);

  // The page, the tests and anyone scripting exports use this name.
  window.OptimizerRaceSlides = Object.assign(slides, {
    png: exportPng,
    video: exportVideo,
    gif: exportGif,
    cancel: cancel,
    compose: compose,
    frameSteps: frameSteps,
    title: title,
    eta: etaText,
  });
})();
