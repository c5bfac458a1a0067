// The text beside the map, built as DOM nodes (never HTML strings, so nothing a model
// name or label holds can become markup): legend, readout, probes, metrics, changes.

import { PALETTE, colourOf } from "./canvas.js";

export function cell(tag, text) {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

const item = (text) => cell("li", text);

export function legendItems(bundle, changesMode, showPoints) {
  const classes = bundle.manifest.architecture.classes;
  const items = classes.map((c, k) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch c${k % PALETTE.length}`;
    li.dataset.colour = `rgb(${colourOf(k).join(", ")})`;
    li.dataset.label = JSON.stringify(c);
    li.append(swatch, `class ${c}`);
    return li;
  });
  items.push(item(changesMode
    ? "Grey: the same class in both versions."
    : "Paler: less sure (the top probability nearer to 1/classes)."));
  const marks = document.createElement("li");
  const filled = document.createElement("span");
  filled.className = "marker c0";
  const hollow = document.createElement("span");
  hollow.className = "marker hollow";
  marks.append(filled, " training point ", hollow, " validation point, ✚ probe");
  items.push(marks);
  if (bundle.sample) {
    const s = bundle.sample;
    const shown = `${s.points.length} of ${s.n_train + s.n_validation} points`;
    items.push(item(showPoints ? `${shown} shown` : `${shown} (hidden)`));
  } else if (bundle.grid) {
    items.push(item("No data sample stored with this version."));
  }
  return items;
}

export function changedText(diff, a, b) {
  const total = diff.changed.length;
  return `${(100 * diff.fraction).toFixed(2)}% of cells change class from v${a.version} ` +
    `to v${b.version} (${diff.count.toLocaleString("en")} of ${total.toLocaleString("en")}, ` +
    `from ${diff.source})`;
}

// One cell's readout: where, which class, every class's probability. `at` is
// {version, x, y, classes, label, P}.
export function readoutNodes(at) {
  const where = cell("p", `v${at.version} at x = ${at.x.toFixed(3)}, y = ${at.y.toFixed(3)} ` +
    `(grid cell): class ${at.label}`);
  const table = document.createElement("table");
  at.classes.forEach((c, n) => {
    const tr = document.createElement("tr");
    tr.append(cell("th", `P(${c})`), cell("td", at.P[n].toFixed(3)));
    table.append(tr);
  });
  return [where, table];
}

// A row per probe and version answering (data-* carry the exact values).
export function probeRows(probes) {
  return probes.flatMap((probe, n) => ["a", "b"].filter((side) => probe[side]).map((side) => {
    const answer = probe[side];
    const tr = document.createElement("tr");
    Object.assign(tr.dataset, {
      x: probe.x,
      y: probe.y,
      version: answer.version,
      label: JSON.stringify(answer.label),
      probabilities: JSON.stringify(answer.probabilities),
    });
    tr.append(
      cell("td", side === "a" ? String(n + 1) : ""),
      cell("td", probe.x.toFixed(3)),
      cell("td", probe.y.toFixed(3)),
      cell("td", `${answer.label} (v${answer.version})`),
      cell("td", answer.probabilities.map((p) => p.toFixed(3)).join(" / ")),
    );
    return tr;
  }));
}

const METRICS = [
  ["train_accuracy", "Train accuracy"],
  ["validation_accuracy", "Validation accuracy"],
  ["baseline_validation_accuracy", "Baseline validation accuracy"],
  ["train_loss", "Train loss"],
  ["validation_loss", "Validation loss"],
];

const FACTS = [
  ["Kind", (m) => m.kind],
  ["Hidden layers", (m) => m.architecture.hidden_layer_sizes.join(", ") || "none"],
  ["Dataset", (m) => m.training.dataset?.name ?? "?"],
  ["Train / validation points", (m) => `${m.training.n_train ?? "?"} / ${m.training.n_validation ?? "?"}`],
  ["Epochs", (m) => m.training.epochs ?? "–"],
  ["Published", (m) => m.created_at],
];

// The metrics table: a column per version shown.
export function metricsRows(bundles) {
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
  const facts = FACTS.map(([text, get]) => {
    const tr = document.createElement("tr");
    tr.append(cell("th", text), ...bundles.map((b) => cell("td", String(get(b.manifest)))));
    return tr;
  });
  return [head, ...rows, ...facts];
}
