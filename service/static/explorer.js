// The decision-boundary explorer: what a version decides over the plane, drawn from
// the service's own API (/models, /boundary, /predict, the version's data sample).
// One module, no dependencies, no build step; it talks to this origin only.

// Okabe & Ito's colour-blind-safe palette, class k takes PALETTE[k % 8]; the same
// colours as the .c0-.c7 rules of explorer.css
const PALETTE = [
  [0x00, 0x72, 0xb2], [0xe6, 0x9f, 0x00], [0x00, 0x9e, 0x73], [0xcc, 0x79, 0xa7],
  [0x56, 0xb4, 0xe9], [0xd5, 0x5e, 0x00], [0xf0, 0xe4, 0x42], [0x00, 0x00, 0x00],
];
// the unchanged cells of the "changed cells" view
const UNCHANGED = [0xe6, 0xe6, 0xe6];
// a cell's colour is white mixed with its class colour by confidence: from MIN_MIX
// where classes tie to MIN_MIX + SPAN_MIX where the model is sure
const MIN_MIX = 0.2;
const SPAN_MIX = 0.65;
// the grid is sized to the canvas: a cell per GRID_PIXELS CSS pixels, at most MAX_SIDE
const GRID_PIXELS = 2;
const MAX_SIDE = 200;
// the service's default margin around the training data's extent (service.boundary)
const MARGIN = 0.5;
const TOKEN_KEY = "scratchnet.token";
const SAMPLE_FILE = "data_sample.json";

const $ = (id) => document.getElementById(id);

const state = {
  models: [],        // GET /models .models
  model: null,       // its entry
  a: null,           // the shown version's bundle (see loadVersion)
  b: null,           // the compared version's bundle, or null
  probes: [],        // [{x, y, a: prediction, b: prediction}]
  cursor: null,      // keyboard cursor cell {i, j} on view A
  hasDiffRoute: false,
  generation: 0,     // drops answers of a selection since replaced
};

// ---------------------------------------------------------------- API -------------

class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, init = {}) {
  const headers = new Headers(init.headers || {});
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...init, headers, cache: "no-store" });
  if (response.ok) return response;
  let code = "http_error";
  let message = `${response.status} ${response.statusText}`;
  try {
    const error = (await response.json()).error;
    code = error.code || code;
    message = error.message || message;
  } catch (_) { /* not the API's JSON: keep the status line */ }
  if (response.status === 401) askForToken(message);
  throw new ApiFailure(response.status, code, message);
}

const getJson = async (path) => (await api(path)).json();
const getNpy = async (path) => parseNpy(await (await api(path)).arrayBuffer());

function modelQuery(name, version) {
  return `model=${encodeURIComponent(name)}&version=${encodeURIComponent(version)}`;
}

// A .npy file (format 1.0-3.0, C order) as {shape, data}: uint8, uint16 or float32.
function parseNpy(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(1, 6));
  if (bytes[0] !== 0x93 || magic !== "NUMPY") throw new Error("not a .npy file");
  const view = new DataView(buffer);
  const major = bytes[6];
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder("latin1").decode(bytes.subarray(start, start + headerLength));
  if (/'fortran_order':\s*True/.test(header)) throw new Error("Fortran-ordered .npy");
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1]
    .split(",").filter((s) => s.trim()).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  const types = { "|u1": Uint8Array, "<u2": Uint16Array, "<f4": Float32Array };
  const Type = types[descr];
  if (!Type) throw new Error(`unexpected .npy dtype ${descr}`);
  // a typed array over the buffer needs an aligned offset; numpy pads to 64 bytes
  const data = offset % Type.BYTES_PER_ELEMENT === 0
    ? new Type(buffer, offset, count)
    : new Type(buffer.slice(offset, offset + count * Type.BYTES_PER_ELEMENT));
  return { shape, data };
}

// ---------------------------------------------------------------- token -----------

function askForToken(message) {
  $("token-reason").textContent = sessionStorage.getItem(TOKEN_KEY)
    ? `The token was refused: ${message}`
    : "This service needs a bearer token (SCRATCHNET_API_TOKENS_FILE is set).";
  $("token-form").hidden = false;
  $("token").focus();
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  $("token-form").hidden = true;
  start();
});

