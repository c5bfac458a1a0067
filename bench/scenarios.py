"""What the serving benchmark measures: the requests, who answers them, the targets.

A scenario is one request shape (a /predict body, a /boundary format); its loads are
the rows of the table, one per server (and, for /boundary, per caching condition). The
targets are the issue's ratios between two loads of the same scenario.
"""

from dataclasses import dataclass
from pathlib import Path

from v2_bodies import INFER_PATH, V2Bodies

SERVICE = "service"
PLAIN = "plain"
CEILING = "ceiling"
# the same apps with sync workers, which close every connection: the ceiling the issue
# also names, and the service as it was before keep-alive
SERVICE_SYNC = "service-sync"
CEILING_SYNC = "ceiling-sync"

# row labels; a /boundary answer may be cached, so it is measured both ways
SERVICE_VARY = "service"
SERVICE_SAME_URL = "service, same URL"
PLAIN_FLASK = "plain Flask"
BARE_WSGI = "bare WSGI (ceiling)"
SERVICE_SYNC_LABEL = "service, sync workers (before)"
BARE_WSGI_SYNC = "bare WSGI, sync workers"
# the same points through the V2 protocol (issue 11), on the same service
V2_JSON = "service, V2 JSON"
V2_BINARY = "service, V2 binary"

GRID_SIZE = 1000
BOUNDARY_FORMATS = ("json", "npy", "png")


@dataclass(frozen=True)
class Load:
    """One row: a server, the request path and the wrk script that sends it."""

    label: str
    server: str
    path: str
    script: str
    script_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    loads: tuple[Load, ...]


@dataclass(frozen=True)
class Target:
    """`numerator` over `denominator` req/s in `scenario`; no `minimum`: context.

    A tuple of denominators means the best of them in each round.
    """

    scenario: str
    numerator: str
    denominator: str | tuple[str, ...]
    minimum: float | None

    @property
    def denominators(self) -> tuple[str, ...]:
        if isinstance(self.denominator, str):
            return (self.denominator,)
        return self.denominator

    @property
    def name(self) -> str:
        if isinstance(self.denominator, str):
            bottom = self.denominator
        else:
            bottom = "best of (" + ", ".join(self.denominator) + ")"
        return f"{self.scenario}: {self.numerator} / {bottom}"


# the ceiling "the better of sync and gthread" (issue 9): the ceiling under the
# service's own worker class, or with sync workers, whichever was faster that round
BEST_CEILING = (BARE_WSGI, BARE_WSGI_SYNC)

TARGETS = (
    # keep-alive speed (issue 9): against the ceiling under the same workers, which is
    # the fair ratio, and against the better of the two ceilings, the bar
    Target("predict-1", SERVICE_VARY, BARE_WSGI, 0.85),
    Target("predict-1", SERVICE_VARY, BEST_CEILING, 0.85),
    Target("predict-100", SERVICE_VARY, BARE_WSGI, 0.75),
    Target("predict-100", SERVICE_VARY, BEST_CEILING, 0.75),
    # "no worse than today at 10,000 points": today is the service on sync workers,
    # measured in the same run; 0.95 leaves room for the machine's round-to-round noise
    Target("predict-10000", SERVICE_VARY, SERVICE_SYNC_LABEL, 0.95),
    Target("predict-10000", SERVICE_VARY, PLAIN_FLASK, 4.0),
    Target("boundary-json", SERVICE_VARY, PLAIN_FLASK, 3.0),
    Target("boundary-npy", SERVICE_VARY, PLAIN_FLASK, 4.0),
    # for context: what keep-alive is worth, and the ratio before it
    Target("predict-1", SERVICE_VARY, SERVICE_SYNC_LABEL, None),
    Target("predict-1", SERVICE_SYNC_LABEL, BARE_WSGI_SYNC, None),
    Target("predict-1", BARE_WSGI, BARE_WSGI_SYNC, None),
    Target("predict-100", SERVICE_SYNC_LABEL, BARE_WSGI_SYNC, None),
    # for context: the issue quotes ~0.63x for the plain handler against the ceiling
    Target("predict-1", PLAIN_FLASK, BARE_WSGI, None),
    Target("predict-100", PLAIN_FLASK, BARE_WSGI, None),
    Target("boundary-json", SERVICE_SAME_URL, PLAIN_FLASK, None),
    Target("boundary-npy", SERVICE_SAME_URL, PLAIN_FLASK, None),
    # issue 11: large batches. JSON /predict against the ceiling reading the same
    # body; the binary tensor extension against JSON /predict; V2 JSON near /predict
    Target("predict-10000", SERVICE_VARY, BARE_WSGI, 0.25),
    Target("predict-10000", V2_BINARY, SERVICE_VARY, 4.0),
    Target("predict-1", V2_JSON, SERVICE_VARY, 0.85),
    Target("predict-100", V2_JSON, SERVICE_VARY, 0.85),
    Target("predict-10000", V2_JSON, SERVICE_VARY, 0.85),
    Target("predict-1", V2_BINARY, SERVICE_VARY, None),
    Target("predict-100", V2_BINARY, SERVICE_VARY, None),
)


