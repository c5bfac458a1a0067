"""Every way a client can get /predict and /boundary input wrong, without a server."""

import math
import re

import numpy as np
import pytest

from service.errors import ApiError
from service.grid_fields import GridRequest, parse_grid_body, parse_grid_query
from service.openapi import document
from service.settings import Settings
from service.validation import (
    check_body_size,
    only_known_strings,
    parse_json,
    parse_points,
    parse_version,
    query_fields,
    require_json,
)
from trainer.errors import InvalidNameError
from trainer.registry.names import check_alias

MAX_POINTS, MAX_ABS, MAX_CELLS = 1000, 1e6, 100_000


def points_from(body: bytes, n_features: int = 2) -> np.ndarray:
    return parse_points(parse_json(body), body, n_features, MAX_POINTS, MAX_ABS)


def rejection(call, *args) -> ApiError:
    with pytest.raises(ApiError) as info:
        call(*args)
    return info.value


@pytest.mark.parametrize("n_samples", [1, 3, 200])
def test_valid_points_become_a_float_matrix(n_samples):
    rng = np.random.default_rng(n_samples)
    X = rng.normal(size=(n_samples, 2))
    X[0] = [3, -4]  # integers are numbers too
    body = '{"points": [' + ",".join(f"[{a!r}, {b!r}]" for a, b in X.tolist()) + "]}"
    body = body.replace("[3.0, -4.0]", "[3, -4]").encode()
    parsed = points_from(body)
    assert parsed.dtype == np.float64 and parsed.shape == (n_samples, 2)
    np.testing.assert_array_equal(parsed, X)


@pytest.mark.parametrize("size", [1, 100])  # both the per-value and the numpy path
@pytest.mark.parametrize(
    ("bad_point", "words"),
    [
        ("[1, 2, 3]", "each point needs 2 features, points[{i}] has 3"),
        ("[1]", "each point needs 2 features, points[{i}] has 1"),
        ("[]", "each point needs 2 features, points[{i}] has 0"),
        ('[1, "2"]', "points[{i}][1] must be a number, got a string"),
        ("[true, 2]", "points[{i}][0] must be a number, got a boolean"),
        ("[1, false]", "points[{i}][1] must be a number, got a boolean"),
        ("[null, 2]", "points[{i}][0] must be a number, got null"),
        ("[[1, 2], 2]", "points[{i}][0] must be a number, got a list"),
        ('{"x": 1, "y": 2}', "points[{i}] must be a list of 2 numbers, got an object"),
        ("7", "points[{i}] must be a list of 2 numbers, got a number"),
        ("[1e300, 2]", "points[{i}][0] is 1e+300; numbers must be finite"),
    ],
)
def test_a_bad_point_is_named_with_its_index(size, bad_point, words):
    i = size - 1
    points = ["[0.5, 0.25]"] * (size - 1) + [bad_point]
    body = ('{"points": [' + ", ".join(points) + "]}").encode()
    error = rejection(points_from, body)
    assert (error.status, error.code) == (400, "invalid_points")
    assert words.format(i=i) in error.message


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused_by_the_parser(literal):
    error = rejection(parse_json, f'{{"points": [[{literal}, 1]]}}'.encode())
    assert (error.status, error.code) == (400, "invalid_json")
    assert "are not JSON numbers" in error.message


