// Drawing on a canvas: the heatmap of a grid, data points, probes, the loss curve.
// No page state here: every function draws what it is given, so the picture of a
// version depends only on its grid, its sample and the options passed.

// Okabe & Ito's colour-blind-safe palette, class k takes PALETTE[k % 8]; the same
// colours as the .c0-.c7 rules of explorer.css
export const PALETTE = [
  [0x00, 0x72, 0xb2], [0xe6, 0x9f, 0x00], [0x00, 0x9e, 0x73], [0xcc, 0x79, 0xa7],
  [0x56, 0xb4, 0xe9], [0xd5, 0x5e, 0x00], [0xf0, 0xe4, 0x42], [0x00, 0x00, 0x00],
];
export const colourOf = (k) => PALETTE[k % PALETTE.length];
// the unchanged cells of the "changed cells" view
const UNCHANGED = [0xe6, 0xe6, 0xe6];
// a cell's colour is white mixed with its class colour by confidence: from MIN_MIX
// where classes tie to MIN_MIX + SPAN_MIX where the model is sure
const MIN_MIX = 0.2;
const SPAN_MIX = 0.65;

// the canvas's drawing area in CSS pixels (its border left out, as in offsetX)
export const area = (canvas) => ({ width: canvas.clientWidth, height: canvas.clientHeight });

// The canvas's backing store at the screen's pixel density; its 2-D context.
export function sized(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const rect = area(canvas);
  const width = Math.round(rect.width * ratio), height = Math.round(rect.height * ratio);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  return { ctx: canvas.getContext("2d"), width, height };
}

// Grid cell i is drawn over pixels [i, i+1) * width/nx, its centre at the grid's
// x[i]; data coordinates map onto pixels the same way, so a point sits on its cell.
export function pixelMapping(g, width, height) {
  const dx = (g.x_max - g.x_min) / (g.nx - 1), dy = (g.y_max - g.y_min) / (g.ny - 1);
  return (x, y) => [
    ((x - g.x_min) / dx + 0.5) * (width / g.nx),
    height - ((y - g.y_min) / dy + 0.5) * (height / g.ny),
  ];
}

// The inverse, from a CSS offset in the canvas: the data point and its grid cell.
export function dataAt(canvas, g, offsetX, offsetY) {
  const rect = area(canvas);
  const dx = (g.x_max - g.x_min) / (g.nx - 1), dy = (g.y_max - g.y_min) / (g.ny - 1);
  const u = offsetX * g.nx / rect.width, v = (rect.height - offsetY) * g.ny / rect.height;
  return {
    x: g.x_min + (u - 0.5) * dx,
    y: g.y_min + (v - 0.5) * dy,
    i: Math.min(g.nx - 1, Math.max(0, Math.floor(u))),
    j: Math.min(g.ny - 1, Math.max(0, Math.floor(v))),
  };
}

// The grid as one image, a block of pixels a cell: each cell in its class colour,
// shaded by the class's probability; with `changed`, only the changed cells coloured.
export function paintGrid(ctx, g, width, height, changed = null) {
  const cells = new ImageData(g.nx, g.ny);
  const C = g.n_classes;
  const floor = 1 / C;
  for (let j = 0; j < g.ny; j++) {
    const row = g.ny - 1 - j;  // image row 0 is the top, where y is largest
    for (let i = 0; i < g.nx; i++) {
      const k = j * g.nx + i;
      const label = g.labels[k];
      let rgb, mix;
      if (changed) {
        rgb = changed[k] ? colourOf(label) : UNCHANGED;
        mix = 1;
      } else {
        rgb = colourOf(label);
        const p = g.P[k * C + label];
        mix = MIN_MIX + SPAN_MIX * Math.max(0, Math.min(1, (p - floor) / (1 - floor)));
      }
      const o = (row * g.nx + i) * 4;
      cells.data[o] = Math.round(255 + (rgb[0] - 255) * mix);
      cells.data[o + 1] = Math.round(255 + (rgb[1] - 255) * mix);
      cells.data[o + 2] = Math.round(255 + (rgb[2] - 255) * mix);
      cells.data[o + 3] = 255;
    }
  }
  const off = new OffscreenCanvas(g.nx, g.ny);
  off.getContext("2d").putImageData(cells, 0, 0);
  ctx.imageSmoothingEnabled = false;  // crisp cells: a pixel is its cell's colour
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(off, 0, 0, width, height);
}