def build_scenarios(
    bodies: dict[int, Path],
    bounds: tuple[float, float, float, float],
    servers: set[str],
    only: list[str] | None = None,
    v2_bodies: dict[int, V2Bodies] | None = None,
    model: str = "moons",
) -> list[Scenario]:
    """Every scenario, keeping the loads whose server runs and the keys in `only`."""
    v2_bodies = v2_bodies or {}
    scenarios = [
        _predict(n_points, body, v2_bodies.get(n_points), model)
        for n_points, body in bodies.items()
    ]
    scenarios += [_boundary(fmt, bounds) for fmt in BOUNDARY_FORMATS]
    kept = []
    for scenario in scenarios:
        loads = tuple(load for load in scenario.loads if load.server in servers)
        if loads and (only is None or scenario.key in only):
            kept.append(Scenario(scenario.key, scenario.title, loads))
    return kept


def _predict(
    n_points: int, body: Path, v2: V2Bodies | None = None, model: str = "moons"
) -> Scenario:
    # each target's two loads run next to each other, whichever way a round goes
    rows = [(SERVICE_VARY, SERVICE), (PLAIN_FLASK, PLAIN)]
    # the sync ceiling is the yardstick of the small requests only; for 10,000 points
    # the gthread ceiling reading the same body bounds what the parsing may cost
    if n_points <= 100:
        rows[1:1] = [(BARE_WSGI, CEILING), (BARE_WSGI_SYNC, CEILING_SYNC)]
    else:
        rows.insert(1, (BARE_WSGI, CEILING))
    # the service before keep-alive, next to the service: what the change is worth
    rows.insert(1, (SERVICE_SYNC_LABEL, SERVICE_SYNC))
    loads = [
        Load(label, server, "/predict", "post.lua", (str(body),))
        for label, server in rows
    ]
    if v2 is not None:
        # next to the JSON /predict they are measured against
        path = INFER_PATH.format(model=model)
        loads[1:1] = [
            Load(V2_JSON, SERVICE, path, "post_v2.lua", (str(v2.json),)),
            Load(
                V2_BINARY,
                SERVICE,
                path,
                "post_v2.lua",
                (str(v2.binary), str(v2.header_length)),
            ),
        ]
    loads = tuple(loads)
    noun = "point" if n_points == 1 else "points"
    return Scenario(f"predict-{n_points}", f"POST /predict, {n_points:,} {noun}", loads)


def _boundary(fmt: str, bounds: tuple[float, float, float, float]) -> Scenario:
    path = f"/boundary?nx={GRID_SIZE}&ny={GRID_SIZE}&format={fmt}"
    names = ("x_min", "x_max", "y_min", "y_max")
    fixed = "&".join(
        f"{name}={value!r}" for name, value in zip(names, bounds, strict=True)
    )
    vary = tuple(repr(value) for value in bounds)
    # bounds move by nanounits on every request: no response cache can answer, and
    # the plain handler gets exactly the requests the service gets
    loads = [
        Load(SERVICE_SAME_URL, SERVICE, f"{path}&{fixed}", "get.lua"),
        Load(SERVICE_VARY, SERVICE, path, "boundary_vary.lua", vary),
    ]
    if fmt != "png":
        loads.append(Load(PLAIN_FLASK, PLAIN, path, "boundary_vary.lua", vary))
    title = f"GET /boundary {GRID_SIZE}x{GRID_SIZE}, {fmt}"
    return Scenario(f"boundary-{fmt}", title, tuple(loads))