def test_a_cut_off_body_is_not_told_about_nan():
    error = rejection(parse_json, b'{"points": [[1, 2]]')
    assert "NaN" not in error.message


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (b"", "invalid_json", "empty"),
        (b'{"points": [[1, 2]]', "invalid_json", "not valid JSON"),
        (b"\xff\xfe", "invalid_json", "not valid JSON"),
    ],
)
def test_unparseable_bodies(body, code, words):
    error = rejection(parse_json, body)
    assert (error.status, error.code) == (400, code) and words in error.message


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (b"[[1, 2]]", "invalid_body", "must be a JSON object"),
        (b'"points"', "invalid_body", "must be a JSON object"),
        (b"{}", "missing_field", "needs the field 'points'"),
        (b'{"point": [[1, 2]]}', "unknown_field", "unknown field(s) 'point'"),
        (b'{"points": [[1, 2]], "extra": 1}', "unknown_field", "'extra'"),
        (b'{"points": {"a": [1, 2]}}', "invalid_points", "got an object"),
        (b'{"points": "1,2"}', "invalid_points", "got a string"),
        (b'{"points": null}', "invalid_points", "got null"),
        (b'{"points": []}', "invalid_points", "at least one point"),
    ],
)
def test_malformed_documents(body, code, words):
    error = rejection(points_from, body)
    assert (error.status, error.code) == (400, code) and words in error.message


def test_too_many_points_is_413_and_says_the_limit():
    body = ('{"points": [' + ",".join(["[1, 2]"] * (MAX_POINTS + 1)) + "]}").encode()
    error = rejection(points_from, body)
    assert (error.status, error.code) == (413, "too_many_points")
    assert (
        f"{MAX_POINTS + 1} points" in error.message and str(MAX_POINTS) in error.message
    )


def test_features_count_follows_the_model():
    assert points_from(b'{"points": [[1, 2, 3]]}', n_features=3).shape == (1, 3)
    error = rejection(points_from, b'{"points": [[1, 2]]}', 3)
    assert "each point needs 3 features, points[0] has 2" in error.message


@pytest.mark.parametrize(
    ("n_features", "example"),
    [
        (1, '{"points": [[x1], ...]}'),
        (2, '{"points": [[x1, x2], ...]}'),
        (3, '{"points": [[x1, x2, x3], ...]}'),
        (12, '{"points": [[x1, x2, ..., x12], ...]}'),
    ],
)
@pytest.mark.parametrize("body", [b"{}", b"[]", b'{"point": []}'])
def test_the_example_in_a_message_has_the_model_s_features(body, n_features, example):
    error = rejection(points_from, body, n_features)
    assert error.message.endswith(f"like {example}"), error.message


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
    ],
)
def test_json_content_types_pass(content_type):
    require_json(content_type)


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "application/x-www-form-urlencoded"]
)
def test_other_content_types_are_415(content_type):
    error = rejection(require_json, content_type)
    assert (error.status, error.code) == (415, "unsupported_media_type")
    assert "application/json" in error.message


def test_body_size_limit():
    check_body_size(100, 100)
    check_body_size(None, 100)
    error = rejection(check_body_size, 101, 100)
    assert (error.status, error.code) == (413, "body_too_large")


def test_query_fields_refuse_unknown_and_repeated_names():
    assert query_fields([("model", "moons")], ("model", "version")) == {
        "model": "moons"
    }
    error = rejection(query_fields, [("modle", "moons")], ("model", "version"))
    assert error.code == "unknown_parameter" and "'modle'" in error.message
    error = rejection(query_fields, [("nx", "1"), ("nx", "2")], ("nx",))
    assert error.code == "invalid_parameter" and "twice" in error.message


@pytest.mark.parametrize(
    ("raw", "parsed"), [(None, None), ("3", 3), ("production", "production")]
)
def test_versions_are_numbers_or_aliases(raw, parsed):
    assert parse_version(raw) == parsed


@pytest.mark.parametrize(
    "raw", ["0", "-1", "1.5", "", "x" * 100, "has space", "a.b", "v1.2", "_x", "é"]
)
def test_bad_versions_are_400(raw):
    error = rejection(parse_version, raw)
    assert (error.status, error.code) == (400, "invalid_parameter")
    if not raw.isdigit():
        assert "an alias name (a letter, then up to 63 letters" in error.message


VERSION_SPELLINGS = [
    "1", "7", "42", "9" * 18, "production", "canary-2", "a_b", "A" + "b" * 63,
    "0", "01", "-1", "+1", "1.5", "", " 1", "a.b", "v1.2", "_x", "-x", "a/b", "a b",
    "A" + "b" * 64, "é", "x\n",
]  # fmt: skip