// ---------------------------------------------------------------- selection -------

async function start() {
  setStatus("loading", "Loading models…");
  try {
    const [listing, openapi] = await Promise.all([
      getJson("/models"),
      getJson("/openapi.json"),
    ]);
    state.hasDiffRoute = "/boundary/diff" in (openapi.paths || {});
    state.models = listing.models.filter((m) => m.versions.length > 0);
    if (!state.models.length) {
      setStatus("error", "The registry has no published model yet.");
      return;
    }
    const wanted = new URLSearchParams(location.hash.slice(1));
    const name = wanted.get("model") || listing.default_model;
    fillSelect($("model"), state.models.map((m) => [m.name, m.name]),
      state.models.some((m) => m.name === name) ? name : state.models[0].name);
    await chooseModel(wanted.get("version"), wanted.get("compare"));
  } catch (error) {
    fail(error);
  }
}

async function chooseModel(version = null, compare = null) {
  state.model = state.models.find((m) => m.name === $("model").value);
  const model = state.model;
  const failed = new Set((model.failed_versions || []).map((f) => f.version));
  const options = [...model.versions].reverse().map((v) => [String(v), versionLabel(model, v, failed)]);
  const served = String(model.served_version ?? model.versions.at(-1));
  fillSelect($("version"), options, options.some(([v]) => v === version) ? version : served);
  // compare with: any version; by default the newest one not shown
  const other = model.versions.filter((v) => String(v) !== $("version").value && !failed.has(v));
  fillSelect($("version-b"), options,
    compare && other.map(String).includes(compare) ? compare : String(other.at(-1) ?? ""));
  for (const select of [$("version"), $("version-b")]) {
    for (const option of select.options) option.disabled = failed.has(Number(option.value));
  }
  $("compare").disabled = other.length === 0;
  if (compare && other.length) $("compare").checked = true;
  if (!other.length) $("compare").checked = false;
  state.probes = [];
  renderProbes();
  await show();
}

function versionLabel(model, version, failed) {
  const names = Object.entries(model.aliases || {})
    .filter(([, v]) => v === version).map(([alias]) => alias);
  if (version === model.served_version && !names.includes("production")) names.push("served");
  if (failed.has(version)) names.push("fails verification");
  return names.length ? `v${version} (${names.join(", ")})` : `v${version}`;
}

function fillSelect(select, options, value) {
  select.replaceChildren(...options.map(([v, text]) => new Option(text, v, false, v === value)));
  if (value !== null) select.value = value;
}

// ---------------------------------------------------------------- loading ---------

// Everything drawn for one version: manifest, grid (labels + probabilities), sample.
async function loadVersion(name, version, bounds, size) {
  const manifest = await getJson(`/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`);
  const bundle = { name, version: manifest.version, manifest, grid: null, sample: null };
  if (manifest.architecture.n_features !== 2) return bundle;
  const box = bounds || extent([manifest]);
  const grid = `${modelQuery(name, version)}&x_min=${box.x_min}&x_max=${box.x_max}` +
    `&y_min=${box.y_min}&y_max=${box.y_max}&nx=${size.nx}&ny=${size.ny}&format=npy`;
  const wantSample = SAMPLE_FILE in (manifest.files || {});
  const [labels, probabilities, sample] = await Promise.all([
    getNpy(`/boundary?${grid}`),
    getNpy(`/boundary?${grid}&values=probabilities`),
    wantSample ? getJson(`/models/${encodeURIComponent(name)}/versions/${manifest.version}/data`) : null,
  ]);
  bundle.arrived = performance.now();
  bundle.grid = { ...box, nx: size.nx, ny: size.ny, labels: labels.data, P: probabilities.data,
    n_classes: probabilities.shape[2] };
  bundle.sample = sample;
  return bundle;
}

