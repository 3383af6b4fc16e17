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

  // One axis as Plotly lays it out: its pixel offset and length, its range, and pixel → value.
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
    const nt = Math.min(Math.max(ax._length / (vertical ? 40 : 80), 4), 9) + 1;
    const [r0, r1] = ax.range;
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
        const y = ax._offset + (ax.range[1] - t.value) * (ax._length / (ax.range[1] - ax.range[0]));
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
        const x = ax._offset + (t.value - ax.range[0]) * (ax._length / (ax.range[1] - ax.range[0]));
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
  function drawColorbar(ctx, trace, fl, fontSpec, bandColor) {
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
      ctx.fillStyle = bandColor((k + 1) / count);
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
  // the markers; then the annotations and the colour bar (`bandColor(s)`, s in [0, 1]).
  function draw(ctx, figure, fl, image, bandColor) {
    const layout = figure.layout;
    const f = layout.font || {};
    const fontSpec = { size: f.size || 12, family: f.family, color: f.color || "#444" };
    for (let k = 1; ; k++) {
      const sfx = k > 1 ? String(k) : "";
      const xa = fl["xaxis" + sfx];
      const ya = fl["yaxis" + sfx];
      if (!xa || !ya) break;
      const ax = {
        x: (v) => xa._offset + (v - xa.range[0]) * (xa._length / (xa.range[1] - xa.range[0])),
        y: (v) => ya._offset + (ya.range[1] - v) * (ya._length / (ya.range[1] - ya.range[0])),
      };
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
      .forEach((t) => drawColorbar(ctx, t, fl, fontSpec, bandColor));
  }

  window.OptimizerRaceMapFrame = { fullLayout: fullLayout, autoTicks: autoTicks, draw: draw };
})();
