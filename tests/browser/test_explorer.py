"""The explorer in Chromium: the picture agrees with /predict, and every control works.

Pixel checks read the canvas itself (getImageData). A cell's colour is white mixed
with its class colour, more of it the surer the model: so a pixel lies on the line
from white to exactly one class colour, and that class must be the one /predict gives
for the cell's point.
"""

import io

import numpy as np
import pytest
import requests

from tests.browser.conftest import TIMEOUT_MS, Watched, record, save_screenshot
from tests.integration.conftest import Gunicorn

WHITE = np.array([255.0, 255.0, 255.0])
UNCHANGED = (230, 230, 230)


def grid_of(watch: Watched, canvas: str = "canvas-a") -> dict:
    data = watch.page.eval_on_selector(f"#{canvas}", "c => ({...c.dataset})")
    box = watch.page.eval_on_selector(
        f"#{canvas}", "c => { const r = c.getBoundingClientRect(); return [r.x, r.y] }"
    )
    grid = {k: float(data[k]) for k in ("xMin", "xMax", "yMin", "yMax")}
    grid.update(
        nx=int(data["nx"]),
        ny=int(data["ny"]),
        version=int(data["version"]),
        left=box[0],
    )
    grid["top"] = box[1]
    grid.update(paint_ms=data.get("paintMs"), mode=data["mode"], model=data["model"])
    return grid


def cell_point(grid: dict, i: int, j: int) -> tuple[float, float]:
    """The grid's point of cell (i, j): as np.linspace lays them out."""
    x = grid["xMin"] + i * (grid["xMax"] - grid["xMin"]) / (grid["nx"] - 1)
    y = grid["yMin"] + j * (grid["yMax"] - grid["yMin"]) / (grid["ny"] - 1)
    return x, y


def cell_pixel(grid: dict, i: int, j: int, size: int = 400) -> tuple[float, float]:
    """The canvas pixel (CSS, relative to the canvas) at the middle of cell (i, j)."""
    w, h = size / grid["nx"], size / grid["ny"]
    return (i + 0.5) * w, size - (j + 0.5) * h


def pixel(watch: Watched, canvas: str, px: float, py: float) -> np.ndarray:
    rgba = watch.page.eval_on_selector(
        f"#{canvas}",
        """(c, [x, y]) => {
            const k = c.width / c.clientWidth;
            return Array.from(c.getContext("2d").getImageData(
                Math.floor(x * k), Math.floor(y * k), 1, 1).data);
        }""",
        [px, py],
    )
    assert rgba[3] == 255
    return np.array(rgba[:3], dtype=float)


def palette(watch: Watched) -> list[np.ndarray]:
    colours = watch.page.eval_on_selector_all(
        "#legend li[data-colour]", "items => items.map(li => li.dataset.colour)"
    )
    return [np.array([float(v) for v in c[4:-1].split(",")]) for c in colours]


def nearest_class(rgb: np.ndarray, colours: list[np.ndarray]) -> tuple[int, float]:
    """The class whose white-to-colour line passes nearest `rgb`, and its mix."""
    best = None
    for k, colour in enumerate(colours):
        direction = colour - WHITE
        t = float(np.dot(rgb - WHITE, direction) / np.dot(direction, direction))
        residual = float(np.linalg.norm(rgb - (WHITE + t * direction)))
        if best is None or residual < best[2]:
            best = (k, t, residual)
    k, t, residual = best
    assert residual < 4, f"{rgb} is on no class's line"
    return k, t