// Training points filled in their class colour, validation points hollow.
export function drawPoints(ctx, sample, classes, toPixel) {
  const index = new Map(classes.map((c, k) => [JSON.stringify(c), k]));
  const ratio = window.devicePixelRatio || 1;
  ctx.lineWidth = 1.2 * ratio;
  ctx.strokeStyle = "#1b1b1b";
  for (let n = 0; n < sample.points.length; n++) {
    const [px, py] = toPixel(sample.points[n][0], sample.points[n][1]);
    const rgb = colourOf(index.get(JSON.stringify(sample.labels[n])) ?? 0);
    const training = sample.split[n] === "train";
    ctx.beginPath();
    ctx.arc(px, py, 3.4 * ratio, 0, 2 * Math.PI);
    ctx.fillStyle = training ? `rgb(${rgb})` : "#fff";
    ctx.fill();
    if (!training) {
      ctx.lineWidth = 2.2 * ratio;
      ctx.strokeStyle = `rgb(${rgb})`;
      ctx.stroke();
      ctx.lineWidth = 1.2 * ratio;
      ctx.strokeStyle = "#1b1b1b";
      ctx.beginPath();
      ctx.arc(px, py, 4.5 * ratio, 0, 2 * Math.PI);
    }
    ctx.stroke();
  }
}

// A numbered cross per probe, white under black so it shows on every colour.
export function drawProbes(ctx, probes, toPixel) {
  const ratio = window.devicePixelRatio || 1;
  probes.forEach((probe, n) => {
    const [px, py] = toPixel(probe.x, probe.y);
    ctx.lineWidth = 3 * ratio;
    ctx.strokeStyle = "#fff";
    cross(ctx, px, py, 6 * ratio);
    ctx.lineWidth = 1.5 * ratio;
    ctx.strokeStyle = "#000";
    cross(ctx, px, py, 6 * ratio);
    ctx.fillStyle = "#000";
    ctx.font = `${11 * ratio}px system-ui, sans-serif`;
    ctx.fillText(String(n + 1), px + 7 * ratio, py - 5 * ratio);
  });
}

function cross(ctx, x, y, r) {
  ctx.beginPath();
  ctx.moveTo(x - r, y); ctx.lineTo(x + r, y);
  ctx.moveTo(x, y - r); ctx.lineTo(x, y + r);
  ctx.stroke();
}

// The keyboard cursor's cell, outlined.
export function drawCursor(ctx, g, cursor, width, height) {
  const w = width / g.nx, h = height / g.ny;
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 2;
  ctx.strokeRect(cursor.i * w - 3, (g.ny - 1 - cursor.j) * h - 3, w + 6, h + 6);
}

// Loss per epoch of one or two versions: [{version, curve: {epochs, loss}}].
export function drawLossCurves(canvas, curves) {
  const { ctx, width, height } = sized(canvas);
  ctx.clearRect(0, 0, width, height);
  const ratio = window.devicePixelRatio || 1;
  const pad = { l: 52 * ratio, r: 12 * ratio, t: 12 * ratio, b: 30 * ratio };
  const epochs = curves.flatMap(({ curve }) => curve.epochs);
  const losses = curves.flatMap(({ curve }) => curve.loss);
  const e0 = Math.min(...epochs), e1 = Math.max(...epochs, e0 + 1);
  const l0 = Math.min(...losses, 0), l1 = Math.max(...losses) || 1;
  const X = (e) => pad.l + (e - e0) / (e1 - e0) * (width - pad.l - pad.r);
  const Y = (l) => height - pad.b - (l - l0) / (l1 - l0) * (height - pad.t - pad.b);
  ctx.strokeStyle = "#888";
  ctx.lineWidth = ratio;
  ctx.beginPath();
  ctx.moveTo(pad.l, pad.t); ctx.lineTo(pad.l, height - pad.b); ctx.lineTo(width - pad.r, height - pad.b);
  ctx.stroke();
  ctx.fillStyle = "#333";
  ctx.font = `${11 * ratio}px system-ui, sans-serif`;
  ctx.textAlign = "right";
  ctx.fillText(l1.toFixed(3), pad.l - 4 * ratio, pad.t + 8 * ratio);
  ctx.fillText(l0.toFixed(3), pad.l - 4 * ratio, height - pad.b);
  ctx.textAlign = "center";
  ctx.fillText(`epoch ${e0}`, pad.l + 20 * ratio, height - 10 * ratio);
  ctx.fillText(`epoch ${e1}`, width - pad.r - 30 * ratio, height - 10 * ratio);
  const colours = ["#0072b2", "#d55e00"];
  curves.forEach(({ version, curve }, n) => {
    ctx.strokeStyle = colours[n];
    ctx.lineWidth = 2 * ratio;
    ctx.beginPath();
    curve.epochs.forEach((e, k) => (k ? ctx.lineTo(X(e), Y(curve.loss[k])) : ctx.moveTo(X(e), Y(curve.loss[k]))));
    ctx.stroke();
    ctx.fillStyle = colours[n];
    ctx.textAlign = "right";
    ctx.fillText(`v${version}`, width - pad.r, pad.t + (8 + 14 * n) * ratio);
  });
}