// The grid's bounds: the training data's extent plus the service's margin, over every
// version shown, so that two versions are compared cell for cell.
function extent(manifests) {
  const lows = manifests.map((m) => m.data.feature_min);
  const highs = manifests.map((m) => m.data.feature_max);
  return {
    x_min: Math.min(...lows.map((l) => l[0])) - MARGIN,
    x_max: Math.max(...highs.map((h) => h[0])) + MARGIN,
    y_min: Math.min(...lows.map((l) => l[1])) - MARGIN,
    y_max: Math.max(...highs.map((h) => h[1])) + MARGIN,
  };
}

// the canvas's drawing area in CSS pixels (its border left out, as in offsetX)
const area = (canvas) => ({ width: canvas.clientWidth, height: canvas.clientHeight });

function gridSize(canvas) {
  const { width, height } = area(canvas);
  return {
    nx: Math.max(2, Math.min(MAX_SIDE, Math.round(width / GRID_PIXELS))),
    ny: Math.max(2, Math.min(MAX_SIDE, Math.round(height / GRID_PIXELS))),
  };
}

async function show() {
  const generation = ++state.generation;
  const name = state.model.name;
  const versionA = $("version").value;
  const comparing = $("compare").checked && $("version-b").value !== "";
  const versionB = comparing ? $("version-b").value : null;
  $("version-b").disabled = !$("compare").checked;
  $("compare-mode").disabled = !comparing;
  writeHash(name, versionA, versionB);
  setStatus("loading", `Loading ${name} v${versionA}${comparing ? ` and v${versionB}` : ""}…`);
  try {
    const size = gridSize($("canvas-a"));
    let a, b = null;
    if (comparing) {
      // both manifests first: the grid covers the union of their extents
      const manifests = await Promise.all([versionA, versionB].map((v) =>
        getJson(`/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(v)}`)));
      const twoD = manifests.every((m) => m.architecture.n_features === 2);
      const box = twoD ? extent(manifests) : null;
      [a, b] = await Promise.all([versionA, versionB].map((v) => loadVersion(name, v, box, size)));
      if (twoD) b.diff = await changedCells(a, b);
    } else {
      a = await loadVersion(name, versionA, null, size);
    }
    if (generation !== state.generation) return;  // the user chose again meanwhile
    state.a = a;
    state.b = b;
    state.cursor = null;
    await repredictProbes();
    draw();
    setStatus("ready", `${name} v${a.version}${b ? ` compared with v${b.version}` : ""}`);
  } catch (error) {
    if (generation === state.generation) fail(error);
  }
}

// Which cells change class between a and b: from /boundary/diff where the service has
// it, else from the two label grids (the same grid, so cell for cell).
async function changedCells(a, b) {
  const g = a.grid;
  if (state.hasDiffRoute) {
    const query = `model=${encodeURIComponent(a.name)}&a=${a.version}&b=${b.version}` +
      `&x_min=${g.x_min}&x_max=${g.x_max}&y_min=${g.y_min}&y_max=${g.y_max}` +
      `&nx=${g.nx}&ny=${g.ny}&format=json`;
    const diff = await getJson(`/boundary/diff?${query}`);
    const changed = Uint8Array.from(diff.changed.flat());
    return { changed, count: changed.reduce((s, v) => s + v, 0), fraction: diff.changed_fraction, source: "/boundary/diff" };
  }
  const changed = new Uint8Array(g.labels.length);
  let count = 0;
  for (let k = 0; k < changed.length; k++) {
    if (a.grid.labels[k] !== b.grid.labels[k]) { changed[k] = 1; count++; }
  }
  return { changed, count, fraction: count / changed.length, source: "the two grids" };
}

function writeHash(name, version, compare) {
  const params = new URLSearchParams({ model: name, version });
  if (compare) params.set("compare", compare);
  history.replaceState(null, "", `#${params}`);
}

// ---------------------------------------------------------------- drawing ---------