@pytest.mark.parametrize("raw", VERSION_SPELLINGS)
def test_the_service_and_openapi_take_the_aliases_the_registry_can_hold(raw):
    # one rule, trainer.registry.names: what parse_version lets through as an alias
    # is what the registry accepts, and the document's pattern says the same
    try:
        as_alias = isinstance(parse_version(raw), str)
    except ApiError:
        as_alias = False
    try:
        check_alias(raw)
        holdable = True
    except InvalidNameError:
        holdable = False
    assert as_alias == holdable
    operation = document(Settings())["paths"]["/models/{name}/versions/{version}"]
    pattern = operation["get"]["parameters"][1]["schema"]["pattern"]
    digits = raw.isascii() and raw.isdigit() and not raw.startswith("0")
    assert bool(re.fullmatch(pattern, raw)) == (holdable or digits)


def test_grid_query_defaults_and_conversions():
    assert parse_grid_query({}, MAX_CELLS, MAX_ABS) == GridRequest()
    grid = parse_grid_query(
        {"x_min": "-1.5", "x_max": "2", "nx": "10", "ny": "20", "format": "png"},
        MAX_CELLS,
        MAX_ABS,
    )
    assert grid == GridRequest(x_min=-1.5, x_max=2.0, nx=10, ny=20, format="png")


@pytest.mark.parametrize(
    ("fields", "status", "code", "words"),
    [
        ({"x_min": "abc"}, 400, "invalid_parameter", "x_min must be a number"),
        ({"y_max": "nan"}, 400, "invalid_parameter", "finite"),
        ({"y_max": "inf"}, 400, "invalid_parameter", "finite"),
        ({"x_min": "1e7"}, 400, "invalid_parameter", "within"),
        ({"nx": "0"}, 400, "invalid_parameter", "nx must be an integer from 1"),
        ({"ny": "-3"}, 400, "invalid_parameter", "ny must be an integer"),
        ({"nx": "2.5"}, 400, "invalid_parameter", "nx must be an integer"),
        ({"nx": "ten"}, 400, "invalid_parameter", "nx must be an integer"),
        ({"format": "gif"}, 400, "invalid_parameter", "format must be one of json"),
        ({"nx": "400", "ny": "400"}, 413, "too_many_cells", "160000 cells"),
        ({"nx": str(MAX_CELLS + 1)}, 413, "too_many_cells", "nx must be"),
    ],
)
def test_bad_grid_queries(fields, status, code, words):
    error = rejection(parse_grid_query, fields, MAX_CELLS, MAX_ABS)
    assert (error.status, error.code) == (status, code)
    assert words in error.message


def test_grid_body_takes_json_types():
    grid = parse_grid_body(
        {"x_min": -1, "nx": 10.0, "format": "npy"}, MAX_CELLS, MAX_ABS
    )
    assert grid == GridRequest(x_min=-1.0, nx=10, format="npy")
    assert parse_grid_body({}, MAX_CELLS, MAX_ABS) == GridRequest()


@pytest.mark.parametrize(
    ("doc", "code", "words"),
    [
        ([1, 2], "invalid_body", "JSON object"),
        ({"nx": "10"}, "invalid_parameter", "nx must be an integer"),
        ({"nx": True}, "invalid_parameter", "nx must be an integer"),
        ({"nx": 10.5}, "invalid_parameter", "nx must be an integer"),
        ({"x_min": "1"}, "invalid_parameter", "x_min must be a number, got a string"),
        ({"x_max": False}, "invalid_parameter", "got a boolean"),
        # null is not "left out": the schema says number, so it is refused
        ({"x_min": None}, "invalid_parameter", "x_min must be a number, got null"),
        ({"nx": None}, "invalid_parameter", "nx must be an integer"),
        ({"format": None}, "invalid_parameter", "format must be one of"),
        ({"x_min": math.inf}, "invalid_parameter", "finite"),
        ({"bogus": 1}, "unknown_field", "'bogus'"),
        ({"model": "moons"}, "unknown_field", "model and version are query parameters"),
    ],
)
def test_bad_grid_bodies(doc, code, words):
    error = rejection(parse_grid_body, doc, MAX_CELLS, MAX_ABS)
    assert (error.status, error.code) == (400, code)
    assert words in error.message


