// The decision-boundary explorer: what a version decides over the plane, drawn from
// the service's own API (/models, manifests, /boundary, /predict, the data sample).
// This module holds the page's state and controls; api.js talks to the service,
// canvas.js draws, panels.js builds the text beside the map. No build step.

import {
  ApiFailure, TOKEN_KEY, getJson, getNpy, modelQuery, predict, versionPath, whenUnauthorized,
} from "./api.js";
import {
  area, dataAt, drawCursor, drawLossCurves, drawPoints, drawProbes, paintGrid, pixelMapping,
  sized,
} from "./canvas.js";
import { changedText, legendItems, metricsRows, probeRows, readoutNodes } from "./panels.js";

// the grid is sized to the canvas: a cell per GRID_PIXELS CSS pixels, at most MAX_SIDE
const GRID_PIXELS = 2;
const MAX_SIDE = 200;
// the service's default margin around the training data's extent (service.boundary)
const MARGIN = 0.5;
const SAMPLE_FILE = "data_sample.json";

const $ = (id) => document.getElementById(id);

const state = {
  models: [],        // GET /models .models
  model: null,       // its entry
  a: null,           // the shown version's bundle (see loadVersion)
  b: null,           // the compared version's bundle, or null
  probes: [],        // [{x, y, a: answer, b: answer}]
  cursor: null,      // keyboard cursor cell {i, j} on view A
  hasDiffRoute: false,
  generation: 0,     // drops answers of a selection since replaced
};

// ---------------------------------------------------------------- token -----------