function draw() {
  const a = state.a;
  const twoD = a.grid !== null && (!state.b || state.b.grid !== null);
  const nFeatures = a.manifest.architecture.n_features;
  $("notice").hidden = twoD;
  $("views").hidden = !twoD;
  $("show-points").disabled = !twoD;
  $("readout-section").hidden = !twoD;
  $("probes-section").hidden = !twoD;
  if (!twoD) {
    const other = state.b && state.b.grid === null ? state.b : a;
    $("notice").textContent = `${other.name} v${other.version} takes ${other.manifest.architecture.n_features} ` +
      `feature${other.manifest.architecture.n_features === 1 ? "" : "s"}: a 2-D decision-boundary view needs a model ` +
      "with exactly 2 features. Its metrics and loss curve are below; /predict still answers for it.";
  }
  const changesMode = state.b && state.b.diff && document.querySelector("#mode-changes").checked;
  $("view-b").hidden = !state.b || !twoD;
  if (twoD) {
    paint($("canvas-a"), a, null);
    $("caption-a").textContent = caption(a);
    if (state.b) {
      paint($("canvas-b"), state.b, changesMode ? state.b.diff : null);
      $("caption-b").textContent = changesMode
        ? `Cells where v${state.b.version} assigns another class than v${a.version}, in v${state.b.version}'s colour`
        : caption(state.b);
    }
  }
  drawLegend(a, changesMode);
  drawChanged();
  drawMetrics();
  drawLoss();
}

function caption(bundle) {
  const aliases = Object.entries(state.model.aliases || {})
    .filter(([, v]) => v === bundle.version).map(([alias]) => alias);
  const arch = bundle.manifest.architecture;
  const shape = bundle.manifest.kind === "logreg" ? "logistic regression"
    : `hidden ${arch.hidden_layer_sizes.join(",")} ${arch.activation}`;
  return `${bundle.name} v${bundle.version}${aliases.length ? ` (${aliases.join(", ")})` : ""}: ${shape}`;
}

