/* Optimizer Race — the map's figure drawn on a canvas, for the seconds before plotly.js is in.
 *
 * The page carries its first race (webapp/first_race.py), and the player starts it as soon as
 * the page is laid out. Until Plotly has drawn the map, the player draws the map's figure with
 * this: the contour image, the axes with Plotly's automatic ticks, the panel titles, the minima
 * and the colour bar, at the pixels Plotly will use (the figure's margins, domains and ranges),
 * so nothing moves when Plotly takes over. Only what the map's figures use (assets/player.js,
 * mapFigure) is drawn: linear axes with fixed ranges, layout images, star markers, paper-placed
 * annotations and a contour trace's colour bar.
 */
(function () {
  "use strict";

  const MINUS = "\u2212"; // Plotly's minus sign in tick labels

  // Plotly's defaults for what the figures leave out.
  function margins(layout) {
    const m = layout.margin || {};
    const pick = (v, d) => (typeof v === "number" ? v : d);
    return { l: pick(m.l, 80), r: pick(m.r, 80), t: pick(m.t, 100), b: pick(m.b, 80) };
  }

  // One axis as Plotly lays it out: its pixel offset and length, its range, pixel → value (from
  // the axis's start) and value → pixel (on the plot).
  function axis(spec, offset, length, flip) {
    const [r0, r1] = spec.range;
    const scale = length / (r1 - r0);
    return {
      _offset: offset,
      _length: length,
      range: [r0, r1],
      type: "linear",
      spec: spec,
      p2c: flip ? (p) => r1 - p / scale : (p) => r0 + p / scale,
      at: flip ? (v) => offset + (r1 - v) * scale : (v) => offset + (v - r0) * scale,
    };
  }

  // The part of Plotly's _fullLayout the player reads (_size, xaxis…, yaxis…), for a figure
  // drawn width × height: its axes at the same pixels as Plotly's.
  function fullLayout(layout, width, height) {
    const m = margins(layout);
    const w = width - m.l - m.r;
    const h = height - m.t - m.b;
    const fl = { _size: { l: m.l, r: m.r, t: m.t, b: m.b, w: w, h: h }, meta: layout.meta };
    if (!(w > 0 && h > 0)) return fl;
    for (let k = 1; ; k++) {
      const sfx = k > 1 ? String(k) : "";
      const xs = layout["xaxis" + sfx];
      const ys = layout["yaxis" + sfx];
      if (!xs || !ys) break;
      const xd = xs.domain || [0, 1];
      const yd = ys.domain || [0, 1];
      fl["xaxis" + sfx] = axis(xs, m.l + xd[0] * w, (xd[1] - xd[0]) * w, false);
      fl["yaxis" + sfx] = axis(ys, m.t + (1 - yd[1]) * h, (yd[1] - yd[0]) * h, true);
    }
    return fl;
  }

  // Plotly's automatic ticks on a linear axis (axes.prepTicks and autoTicks): about one per 80 px
  // across, one per 40 px up, at multiples of 1, 2 or 5 × a power of ten (the first of those
  // above the rough step), from 0.
  function autoTicks(ax, vertical) {
    return ticksFor(ax.range, Math.min(Math.max(ax._length / (vertical ? 40 : 80), 4), 9) + 1);
  }

  // Ticks over `range`, about `nt` of them (Plotly's autoTicks for a linear axis).
  function ticksFor(range, nt) {
    const [r0, r1] = range;
    const rough = Math.abs(r1 - r0) / nt;
    const base = Math.pow(10, Math.floor(Math.log10(rough)));
    const q = rough / base;
    const dtick = base * ([2, 5, 10].find((v) => v > q) || 10);
    const lo = Math.min(r0, r1);
    const hi = Math.max(r0, r1);
    const decimals = Math.max(0, -Math.floor(Math.log10(dtick) + 0.01));
    const ticks = [];
    for (let n = Math.ceil(lo / dtick - 1e-9); n * dtick <= hi + dtick * 1e-9; n++) {
      const v = n * dtick;
      ticks.push({ value: v, text: tickText(v, decimals) });
    }
    return ticks;
  }

  function tickText(v, decimals) {
    const a = Math.abs(v);
    let text = a >= 1e4 && a % 1000 === 0 ? String(a / 1000) + "k" : String(Number(a.toFixed(decimals)));
    if (text === "0") return "0";
    return (v < 0 ? MINUS : "") + text;
  }

  function font(size, weight, family) {
    return (weight ? weight + " " : "") + size + "px " + (family || "system-ui, sans-serif");
  }

  // Plotly's "star" marker of diameter `size` (its symbol's path, scaled by 1.4 as Plotly does).
  function starPath(ctx, x, y, size) {
    const rs = (size / 2) * 1.4;
    const pts = [
      [rs * 0.225, rs * -0.309], [rs * 0.951, rs * -0.309], [rs * 0.363, rs * 0.118], [rs * 0.588, rs * 0.809],
      [0, rs * 0.382], [-rs * 0.588, rs * 0.809], [-rs * 0.363, rs * 0.118], [-rs * 0.951, rs * -0.309],
      [-rs * 0.225, rs * -0.309], [0, -rs],
    ];
    ctx.beginPath();
    pts.forEach(([px, py], i) => (i ? ctx.lineTo(x + px, y + py) : ctx.moveTo(x + px, y + py)));
    ctx.closePath();
  }

  function drawMarkers(ctx, trace, ax) {
    const m = trace.marker || {};
    const open = String(m.symbol).indexOf("open") >= 0;
    trace.x.forEach((vx, i) => {
      starPath(ctx, ax.x(vx), ax.y(trace.y[i]), m.size || 6);
      if (!open) {
        ctx.fillStyle = m.color;
        ctx.fill();
      }
      ctx.lineWidth = open ? 2 : (m.line && m.line.width) || 1;
      ctx.strokeStyle = open ? m.color : (m.line && m.line.color) || "#000";
      ctx.stroke();
    });
  }

  function drawAxis(ctx, ax, other, vertical, fontSpec, color) {
    const spec = ax.spec;
    if (spec.showline) {
      ctx.strokeStyle = spec.linecolor || "#444";
      ctx.lineWidth = 1;
      const x0 = Math.round(other._offset) + 0.5;
      const y0 = Math.round(ax._offset) + 0.5;
      if (vertical) ctx.strokeRect(x0, y0, Math.round(other._length), Math.round(ax._length));
    }
    if (!spec.showticklabels) return;
    const size = (spec.tickfont && spec.tickfont.size) || fontSpec.size;
    const len = spec.ticks === "outside" ? spec.ticklen || 5 : 0;
    ctx.font = font(size, "", fontSpec.family);
    ctx.fillStyle = color;
    ctx.strokeStyle = spec.linecolor || "#444";
    ctx.lineWidth = 1;
    const ticks = autoTicks(ax, vertical);
    let widest = 0;
    ticks.forEach((t) => {
      if (vertical) {
        const y = ax.at(t.value);
        const x = other._offset;
        ctx.beginPath();
        ctx.moveTo(x, Math.round(y) + 0.5);
        ctx.lineTo(x - len, Math.round(y) + 0.5);
        ctx.stroke();
        ctx.textAlign = "right";
        ctx.textBaseline = "middle";
        ctx.fillText(t.text, x - len - 2, y);
        widest = Math.max(widest, ctx.measureText(t.text).width);
      } else {
        const x = ax.at(t.value);
        const y = other._offset + other._length;
        ctx.beginPath();
        ctx.moveTo(Math.round(x) + 0.5, y);
        ctx.lineTo(Math.round(x) + 0.5, y + len);
        ctx.stroke();
        ctx.textAlign = "center";
        ctx.textBaseline = "top";
        ctx.fillText(t.text, x, y + len + 2);
      }
    });
    const title = spec.title && spec.title.text;
    if (!title) return;
    const tsize = (spec.title.font && spec.title.font.size) || fontSpec.size;
    ctx.font = font(tsize, "", fontSpec.family);
    ctx.textAlign = "center";
    if (vertical) {
      ctx.save();
      ctx.translate(other._offset - len - 4 - widest - (spec.title.standoff || 0), ax._offset + ax._length / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textBaseline = "bottom";
      ctx.fillText(title, 0, 0);
      ctx.restore();
    } else {
      ctx.textBaseline = "top";
      ctx.fillText(title, ax._offset + ax._length / 2, other._offset + other._length + len + 4 + size + (spec.title.standoff || 0));
    }
  }

  // A panel title as the figures write it: '<span style="color:C">■</span> <b>Name</b>', or
  // plain text.
  function drawAnnotation(ctx, a, fl, fontSpec) {
    const s = fl._size;
    const x = s.l + a.x * s.w;
    const y = s.t + (1 - a.y) * s.h;
    const size = (a.font && a.font.size) || fontSpec.size;
    const color = (a.font && a.font.color) || fontSpec.color;
    const swatch = /^<span style="color:([^"]+)">([^<]*)<\/span>\s*<b>([^<]*)<\/b>$/.exec(a.text);
    const parts = swatch ? [[swatch[2] + " ", swatch[1], ""], [swatch[3], color, "bold"]]
      : [[a.text.replace(/<[^>]*>/g, ""), color, ""]];
    const widths = parts.map(([text, , weight]) => {
      ctx.font = font(size, weight, fontSpec.family);
      return ctx.measureText(text).width;
    });
    const total = widths.reduce((p, q) => p + q, 0);
    let left = a.xanchor === "center" ? x - total / 2 : a.xanchor === "right" ? x - total : x;
    ctx.textAlign = "left";
    ctx.textBaseline = a.yanchor === "bottom" ? "bottom" : "middle";
    parts.forEach(([text, c, weight], i) => {
      ctx.font = font(size, weight, fontSpec.family);
      ctx.fillStyle = c;
      ctx.fillText(text, left, a.yanchor === "bottom" ? y - 2 : y);
      left += widths[i];
    });
  }

  // A contour trace's colour bar, right of the plot (Plotly's default place: x = 1.02).
  function drawColorbar(ctx, trace, fl, fontSpec, colorAt) {
    const s = fl._size;
    const cb = trace.colorbar || {};
    const c = trace.contours;
    const thickness = cb.thickness || 30;
    const len = (cb.len || 1) * s.h - 20;
    const x0 = s.l + 1.02 * s.w + 10;
    const y0 = s.t + (s.h - len) / 2;
    const count = Math.floor((c.end + c.size / 1e6 - c.start) / c.size) + 1;
    const lo = c.start - c.size / 2;
    const hi = c.end + c.size / 2;
    const py = (v) => y0 + (hi - v) * (len / (hi - lo));
    for (let k = -1; k < count; k++) {
      const top = py(Math.min(hi, c.start + (k + 1) * c.size));
      const bottom = py(Math.max(lo, c.start + k * c.size));
      ctx.fillStyle = "rgb(" + colorAt((k + 1) / count).join(",") + ")";
      ctx.fillRect(x0, top, thickness, bottom - top);
    }
    ctx.strokeStyle = "#444";
    ctx.lineWidth = 1;
    ctx.strokeRect(Math.round(x0) + 0.5, Math.round(y0) + 0.5, thickness, Math.round(len));
    ctx.font = font(fontSpec.size, "", fontSpec.family);
    ctx.fillStyle = fontSpec.color;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    let widest = 0;
    (cb.tickvals || []).forEach((v, i) => {
      const text = String((cb.ticktext || [])[i] || v);
      ctx.fillText(text, x0 + thickness + 3, py(v));
      widest = Math.max(widest, ctx.measureText(text).width);
    });
    const title = cb.title && cb.title.text ? cb.title.text.replace(/<sub>(.*?)<\/sub>/g, "$1") : "";
    if (title) {
      ctx.save();
      ctx.translate(x0 + thickness + 3 + widest + 6, y0 + len / 2);
      ctx.rotate(Math.PI / 2);
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillText(title, 0, 0);
      ctx.restore();
    }
  }

  // The figure's static parts on ctx (CSS pixels): per subplot the background, the layout
  // images below it (`image(source)`: a canvas or image to draw for that source), the axes and
  // the markers; then the annotations and the colour bar (`colorAt(s)`: [r, g, b] of the
  // colour scale at s in [0, 1]).
  function draw(ctx, figure, fl, image, colorAt) {
    const layout = figure.layout;
    const f = layout.font || {};
    const fontSpec = { size: f.size || 12, family: f.family, color: f.color || "#444" };
    for (let k = 1; ; k++) {
      const sfx = k > 1 ? String(k) : "";
      const xa = fl["xaxis" + sfx];
      const ya = fl["yaxis" + sfx];
      if (!xa || !ya) break;
      const ax = { x: xa.at, y: ya.at };
      ctx.save();
      ctx.beginPath();
      ctx.rect(xa._offset, ya._offset, xa._length, ya._length);
      ctx.clip();
      ctx.fillStyle = layout.plot_bgcolor || "#fff";
      ctx.fillRect(xa._offset, ya._offset, xa._length, ya._length);
      (layout.images || []).filter((im) => im.xref === "x" + sfx).forEach((im) => {
        const source = image(im.source);
        if (!source) return;
        const left = ax.x(im.x);
        const top = ax.y(im.y);
        ctx.drawImage(source, left, top, ax.x(im.x + im.sizex) - left, ax.y(im.y - im.sizey) - top);
      });
      figure.data.filter((t) => t.type === "scatter" && (t.xaxis || "x") === "x" + sfx)
        .forEach((t) => drawMarkers(ctx, t, ax));
      ctx.restore();
      drawAxis(ctx, ya, xa, true, fontSpec, fontSpec.color);
      drawAxis(ctx, xa, ya, false, fontSpec, fontSpec.color);
    }
    (layout.annotations || []).forEach((a) => drawAnnotation(ctx, a, fl, fontSpec));
    figure.data.filter((t) => t.type === "contour" && t.showscale)
      .forEach((t) => drawColorbar(ctx, t, fl, fontSpec, colorAt));
  }

  // ---- the 3-D view: a surface trace in a scene, drawn as Plotly's gl3d would frame it ----------
  // Plotly's scene (gl-plot3d) for an unrotated camera: each axis scaled to a span of 1
  // (dataScale), the box a cube of side 1 + 1/16 around the data's centre, the model matrix
  // taking that cube to the aspect ratios, a look-at view from the camera's eye, and a
  // perspective of 45° (near 0.01, far 1000).
  function lookAt(eye, center, up) {
    const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    const norm = (a) => {
      const l = Math.hypot(a[0], a[1], a[2]) || 1;
      return [a[0] / l, a[1] / l, a[2] / l];
    };
    const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    const z = norm(sub(eye, center));
    const x = norm(cross(up, z));
    const y = cross(z, x);
    // column-major, as gl-matrix keeps it
    return [x[0], y[0], z[0], 0, x[1], y[1], z[1], 0, x[2], y[2], z[2], 0, -dot(x, eye), -dot(y, eye), -dot(z, eye), 1];
  }

  function sceneOf(figure, width, height) {
    const trace = figure.data[0];
    const sc = figure.layout.scene;
    const spans = [[Infinity, -Infinity], [Infinity, -Infinity], [Infinity, -Infinity]];
    const grow = (k, v) => {
      if (v === null || !isFinite(v)) return;
      if (v < spans[k][0]) spans[k][0] = v;
      if (v > spans[k][1]) spans[k][1] = v;
    };
    trace.x.forEach((v) => grow(0, v));
    trace.y.forEach((v) => grow(1, v));
    trace.z.forEach((row) => row.forEach((v) => grow(2, v)));
    const aspect = [sc.aspectratio.x, sc.aspectratio.y, sc.aspectratio.z];
    const dataScale = spans.map(([lo, hi]) => 1 / ((hi - lo) || 1));
    const centre = spans.map(([lo, hi], k) => ((lo + hi) / 2) * dataScale[k]);
    const half = (Math.max(...spans.map(([lo, hi], k) => (hi - lo) * dataScale[k])) / 2) * (1 + 1 / 16);
    const model = [aspect[0] / (2 * half), 0, 0, 0, 0, aspect[1] / (2 * half), 0, 0, 0, 0, aspect[2] / (2 * half), 0,
                   -centre[0] * aspect[0] / (2 * half), -centre[1] * aspect[1] / (2 * half),
                   -centre[2] * aspect[2] / (2 * half), 1];
    const cam = sc.camera;
    const view = lookAt([cam.eye.x, cam.eye.y, cam.eye.z], [0, 0, 0], [0, 0, 1]);
    const f = 1 / Math.tan(Math.PI / 8);
    const near = 0.01;
    const far = 1000;
    const projection = [f / (width / height), 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) / (near - far), -1,
                        0, 0, (2 * far * near) / (near - far), 0];
    // the box: the cube in data units (each axis's ticks and grid span it)
    const box = centre.map((c, k) => [(c - half) / dataScale[k], (c + half) / dataScale[k]]);
    return {
      spans: box,
      dataSpans: spans, // (the surface is coloured over its own z range)
      _scene: { dataScale: dataScale, glplot: { cameraParams: { model: model, view: view, projection: projection } } },
      domain: { x: [0, 1], y: [0, 1] },
    };
  }

  // The surface seen through `project` (x, y, z → pixels; false behind the camera), as shaded
  // quads from the farthest to the nearest, coloured by z on the trace's colour scale.
  function drawSurface(ctx, trace, scene, project, colorAt) {
    const { x: xs, y: ys, z: zs } = trace;
    const [zlo, zhi] = scene.dataSpans[2];
    const step = Math.max(1, Math.floor(Math.max(xs.length, ys.length) / 64)); // about 64 × 64 quads
    const m = scene._scene.glplot.cameraParams;
    const ds = scene._scene.dataScale;
    const quads = [];
    const p = [0, 0];
    for (let r = 0; r + step < ys.length; r += step) {
      for (let c = 0; c + step < xs.length; c += step) {
        const corners = [[c, r], [c + step, r], [c + step, r + step], [c, r + step]];
        const pts = [];
        let z = 0;
        let ok = true;
        for (const [cc, rr] of corners) {
          const v = zs[rr][cc];
          if (v === null || !project(xs[cc], ys[rr], v, p)) {
            ok = false;
            break;
          }
          pts.push(p[0], p[1]);
          z += v;
        }
        if (!ok) continue;
        z /= 4;
        // depth: the quad's centre in view space (larger is nearer the camera)
        const X = ((xs[c] + xs[c + step]) / 2) * ds[0];
        const Y = ((ys[r] + ys[r + step]) / 2) * ds[1];
        const Z = z * ds[2];
        const mx = m.model[0] * X + m.model[12];
        const my = m.model[5] * Y + m.model[13];
        const mz = m.model[10] * Z + m.model[14];
        const depth = m.view[2] * mx + m.view[6] * my + m.view[10] * mz + m.view[14];
        // a little light from the camera's side: slopes facing it brighter, as Plotly shades
        const dzdx = (zs[r][c + step] - zs[r][c]) * ds[2] / ((xs[c + step] - xs[c]) * ds[0]);
        const dzdy = (zs[r + step][c] - zs[r][c]) * ds[2] / ((ys[r + step] - ys[r]) * ds[1]);
        const shade = 1 / Math.sqrt(1 + dzdx * dzdx + dzdy * dzdy);
        quads.push([depth, pts, (z - zlo) / ((zhi - zlo) || 1), shade]);
      }
    }
    quads.sort((a, b) => a[0] - b[0]);
    ctx.globalAlpha = trace.opacity || 1;
    for (const [, pts, t, shade] of quads) {
      ctx.beginPath();
      ctx.moveTo(pts[0], pts[1]);
      ctx.lineTo(pts[2], pts[3]);
      ctx.lineTo(pts[4], pts[5]);
      ctx.lineTo(pts[6], pts[7]);
      ctx.closePath();
      const k = 0.82 + 0.18 * shade;
      ctx.fillStyle = "rgb(" + colorAt(t).map((v) => Math.round(v * k)).join(",") + ")";
      ctx.fill();
      ctx.strokeStyle = ctx.fillStyle; // no seams between quads
      ctx.lineWidth = 0.6;
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }

  // The box's grid on its three far faces, and each axis's tick labels and title along a near
  // edge: Plotly's look, not its exact placement (Plotly's own scene replaces this in a second).
  function drawSceneAxes(ctx, figure, scene, project, fontSpec) {
    const sc = figure.layout.scene;
    const spans = scene.spans;
    const p = [0, 0];
    const q = [0, 0];
    const at = (k, v, base) => {
      const out = base.slice();
      out[k] = v;
      return out;
    };
    const eye = [sc.camera.eye.x, sc.camera.eye.y, sc.camera.eye.z];
    // the far side of each axis: the bound away from the eye
    const far = spans.map(([lo, hi], k) => (eye[k] > 0 ? lo : hi));
    const near = spans.map(([lo, hi], k) => (eye[k] > 0 ? hi : lo));
    // gl3d's ticks: about nine over each side of the box (its axes are long: over 360 px)
    const ticks = spans.map((range) => ticksFor(range, 9));
    const line = (a, b, color, width) => {
      if (!project(a[0], a[1], a[2], p) || !project(b[0], b[1], b[2], q)) return;
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
      ctx.lineTo(q[0], q[1]);
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.stroke();
    };
    // grid lines: for each axis k, across the two far faces that contain it
    for (let k = 0; k < 3; k++) {
      for (const t of ticks[k]) {
        for (let j = 0; j < 3; j++) {
          if (j === k) continue;
          const other = 3 - k - j; // the face at far[other], the line along axis j
          const a = at(k, t.value, far.slice());
          a[other] = far[other];
          a[j] = spans[j][0];
          const b = a.slice();
          b[j] = spans[j][1];
          line(a, b, "rgb(204,204,204)", 1);
        }
      }
    }
    ctx.font = fontSpec.size + "px " + (fontSpec.family || "system-ui, sans-serif");
    ctx.fillStyle = fontSpec.color;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    const titles = [sc.xaxis, sc.yaxis, sc.zaxis].map((a) => (a.title && a.title.text) || "");
    for (let k = 0; k < 3; k++) {
      // the edge along axis k at the near bound of the next axis and the far bound of the last
      // (x and y on the floor, z up a near corner)
      const base = far.slice();
      if (k < 2) {
        base[1 - k] = near[1 - k];
        base[2] = spans[2][0];
      } else {
        base[0] = near[0];
        base[1] = far[1];
      }
      const away = k < 2 ? at(1 - k, near[1 - k] + (near[1 - k] - far[1 - k]) * 0.12, base) : at(0, near[0] + (near[0] - far[0]) * 0.08, base);
      for (const t of ticks[k]) {
        if (project(...at(k, t.value, away), p)) ctx.fillText(t.text, p[0], p[1]);
      }
      const mid = (spans[k][0] + spans[k][1]) / 2;
      const titleAt = k < 2 ? at(1 - k, near[1 - k] + (near[1 - k] - far[1 - k]) * 0.3, at(k, mid, base))
        : at(0, near[0] + (near[0] - far[0]) * 0.25, at(k, mid, base));
      if (!titles[k] || !project(...titleAt, p)) continue;
      if (k < 2) {
        ctx.fillText(titles[k], p[0], p[1]);
        continue;
      }
      ctx.save(); // z's title along its axis, as Plotly writes it
      ctx.translate(p[0], p[1]);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(titles[k], 0, 0);
      ctx.restore();
    }
  }

  // The 3-D figure's static parts: the scene's grid and labels, then the surface, seen through
  // `project` (the player's, for this scene: data → pixels).
  function draw3d(ctx, figure, fl, project, colorAt) {
    const f = figure.layout.font || {};
    const fontSpec = { size: f.size || 12, family: f.family, color: f.color || "#444" };
    drawSceneAxes(ctx, figure, fl.scene, project, fontSpec);
    drawSurface(ctx, figure.data[0], fl.scene, project, colorAt);
  }

  // A figure's layout for either view: a 3-D figure's scene as Plotly would set it up.
  function layoutOf(figure, width, height) {
    if (!figure.layout.scene) return fullLayout(figure.layout, width, height);
    const m = margins(figure.layout);
    return { _size: { l: m.l, r: m.r, t: m.t, b: m.b, w: width - m.l - m.r, h: height - m.t - m.b },
             meta: figure.layout.meta, scene: sceneOf(figure, width - m.l - m.r, height - m.t - m.b) };
  }

  window.OptimizerRaceMapFrame = { fullLayout: fullLayout, layoutOf: layoutOf, autoTicks: autoTicks,
                                   ticksFor: ticksFor, draw: draw, draw3d: draw3d };
})();