@pytest.mark.parametrize(
    "body",
    [
        b'{"points": [[1, 2]], "points": [[3, 4]]}',
        b'{"points": "not points", "points": [[3, 4]]}',
        # many points: the whole-array path, then the slow one
        b'{"points": 1, "points": [' + b",".join([b"[0.5, 0.25]"] * 100) + b"]}",
    ],
)
def test_a_field_given_twice_is_refused_not_resolved(body):
    # orjson keeps the last one; another parser on the way may keep the first
    error = rejection(points_from, body)
    assert (error.status, error.code) == (400, "duplicate_field")
    assert "'points' is given twice" in error.message


@pytest.mark.parametrize(
    ("body", "known"),
    [
        (b'{"points": [[1, 2]]}', True),
        (b'{"nx": 1, "format": "npy"}', True),
        (b'{"p\\u006fints": [[1, 2]]}', True),  # an escape is no quote
        (b'{"points": [[1, 2]], "points": [[1, 2]]}', False),  # a repeated key
        (b'{"points": [["1", 2]]}', False),  # a string deeper down
        (b'{"format": "a\\"b"}', False),  # a quote inside a string
    ],
)
def test_only_known_strings_counts_the_quotes_of_the_documents_own_strings(body, known):
    assert only_known_strings(parse_json(body), body) is known


def test_a_grid_field_given_twice_is_refused():
    body = b'{"nx": 10, "format": "npy", "nx": 20}'
    error = rejection(parse_grid_body, parse_json(body), MAX_CELLS, MAX_ABS, body)
    assert (error.status, error.code) == (400, "duplicate_field")
    assert "'nx' is given twice" in error.message
    once = b'{"nx": 10, "format": "npy", "ny": 20}'
    grid = parse_grid_body(parse_json(once), MAX_CELLS, MAX_ABS, once)
    assert (grid.nx, grid.ny, grid.format) == (10, 20, "npy")


@pytest.mark.parametrize(
    "fields",
    [
        {"nx": "5_0"},  # int() reads 50
        {"nx": " 5"},
        {"nx": "+5"},
        {"nx": "\uff15"},  # a fullwidth 5
        {"x_min": "1_0"},  # float() reads 10.0
        {"x_min": " 1"},
        {"x_min": "\uff11"},
        {"x_min": "infinity"},
        {"x_min": "0x10"},
    ],
)
def test_grid_query_numbers_are_spelt_as_in_json(fields):
    error = rejection(parse_grid_query, fields, MAX_CELLS, MAX_ABS)
    assert (error.status, error.code) == (400, "invalid_parameter")


def test_grid_query_numbers_in_json_spelling_pass():
    grid = parse_grid_query(
        {"x_min": "-1.5e0", "x_max": "+.5", "y_min": "-2", "y_max": "3.", "nx": "007"},
        MAX_CELLS,
        MAX_ABS,
    )
    assert (grid.x_min, grid.x_max, grid.y_min, grid.y_max, grid.nx) == (
        -1.5,
        0.5,
        -2.0,
        3.0,
        7,
    )


def test_a_version_too_long_to_exist_is_not_found():
    error = rejection(parse_version, "9" * 19)
    assert (error.status, error.code) == (404, "version_not_found")
    assert parse_version("0" * 30 + "7") == 7


def test_a_route_without_query_parameters_says_so():
    error = rejection(query_fields, [("x", "1")], ())
    assert "this route takes no query parameters" in error.message
    hinted = rejection(query_fields, [("nx", "1")], ("model",), "; put it in the body")
    assert hinted.message.endswith("allowed: model; put it in the body")