// The heatmap (one grid cell a block of pixels), the data points, the probes.
function paint(canvas, bundle, diff) {
  const started = performance.now();
  const g = bundle.grid;
  const { ctx, width, height } = sized(canvas);
  const cells = new ImageData(g.nx, g.ny);
  const C = g.n_classes;
  const floor = 1 / C;
  for (let j = 0; j < g.ny; j++) {
    const row = g.ny - 1 - j;  // image row 0 is the top, where y is largest
    for (let i = 0; i < g.nx; i++) {
      const k = j * g.nx + i;
      const label = g.labels[k];
      let rgb, mix;
      if (diff) {
        rgb = diff.changed[k] ? PALETTE[label % PALETTE.length] : UNCHANGED;
        mix = 1;
      } else {
        rgb = PALETTE[label % PALETTE.length];
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
  const toPixel = pixelMapping(g, width, height);
  if ($("show-points").checked && bundle.sample) drawPoints(ctx, bundle, toPixel);
  drawProbes(ctx, toPixel);
  if (canvas.id === "canvas-a" && state.cursor) {
    const w = width / g.nx, h = height / g.ny;
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    ctx.strokeRect(state.cursor.i * w - 3, (g.ny - 1 - state.cursor.j) * h - 3, w + 6, h + 6);
  }
  // what the tests read: the grid this picture shows, and how long it took
  Object.assign(canvas.dataset, {
    model: bundle.name, version: bundle.version, nx: g.nx, ny: g.ny,
    xMin: g.x_min, xMax: g.x_max, yMin: g.y_min, yMax: g.y_max,
    mode: diff ? "changes" : "probabilities",
    drawMs: (performance.now() - started).toFixed(2),
  });
  if (bundle.arrived) {
    const arrived = bundle.arrived;
    bundle.arrived = null;
    // first paint: from the data's arrival to the frame that shows it
    requestAnimationFrame(() => { canvas.dataset.paintMs = (performance.now() - arrived).toFixed(2); });
  }
}

function sized(canvas) {
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
function pixelMapping(g, width, height) {
  const dx = (g.x_max - g.x_min) / (g.nx - 1), dy = (g.y_max - g.y_min) / (g.ny - 1);
  return (x, y) => [
    ((x - g.x_min) / dx + 0.5) * (width / g.nx),
    height - ((y - g.y_min) / dy + 0.5) * (height / g.ny),
  ];
}

function dataAt(canvas, offsetX, offsetY) {
  const g = gridOf(canvas);
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

function gridOf(canvas) {
  return (canvas.id === "canvas-b" ? state.b : state.a).grid;
}

function drawPoints(ctx, bundle, toPixel) {
  const s = bundle.sample;
  const index = new Map(bundle.manifest.architecture.classes.map((c, k) => [JSON.stringify(c), k]));
  const ratio = window.devicePixelRatio || 1;
  ctx.lineWidth = 1.2 * ratio;
  ctx.strokeStyle = "#1b1b1b";
  for (let n = 0; n < s.points.length; n++) {
    const [px, py] = toPixel(s.points[n][0], s.points[n][1]);
    const k = index.get(JSON.stringify(s.labels[n])) ?? 0;
    const rgb = PALETTE[k % PALETTE.length];
    ctx.beginPath();
    ctx.arc(px, py, 3.4 * ratio, 0, 2 * Math.PI);
    // training points filled in their class colour; validation points hollow
    ctx.fillStyle = s.split[n] === "train" ? `rgb(${rgb})` : "#fff";
    ctx.fill();
    if (s.split[n] !== "train") {
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

function drawProbes(ctx, toPixel) {
  const ratio = window.devicePixelRatio || 1;
  state.probes.forEach((probe, n) => {
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

function drawLegend(bundle, changesMode) {
  const classes = bundle.manifest.architecture.classes;
  const items = classes.map((c, k) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch c${k % PALETTE.length}`;
    li.dataset.colour = `rgb(${PALETTE[k % PALETTE.length].join(", ")})`;
    li.dataset.label = JSON.stringify(c);
    li.append(swatch, `class ${c}`);
    return li;
  });
  const shade = document.createElement("li");
  shade.textContent = changesMode
    ? "Grey: the same class in both versions."
    : "Paler: less sure (the top probability nearer to 1/classes).";
  const marks = document.createElement("li");
  const filled = document.createElement("span");
  filled.className = "marker c0";
  const hollow = document.createElement("span");
  hollow.className = "marker hollow";
  marks.append(filled, " training point ", hollow, " validation point, ✚ probe");
  items.push(shade, marks);
  if (bundle.sample) {
    const note = document.createElement("li");
    const s = bundle.sample;
    note.textContent = `${s.points.length} of ${s.n_train + s.n_validation} points shown`;
    items.push(note);
  } else if (bundle.grid) {
    const note = document.createElement("li");
    note.textContent = "No data sample stored with this version.";
    items.push(note);
  }
  $("legend").replaceChildren(...items);
}

function drawChanged() {
  const diff = state.b && state.b.diff;
  $("changed").hidden = !diff;
  if (!diff) return;
  const total = diff.changed.length;
  $("changed").dataset.fraction = diff.fraction;
  $("changed").textContent = `${(100 * diff.fraction).toFixed(2)}% of cells change class ` +
    `from v${state.a.version} to v${state.b.version} (${diff.count.toLocaleString("en")} of ` +
    `${total.toLocaleString("en")}, from ${diff.source})`;
}

const METRICS = [
  ["train_accuracy", "Train accuracy"],
  ["validation_accuracy", "Validation accuracy"],
  ["baseline_validation_accuracy", "Baseline validation accuracy"],
  ["train_loss", "Train loss"],
  ["validation_loss", "Validation loss"],
];

function drawMetrics() {
  const bundles = [state.a, state.b].filter(Boolean);
  const head = document.createElement("tr");
  head.append(cell("th", ""), ...bundles.map((b) => cell("th", `v${b.version}`)));
  const rows = METRICS.map(([key, text]) => {
    const tr = document.createElement("tr");
    tr.dataset.metric = key;
    tr.append(cell("th", text), ...bundles.map((b) => {
      const value = b.manifest.metrics[key];
      return cell("td", value === null || value === undefined ? "–"
        : key.endsWith("accuracy") ? `${(100 * value).toFixed(1)}%` : value.toFixed(4));
    }));
    return tr;
  });
  const facts = [
    ["Kind", (b) => b.manifest.kind],
    ["Hidden layers", (b) => b.manifest.architecture.hidden_layer_sizes.join(", ") || "none"],
    ["Dataset", (b) => b.manifest.training.dataset?.name ?? "?"],
    ["Train / validation points", (b) => `${b.manifest.training.n_train ?? "?"} / ${b.manifest.training.n_validation ?? "?"}`],
    ["Epochs", (b) => b.manifest.training.epochs ?? "–"],
    ["Published", (b) => b.manifest.created_at],
  ].map(([text, get]) => {
    const tr = document.createElement("tr");
    tr.append(cell("th", text), ...bundles.map((b) => cell("td", String(get(b)))));
    return tr;
  });
  $("metrics").replaceChildren(head, ...rows, ...facts);
}

function cell(tag, text) {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

function drawLoss() {
  const canvas = $("loss");
  const { ctx, width, height } = sized(canvas);
  ctx.clearRect(0, 0, width, height);
  const curves = [state.a, state.b].filter((b) => b && b.manifest.loss_curve);
  $("loss-note").hidden = curves.length > 0;
  canvas.hidden = curves.length === 0;
  if (!curves.length) {
    $("loss-note").textContent = "No loss curve stored with this version (the logistic-regression " +
      "baseline has none, nor have versions published before loss curves were kept).";
    return;
  }
  const ratio = window.devicePixelRatio || 1;
  const pad = { l: 52 * ratio, r: 12 * ratio, t: 12 * ratio, b: 30 * ratio };
  const epochs = curves.flatMap((b) => b.manifest.loss_curve.epochs);
  const losses = curves.flatMap((b) => b.manifest.loss_curve.loss);
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
  curves.forEach((b, n) => {
    const c = b.manifest.loss_curve;
    ctx.strokeStyle = colours[n];
    ctx.lineWidth = 2 * ratio;
    ctx.beginPath();
    c.epochs.forEach((e, k) => (k ? ctx.lineTo(X(e), Y(c.loss[k])) : ctx.moveTo(X(e), Y(c.loss[k]))));
    ctx.stroke();
    ctx.fillStyle = colours[n];
    ctx.textAlign = "right";
    ctx.fillText(`v${b.version}`, width - pad.r, pad.t + (8 + 14 * n) * ratio);
  });
}

// ---------------------------------------------------------------- hover, probes ---

function readout(canvas, i, j) {
  const bundle = canvas.id === "canvas-b" ? state.b : state.a;
  const g = bundle.grid;
  const x = g.x_min + i * (g.x_max - g.x_min) / (g.nx - 1);
  const y = g.y_min + j * (g.y_max - g.y_min) / (g.ny - 1);
  const k = j * g.nx + i;
  const classes = bundle.manifest.architecture.classes;
  const P = Array.from(g.P.subarray(k * g.n_classes, (k + 1) * g.n_classes));
  const box = $("readout");
  box.replaceChildren();
  Object.assign(box.dataset, { version: bundle.version, x, y, probabilities: JSON.stringify(P), label: JSON.stringify(classes[g.labels[k]]) });
  const where = document.createElement("p");
  where.textContent = `v${bundle.version} at x = ${x.toFixed(3)}, y = ${y.toFixed(3)} (grid cell): class ${classes[g.labels[k]]}`;
  const table = document.createElement("table");
  classes.forEach((c, n) => {
    const tr = document.createElement("tr");
    tr.append(cell("th", `P(${c})`), cell("td", P[n].toFixed(3)));
    table.append(tr);
  });
  box.append(where, table);
}

for (const canvas of [$("canvas-a"), $("canvas-b")]) {
  canvas.addEventListener("mousemove", (event) => {
    if (!gridOf(canvas)) return;
    const at = dataAt(canvas, event.offsetX, event.offsetY);
    readout(canvas, at.i, at.j);
  });
  canvas.addEventListener("click", (event) => {
    if (!gridOf(canvas)) return;
    const at = dataAt(canvas, event.offsetX, event.offsetY);
    addProbe(at.x, at.y);
  });
}

// keyboard: arrows move a cursor over the cells of view A, Enter or space probes it
$("canvas-a").addEventListener("keydown", (event) => {
  const g = state.a && state.a.grid;
  if (!g) return;
  const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
  const cursor = state.cursor || { i: Math.floor(g.nx / 2), j: Math.floor(g.ny / 2) };
  if (event.key in steps) {
    event.preventDefault();
    const [di, dj] = steps[event.key];
    const stride = event.shiftKey ? 10 : 1;
    state.cursor = {
      i: Math.min(g.nx - 1, Math.max(0, cursor.i + di * stride)),
      j: Math.min(g.ny - 1, Math.max(0, cursor.j + dj * stride)),
    };
    readout($("canvas-a"), state.cursor.i, state.cursor.j);
    draw();
  } else if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    state.cursor = cursor;
    addProbe(g.x_min + cursor.i * (g.x_max - g.x_min) / (g.nx - 1),
      g.y_min + cursor.j * (g.y_max - g.y_min) / (g.ny - 1));
  }
});

async function predict(bundle, points) {
  const response = await api(`/predict?${modelQuery(bundle.name, bundle.version)}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ points }),
  });
  return response.json();
}

async function addProbe(x, y) {
  try {
    const probe = { x, y };
    const bundles = [state.a, state.b].filter(Boolean);
    const answers = await Promise.all(bundles.map((b) => predict(b, [[x, y]])));
    answers.forEach((answer, n) => {
      probe[n ? "b" : "a"] = { version: answer.version, classes: answer.classes, label: answer.labels[0], probabilities: answer.probabilities[0] };
    });
    state.probes.push(probe);
    renderProbes();
    draw();
  } catch (error) {
    fail(error);
  }
}

// a new version answers for the probes already placed, in one request
async function repredictProbes() {
  if (!state.probes.length) return;
  const points = state.probes.map((p) => [p.x, p.y]);
  const bundles = [state.a, state.b].filter(Boolean);
  const answers = await Promise.all(bundles.map((b) =>
    b.manifest.architecture.n_features === 2 ? predict(b, points) : null));
  state.probes.forEach((probe, k) => {
    for (const [n, answer] of answers.entries()) {
      probe[n ? "b" : "a"] = answer && { version: answer.version, classes: answer.classes,
        label: answer.labels[k], probabilities: answer.probabilities[k] };
    }
    if (!state.b) delete probe.b;
  });
  renderProbes();
}

function renderProbes() {
  const rows = state.probes.flatMap((probe, n) => ["a", "b"].filter((side) => probe[side]).map((side) => {
    const answer = probe[side];
    const tr = document.createElement("tr");
    tr.dataset.x = probe.x;
    tr.dataset.y = probe.y;
    tr.dataset.version = answer.version;
    tr.dataset.label = JSON.stringify(answer.label);
    tr.dataset.probabilities = JSON.stringify(answer.probabilities);
    tr.append(
      cell("td", side === "a" ? String(n + 1) : ""),
      cell("td", probe.x.toFixed(3)),
      cell("td", probe.y.toFixed(3)),
      cell("td", `${answer.label} (v${answer.version})`),
      cell("td", answer.probabilities.map((p) => p.toFixed(3)).join(" / ")),
    );
    return tr;
  }));
  $("probes").tBodies[0].replaceChildren(...rows);
  $("probes").hidden = rows.length === 0;
  $("no-probes").hidden = rows.length > 0;
}

$("clear-probes").addEventListener("click", () => {
  state.probes = [];
  renderProbes();
  if (state.a) draw();
});

// ---------------------------------------------------------------- controls --------

$("model").addEventListener("change", () => chooseModel());
$("version").addEventListener("change", () => {
  // compare against another version than the one now shown
  if ($("version-b").value === $("version").value) {
    const other = [...$("version-b").options].find((o) => o.value !== $("version").value && !o.disabled);
    if (other) $("version-b").value = other.value;
  }
  show();
});
$("version-b").addEventListener("change", show);
$("compare").addEventListener("change", show);
$("show-points").addEventListener("change", () => state.a && draw());
for (const radio of document.querySelectorAll("input[name=compare-mode]")) {
  radio.addEventListener("change", () => state.a && draw());
}
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => state.a && draw(), 100);
});

function setStatus(kind, text) {
  document.body.dataset.state = kind;
  $("status").textContent = text;
}

function fail(error) {
  setStatus("error", error instanceof ApiFailure
    ? `${error.message} (${error.status} ${error.code})`
    : `Something went wrong: ${error.message}`);
}

start();
