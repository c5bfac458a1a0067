"""Clients that misbehave on purpose, and the well-behaved traffic that must go on.

Each bad client opens its connections over raw sockets, misbehaves for a while in a
thread of its own, and records when the server cut each connection off (seconds after
it opened; None if the server was still holding it at the end). `Traffic` is the
service's normal load meanwhile: one-point POST /predict calls on kept-alive
connections, and a /healthz probe on a new connection every half second, as a kubelet
sends it.
"""

import selectors
import socket
import statistics
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

# tcpi_state, the first byte of TCP_INFO (include/net/tcp_states.h)
_TCP_ESTABLISHED = 1
PREDICT_HEAD = (
    b"POST /predict HTTP/1.1\r\nHost: chaos\r\nContent-Type: application/json\r\n"
)


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


class BadClients:
    """`n_connections` misbehaving for `seconds` in a background thread.

    A connection the server cuts off is replaced by a new one, so the attack keeps
    its size for its whole length. After `join`: `cutoffs`, seconds from opening to
    the server's cut for every connection cut; `held`, the age of every connection
    still open at the end; `replies`, the first bytes the server sent on each.
    """

    def __init__(self, url: str, n_connections: int, seconds: float) -> None:
        self.address = _address(url)
        self.n_connections = n_connections
        self.seconds = seconds
        self.cutoffs: list[float] = []
        self.held: list[float] = []
        self.replies: list[bytes] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop = threading.Event()

    def start(self) -> "BadClients":
        self._thread.start()
        return self

    def join(self) -> list[float]:
        self._thread.join(self.seconds + 30)
        return self.cutoffs

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        raise NotImplementedError

    def _connect(self, first_bytes: bytes) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(first_bytes)
        sock.setblocking(False)
        return sock


class TrickleHeaders(BadClients):
    """Slowloris: a request line, then one more header byte a second, never done."""

    def _run(self) -> None:
        self._watch(lambda: self._connect(PREDICT_HEAD + b"X-Trickle: "), b"a")

    def _watch(self, connect: Callable[[], socket.socket], send: bytes = b"") -> None:
        _watch(self, connect, send)


class ShortBodies(TrickleHeaders):
    """Headers announce 1,000 body bytes; 20 are sent, then nothing."""

    def _run(self) -> None:
        head = PREDICT_HEAD + b"Content-Length: 1000\r\n\r\n"
        self._watch(lambda: self._connect(head + b'{"points": [[0.5, 0'))


class NeverRead(BadClients):
    """Ask for a large /boundary and never read a byte of it; not replaced when cut.

    A small receive buffer, so the response cannot hide in the client's kernel. The
    server cutting the connection shows in the socket's TCP state (a reset), since
    the unread response keeps the socket readable all along.
    """

    path = b"/boundary?nx=2000&ny=2000&format=json"

    def _run(self) -> None:
        socks = []
        for _ in range(self.n_connections):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(5)
            sock.connect(self.address)
            sock.sendall(b"GET " + self.path + b" HTTP/1.1\r\nHost: chaos\r\n\r\n")
            socks.append(sock)
        opened = time.monotonic()
        cutoffs: list[float | None] = [None] * len(socks)
        deadline = opened + self.seconds
        while time.monotonic() < deadline and not self._stop.is_set():
            for i, sock in enumerate(socks):
                if cutoffs[i] is None and _tcp_state(sock) != _TCP_ESTABLISHED:
                    cutoffs[i] = time.monotonic() - opened
            if all(c is not None for c in cutoffs):
                break
            time.sleep(0.2)
        age = time.monotonic() - opened
        for sock in socks:
            sock.close()
        self.cutoffs = [c for c in cutoffs if c is not None]
        self.held = [age for c in cutoffs if c is None]


def _tcp_state(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return struct.unpack("B", info[:1])[0]


def _watch(
    attack: BadClients, connect: Callable[[], socket.socket], send: bytes
) -> None:
    """Keep `attack.n_connections` open until its time is up, sending `send` on each
    once a second; note when the server closes one (EOF or reset) and replace it."""
    selector = selectors.DefaultSelector()
    opened_at: dict[socket.socket, float] = {}
    replies: dict[socket.socket, bytes] = {}

    def open_one() -> None:
        sock = connect()
        opened_at[sock] = time.monotonic()
        replies[sock] = b""
        selector.register(sock, selectors.EVENT_READ)

    def cut(sock: socket.socket) -> None:
        attack.cutoffs.append(time.monotonic() - opened_at.pop(sock))
        attack.replies.append(replies.pop(sock))
        selector.unregister(sock)
        sock.close()

    began = time.monotonic()
    deadline = began + attack.seconds
    next_send = began + 1.0
    try:
        for _ in range(attack.n_connections):
            open_one()
        while not attack._stop.is_set():
            now = time.monotonic()
            if now >= deadline:
                break
            if send and now >= next_send:
                next_send += 1.0
                for sock in list(opened_at):
                    try:
                        sock.send(send)
                    except OSError:
                        cut(sock)
            wake = min(deadline, next_send) if send else deadline
            for key, _ in selector.select(max(wake - now, 0.01)):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    replies[sock] += data[: max(0, 200 - len(replies[sock]))]
                else:
                    cut(sock)
            while len(opened_at) < attack.n_connections and time.monotonic() < deadline:
                open_one()
    finally:
        now = time.monotonic()
        attack.held = [now - opened for opened in opened_at.values()]
        attack.replies += list(replies.values())
        selector.close()
        for sock in opened_at:
            sock.close()


@dataclass
class TrafficReport:
    n_ok: int = 0
    n_failed: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, failures included
    health_ok: int = 0
    health_failed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def p99(self) -> float:
        """99th percentile latency, a failure counting as its full time-out."""
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100)[98]

    def summary(self) -> str:
        return (
            f"/predict {self.n_ok} ok, {self.n_failed} failed, p99 "
            f"{self.p99 * 1e3:.0f} ms; /healthz {self.health_ok} ok, "
            f"{self.health_failed} failed"
        )


class Traffic:
    """Normal calls from `n_clients` threads plus a /healthz probe, until `stop`."""

    def __init__(self, url: str, n_clients: int = 2, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self.report = TrafficReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._predict, daemon=True)
            for _ in range(n_clients)
        ]
        self._threads.append(threading.Thread(target=self._health, daemon=True))

    def __enter__(self) -> "Traffic":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> TrafficReport:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        return self.report

    def _predict(self) -> None:
        session = requests.Session()
        body = b'{"points": [[0.5, 0.25]]}'
        headers = {"Content-Type": "application/json"}
        while not self._stop.is_set():
            began = time.monotonic()
            error = None
            try:
                response = session.post(
                    f"{self.url}/predict",
                    data=body,
                    headers=headers,
                    timeout=self.timeout,
                )
                if response.status_code != 200 or not response.json()["labels"]:
                    error = f"/predict {response.status_code}"
            except (requests.RequestException, ValueError) as exc:
                error = f"/predict {type(exc).__name__}"
                session = requests.Session()
            elapsed = time.monotonic() - began
            with self._lock:
                self.report.latencies.append(elapsed)
                if error:
                    self.report.n_failed += 1
                    self.report.failures.append(error)
                else:
                    self.report.n_ok += 1
            # a client that calls now and then, not a load generator: the figure that
            # matters is whether calls get through, not how many
            time.sleep(0.02)

    def _health(self) -> None:
        while not self._stop.is_set():
            try:
                ok = requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            with self._lock:
                if ok:
                    self.report.health_ok += 1
                else:
                    self.report.health_failed += 1
                    self.report.failures.append("/healthz")
            self._stop.wait(0.5)