def predict(watch: Watched, model: str, version: int, points: list) -> dict:
    response = requests.post(
        f"{watch.base}/predict",
        params={"model": model, "version": version},
        json={"points": points},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def boundary_labels(watch: Watched, grid: dict, version: int) -> np.ndarray:
    response = requests.get(
        f"{watch.base}/boundary",
        params={
            "model": grid["model"],
            "version": version,
            "x_min": grid["xMin"],
            "x_max": grid["xMax"],
            "y_min": grid["yMin"],
            "y_max": grid["yMax"],
            "nx": grid["nx"],
            "ny": grid["ny"],
            "format": "npy",
        },
        timeout=30,
    )
    response.raise_for_status()
    return np.load(io.BytesIO(response.content), allow_pickle=False)


def hide_points(watch: Watched) -> None:
    watch.page.uncheck("#show-points")


def sure_cells(watch: Watched, grid: dict, per_class: int = 3) -> list:
    """Cells where the model is sure (p > 0.9), a few of each class, spread out."""
    cells = [(i, j) for i in range(5, grid["nx"], 13) for j in range(5, grid["ny"], 11)]
    points = [list(cell_point(grid, i, j)) for i, j in cells]
    answer = predict(watch, grid["model"], grid["version"], points)
    chosen, taken = [], {}
    for cell, label, P in zip(
        cells, answer["labels"], answer["probabilities"], strict=True
    ):
        k = answer["classes"].index(label)
        if max(P) > 0.9 and taken.get(k, 0) < per_class:
            taken[k] = taken.get(k, 0) + 1
            chosen.append((cell, k, P))
    assert len(taken) == len(answer["classes"]), "every class has sure cells"
    return chosen


def check_colours_follow_predict(watch: Watched, canvas: str = "canvas-a") -> None:
    grid, colours = grid_of(watch, canvas), palette(watch)
    for (i, j), k, _ in sure_cells(watch, grid):
        seen, mix = nearest_class(
            pixel(watch, canvas, *cell_pixel(grid, i, j)), colours
        )
        assert seen == k, f"cell {(i, j)}: colour of class {seen}, /predict says {k}"
        assert mix > 0.6, "a sure cell is drawn strong"


def test_the_heatmap_has_the_colour_of_the_class_predict_gives(watched):
    watched.open()
    grid = grid_of(watched)
    assert (grid["model"], grid["version"]) == ("moons", 1)  # production
    # the grid is sized to the canvas (400 CSS px), not larger
    assert grid["nx"] <= 400 and grid["ny"] <= 400
    assert (grid["nx"], grid["ny"]) == (200, 200)
    asked = [url for url in watched.requests if "/boundary?" in url]
    assert len(asked) == 2  # labels and probabilities, once each
    for url in asked:
        query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
        assert (query["nx"], query["ny"]) == ("200", "200")
    save_screenshot(watched, "moons")
    record("first_paint_200x200", paint_ms=float(grid["paint_ms"]))
    hide_points(watched)
    check_colours_follow_predict(watched)
    # the version choice marks production
    label = watched.page.eval_on_selector("#version", "s => s.selectedOptions[0].text")
    assert label == "v1 (production)"


def test_the_data_points_are_drawn_over_the_map(watched):
    watched.open()
    grid = grid_of(watched)
    sample = requests.get(f"{watched.base}/models/moons/versions/1/data", timeout=30)
    point = sample.json()["points"][0]
    # the point's centre, drawn in its class colour, over the map cell under it
    px = ((point[0] - grid["xMin"]) / (grid["xMax"] - grid["xMin"]) * 199 + 0.5) * 2
    py = (
        400
        - ((point[1] - grid["yMin"]) / (grid["yMax"] - grid["yMin"]) * 199 + 0.5) * 2
    )
    with_points = pixel(watched, "canvas-a", px, py)
    legend = watched.page.inner_text("#legend")
    assert "200 of 200 points shown" in legend and "validation point" in legend
    hide_points(watched)
    without = pixel(watched, "canvas-a", px, py)
    assert not np.array_equal(with_points, without)
    assert "200 of 200 points (hidden)" in watched.page.inner_text("#legend")


def test_hover_shows_the_cells_coordinates_and_what_predict_says(watched):
    watched.open()
    box = watched.page.locator("#canvas-a").bounding_box()
    for fx, fy in [(0.2, 0.3), (0.5, 0.5), (0.83, 0.71)]:
        watched.page.mouse.move(
            box["x"] + fx * box["width"], box["y"] + fy * box["height"]
        )
        readout = watched.page.eval_on_selector("#readout", "r => ({...r.dataset})")
        x, y = float(readout["x"]), float(readout["y"])
        answer = predict(watched, "moons", 1, [[x, y]])
        shown = np.array(eval(readout["probabilities"]))  # a JSON list of numbers
        np.testing.assert_allclose(shown, answer["probabilities"][0], atol=1e-6)
        text = watched.page.inner_text("#readout")
        assert f"x = {x:.3f}, y = {y:.3f}" in text
        for c, p in zip(answer["classes"], answer["probabilities"][0], strict=True):
            assert f"P({c})\t{p:.3f}" in text
        assert f"class {answer['labels'][0]}" in text


def test_a_click_adds_a_probe_with_the_prediction_of_predict(watched):
    watched.open()
    box = watched.page.locator("#canvas-a").bounding_box()
    # 1 px of border, then the drawing area
    watched.page.mouse.click(box["x"] + 1 + 123, box["y"] + 1 + 234)
    row = watched.page.locator("#probes tbody tr").first
    row.wait_for()
    data = row.evaluate("r => ({...r.dataset})")
    x, y = float(data["x"]), float(data["y"])
    grid = grid_of(watched)
    # the click's own point, not a cell's: 123 px across 400 px of the grid's width
    dx = (grid["xMax"] - grid["xMin"]) / (grid["nx"] - 1)
    assert x == pytest.approx(grid["xMin"] + (123 / 2 - 0.5) * dx, abs=dx / 10)
    answer = predict(watched, "moons", 1, [[x, y]])
    assert float(data["version"]) == 1
    assert eval(data["label"]) == answer["labels"][0]
    assert eval(data["probabilities"]) == answer["probabilities"][0]
    watched.page.click("#clear-probes")
    assert watched.page.locator("#probes tbody tr").count() == 0


def canvas_digest(watch: Watched, canvas: str = "canvas-a") -> str:
    return watch.page.eval_on_selector(f"#{canvas}", "c => c.toDataURL()")


def test_switching_version_changes_the_picture(watched):
    watched.open()
    hide_points(watched)
    before = canvas_digest(watched)
    watched.page.select_option("#version", "2")
    watched.page.wait_for_selector("#canvas-a[data-version='2']")
    watched.wait_ready()
    assert canvas_digest(watched) != before
    check_colours_follow_predict(watched)
    assert "model=moons&version=2" in watched.page.url


def test_compare_highlights_the_changed_cells_and_their_share(watched):
    watched.open()
    watched.page.check("#compare")
    watched.page.wait_for_selector("#canvas-b[data-version='2']")
    watched.wait_ready()
    save_screenshot(watched, "compare-side-by-side")  # docs/explorer.png is one
    hide_points(watched)
    a, b = grid_of(watched, "canvas-a"), grid_of(watched, "canvas-b")
    assert {k: a[k] for k in ("xMin", "xMax", "yMin", "yMax", "nx", "ny")} == {
        k: b[k] for k in ("xMin", "xMax", "yMin", "yMax", "nx", "ny")
    }, "both versions over the same grid"
    watched.page.check("#mode-changes")
    watched.page.wait_for_selector("#canvas-b[data-mode='changes']")
    save_screenshot(watched, "compare-changed-cells")
    labels_a, labels_b = boundary_labels(watched, a, 1), boundary_labels(watched, b, 2)
    changed = labels_a != labels_b
    assert 0 < changed.mean() < 1
    shown = float(watched.page.get_attribute("#changed", "data-fraction"))
    assert shown == changed.mean()
    text = watched.page.inner_text("#changed")
    assert f"{100 * changed.mean():.2f}% of cells change class" in text
    assert f"{int(changed.sum()):,} of {changed.size:,}" in text
    colours = palette(watched)
    rng = np.random.default_rng(0)
    for flag, expected in ((True, None), (False, UNCHANGED)):
        rows, cols = np.nonzero(changed == flag)
        for n in rng.choice(len(rows), size=8, replace=False):
            j, i = int(rows[n]), int(cols[n])
            rgb = pixel(watched, "canvas-b", *cell_pixel(b, i, j))
            want = colours[labels_b[j, i]] if flag else np.array(expected)
            np.testing.assert_array_equal(rgb, want)


def test_a_three_class_model_has_three_colours_that_follow_predict(watched):
    watched.open("#model=blobs")
    assert watched.page.locator("#legend li[data-colour]").count() == 3
    save_screenshot(watched, "blobs-3-classes")
    hide_points(watched)
    check_colours_follow_predict(watched)


def test_a_model_without_two_features_says_so(watched):
    watched.open()
    watched.page.select_option("#model", "three")
    watched.page.wait_for_selector("#notice:not([hidden])")
    watched.wait_ready()
    notice = watched.page.inner_text("#notice")
    assert "takes 3 features" in notice and "needs a model with exactly 2" in notice
    assert not watched.page.locator("#canvas-a").is_visible()
    assert watched.page.locator("#metrics tr[data-metric]").count() == 5
    save_screenshot(watched, "three-features")
    # the boundary grid was never asked for: it would be a 400
    assert not [
        url for url in watched.requests if "/boundary" in url and "three" in url
    ]


def test_metrics_and_the_loss_curve_are_shown(watched):
    watched.open()
    manifest = requests.get(
        f"{watched.base}/models/moons/versions/1", timeout=30
    ).json()
    row = watched.page.inner_text("#metrics tr[data-metric='validation_accuracy']")
    assert f"{100 * manifest['metrics']['validation_accuracy']:.1f}%" in row
    baseline = watched.page.inner_text(
        "#metrics tr[data-metric='baseline_validation_accuracy']"
    )
    assert (
        f"{100 * manifest['metrics']['baseline_validation_accuracy']:.1f}%" in baseline
    )
    assert watched.page.locator("#loss").is_visible()
    assert len(manifest["loss_curve"]["loss"]) <= 1000
    # a line was drawn: the loss canvas is not blank
    drawn = watched.page.eval_on_selector(
        "#loss",
        "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
        ".some((v, k) => k % 4 === 3 && v > 0)",
    )
    assert drawn


def test_the_keyboard_reaches_every_control(watched):
    watched.open()
    watched.page.check("#compare")
    watched.wait_ready()
    watched.page.wait_for_selector("#version-b:not([disabled])")
    controls = {
        "model",
        "version",
        "show-points",
        "compare",
        "version-b",
        "mode-side",
        "canvas-a",
        "canvas-b",
        "clear-probes",
    }
    reached = set()
    watched.page.focus("body")
    for _ in range(40):
        watched.page.keyboard.press("Tab")
        reached.add(watched.page.evaluate("document.activeElement.id"))
    assert controls <= reached, controls - reached
    # the map itself works from the keyboard: arrows move, Enter probes
    watched.page.focus("#canvas-a")
    for key in ["ArrowRight", "ArrowRight", "ArrowUp", "Enter"]:
        watched.page.keyboard.press(key)
    watched.page.locator("#probes tbody tr").first.wait_for()
    readout = watched.page.eval_on_selector("#readout", "r => ({...r.dataset})")
    data = watched.page.locator("#probes tbody tr").first.evaluate(
        "r => ({...r.dataset})"
    )
    assert float(data["x"]) == pytest.approx(float(readout["x"]))
    assert float(data["y"]) == pytest.approx(float(readout["y"]))
    # and the clear button (reached by Tab once there are probes)
    watched.page.focus("#clear-probes")
    watched.page.keyboard.press("Enter")
    assert watched.page.locator("#probes tbody tr").count() == 0


@pytest.fixture
def token_server(trained_registry, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("browser-token\n")
    server = Gunicorn(
        tmp_path, trained_registry, 1, SCRATCHNET_API_TOKENS_FILE=str(tokens)
    )
    try:
        yield server
    finally:
        server.stop()


def test_with_tokens_the_page_asks_for_one_and_keeps_it_for_the_tab(
    browser, token_server
):
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(token_server.url + "/")
        page.wait_for_selector("#token-form:not([hidden])", timeout=TIMEOUT_MS)
        page.fill("#token", "wrong-token")
        page.click("#token-use")
        page.wait_for_selector("#token-form:not([hidden])")
        page.wait_for_function(
            "document.getElementById('token-reason').textContent.includes('refused')"
        )
        page.fill("#token", "browser-token")
        page.click("#token-use")
        page.wait_for_selector("body[data-state=ready]", timeout=TIMEOUT_MS)
        assert page.evaluate("sessionStorage.getItem('scratchnet.token')") == (
            "browser-token"
        )
        page.reload()  # the same tab keeps it
        page.wait_for_selector("body[data-state=ready]", timeout=TIMEOUT_MS)
        assert page.is_hidden("#token-form")
    finally:
        context.close()
    assert errors == []