whenUnauthorized((message) => {
  $("token-reason").textContent = sessionStorage.getItem(TOKEN_KEY)
    ? `The token was refused: ${message}`
    : "This service needs a bearer token (SCRATCHNET_API_TOKENS_FILE is set).";
  $("token-form").hidden = false;
  $("token").focus();
});

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
    const [listing, openapi] = await Promise.all([getJson("/models"), getJson("/openapi.json")]);
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
  const options = [...model.versions].reverse()
    .map((v) => [String(v), versionLabel(model, v, failed)]);
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
  $("compare").checked = other.length > 0 && (Boolean(compare) || $("compare").checked);
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
async function loadVersion(name, version, manifest, bounds, size) {
  const bundle = { name, version: manifest.version, manifest, grid: null, sample: null };
  if (manifest.architecture.n_features !== 2) return bundle;
  const grid = `${modelQuery(name, version)}&x_min=${bounds.x_min}&x_max=${bounds.x_max}` +
    `&y_min=${bounds.y_min}&y_max=${bounds.y_max}&nx=${size.nx}&ny=${size.ny}&format=npy`;
  const [labels, probabilities, sample] = await Promise.all([
    getNpy(`/boundary?${grid}`),
    getNpy(`/boundary?${grid}&values=probabilities`),
    // only a version that lists a sample has one: no request bound to fail
    SAMPLE_FILE in (manifest.files || {}) ? getJson(`${versionPath(name, manifest.version)}/data`) : null,
  ]);
  bundle.arrived = performance.now();
  bundle.grid = { ...bounds, ...size, labels: labels.data, P: probabilities.data,
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
  const comparing = $("compare").checked && $("version-b").value !== "";
  const versions = comparing ? [$("version").value, $("version-b").value] : [$("version").value];
  $("version-b").disabled = !$("compare").checked;
  $("compare-mode").disabled = !comparing;
  writeHash(name, versions);
  setStatus("loading", `Loading ${name} ${versions.map((v) => `v${v}`).join(" and ")}…`);
  try {
    // the manifests first: the grid covers the union of the versions' extents
    const manifests = await Promise.all(versions.map((v) => getJson(versionPath(name, v))));
    const twoD = manifests.every((m) => m.architecture.n_features === 2);
    const bounds = twoD ? extent(manifests) : null;
    const size = gridSize($("canvas-a"));
    const [a, b = null] = await Promise.all(versions.map((v, n) =>
      loadVersion(name, v, manifests[n], bounds, size)));
    if (b && twoD) b.diff = await changedCells(a, b);
    if (generation !== state.generation) return;  // the user chose again meanwhile
    Object.assign(state, { a, b, cursor: null });
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
    return { changed, count: changed.reduce((s, v) => s + v, 0),
      fraction: diff.changed_fraction, source: "/boundary/diff" };
  }
  const changed = new Uint8Array(g.labels.length);
  let count = 0;
  for (let k = 0; k < changed.length; k++) {
    if (a.grid.labels[k] !== b.grid.labels[k]) { changed[k] = 1; count++; }
  }
  return { changed, count, fraction: count / changed.length, source: "the two grids" };
}

function writeHash(name, [version, compare]) {
  const params = new URLSearchParams({ model: name, version });
  if (compare) params.set("compare", compare);
  history.replaceState(null, "", `#${params}`);
}

// ---------------------------------------------------------------- drawing ---------

function draw() {
  const { a, b } = state;
  const twoD = a.grid !== null && (!b || b.grid !== null);
  for (const id of ["views", "readout-section", "probes-section"]) $(id).hidden = !twoD;
  $("notice").hidden = twoD;
  $("show-points").disabled = !twoD;
  if (!twoD) {
    const other = b && b.grid === null ? b : a;
    const n = other.manifest.architecture.n_features;
    $("notice").textContent = `${other.name} v${other.version} takes ${n} feature` +
      `${n === 1 ? "" : "s"}: a 2-D decision-boundary view needs a model with exactly 2 ` +
      "features. Its metrics and loss curve are below; /predict still answers for it.";
  }
  const changesMode = Boolean(b && b.diff && $("mode-changes").checked);
  $("view-b").hidden = !b || !twoD;
  if (twoD) {
    paint($("canvas-a"), a, null);
    $("caption-a").textContent = caption(a);
    if (b) {
      paint($("canvas-b"), b, changesMode ? b.diff.changed : null);
      $("caption-b").textContent = changesMode
        ? `Cells where v${b.version} assigns another class than v${a.version}, in v${b.version}'s colour`
        : caption(b);
    }
  }
  $("legend").replaceChildren(...legendItems(a, changesMode, $("show-points").checked));
  $("changed").hidden = !(b && b.diff);
  if (b && b.diff) {
    $("changed").dataset.fraction = b.diff.fraction;
    $("changed").textContent = changedText(b.diff, a, b);
  }
  $("metrics").replaceChildren(...metricsRows([a, b].filter(Boolean)));
  const curves = [a, b].filter((x) => x && x.manifest.loss_curve)
    .map((x) => ({ version: x.version, curve: x.manifest.loss_curve }));
  $("loss").hidden = curves.length === 0;
  $("loss-note").hidden = curves.length > 0;
  if (curves.length) drawLossCurves($("loss"), curves);
  else $("loss-note").textContent = "No loss curve stored with this version (the logistic-regression " +
    "baseline has none, nor have versions published before loss curves were kept).";
}

function caption(bundle) {
  const aliases = Object.entries(state.model.aliases || {})
    .filter(([, v]) => v === bundle.version).map(([alias]) => alias);
  const arch = bundle.manifest.architecture;
  const shape = bundle.manifest.kind === "logreg" ? "logistic regression"
    : `hidden ${arch.hidden_layer_sizes.join(",")} ${arch.activation}`;
  return `${bundle.name} v${bundle.version}${aliases.length ? ` (${aliases.join(", ")})` : ""}: ${shape}`;
}

// One view: the heatmap, the data points, the probes, the keyboard cursor.
function paint(canvas, bundle, changed) {
  const started = performance.now();
  const g = bundle.grid;
  const { ctx, width, height } = sized(canvas);
  paintGrid(ctx, g, width, height, changed);
  const toPixel = pixelMapping(g, width, height);
  if ($("show-points").checked && bundle.sample) {
    drawPoints(ctx, bundle.sample, bundle.manifest.architecture.classes, toPixel);
  }
  drawProbes(ctx, state.probes, toPixel);
  if (canvas.id === "canvas-a" && state.cursor) drawCursor(ctx, g, state.cursor, width, height);
  // what the tests read: the grid this picture shows, and how long it took
  Object.assign(canvas.dataset, {
    model: bundle.name, version: bundle.version, nx: g.nx, ny: g.ny,
    xMin: g.x_min, xMax: g.x_max, yMin: g.y_min, yMax: g.y_max,
    mode: changed ? "changes" : "probabilities",
    drawMs: (performance.now() - started).toFixed(2),
  });
  if (bundle.arrived) {
    const arrived = bundle.arrived;
    bundle.arrived = null;
    // first paint: from the data's arrival to the frame that shows it
    requestAnimationFrame(() => { canvas.dataset.paintMs = (performance.now() - arrived).toFixed(2); });
  }
}

// ---------------------------------------------------------------- hover, probes ---

const bundleOf = (canvas) => (canvas.id === "canvas-b" ? state.b : state.a);

function readout(canvas, i, j) {
  const bundle = bundleOf(canvas);
  const g = bundle.grid;
  const k = j * g.nx + i;
  const classes = bundle.manifest.architecture.classes;
  const at = {
    version: bundle.version,
    x: g.x_min + i * (g.x_max - g.x_min) / (g.nx - 1),
    y: g.y_min + j * (g.y_max - g.y_min) / (g.ny - 1),
    classes,
    label: classes[g.labels[k]],
    P: Array.from(g.P.subarray(k * g.n_classes, (k + 1) * g.n_classes)),
  };
  const box = $("readout");
  Object.assign(box.dataset, { version: at.version, x: at.x, y: at.y,
    probabilities: JSON.stringify(at.P), label: JSON.stringify(at.label) });
  box.replaceChildren(...readoutNodes(at));
}

for (const canvas of [$("canvas-a"), $("canvas-b")]) {
  canvas.addEventListener("mousemove", (event) => {
    const bundle = bundleOf(canvas);
    if (!bundle || !bundle.grid) return;
    const at = dataAt(canvas, bundle.grid, event.offsetX, event.offsetY);
    readout(canvas, at.i, at.j);
  });
  canvas.addEventListener("click", (event) => {
    const bundle = bundleOf(canvas);
    if (!bundle || !bundle.grid) return;
    const at = dataAt(canvas, bundle.grid, event.offsetX, event.offsetY);
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

const answerAt = (answer, k) => ({ version: answer.version, classes: answer.classes,
  label: answer.labels[k], probabilities: answer.probabilities[k] });

async function addProbe(x, y) {
  try {
    const bundles = [state.a, state.b].filter(Boolean);
    const answers = await Promise.all(bundles.map((b) => predict(b.name, b.version, [[x, y]])));
    const probe = { x, y };
    answers.forEach((answer, n) => { probe[n ? "b" : "a"] = answerAt(answer, 0); });
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
    (b.manifest.architecture.n_features === 2 ? predict(b.name, b.version, points) : null)));
  state.probes.forEach((probe, k) => {
    delete probe.b;
    answers.forEach((answer, n) => { probe[n ? "b" : "a"] = answer && answerAt(answer, k); });
  });
  renderProbes();
}

function renderProbes() {
  const rows = probeRows(state.probes);
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
    const other = [...$("version-b").options]
      .find((o) => o.value !== $("version").value && !o.disabled);
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
