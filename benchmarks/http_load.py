"""A cheap HTTP/1.1 load generator for the server benchmark: asyncio protocols over persistent
keep-alive loopback connections, requests encoded to bytes before any timing.

It is deliberately small: the server under test shares the machine's two cores with it, so
every microsecond the generator spends per request is taken from the server. No HTTP library
sits in the timed path; a response is read by its `Content-Length` (the server always sends
one) and kept as raw bytes, parsed only after the run.

Two drivers, each bounded by a request count and by seconds:

* `closed_loop`: N connections send back to back (a new request the moment the previous one
  is answered): the throughput the server sustains at N concurrent clients;
* `open_loop`: requests start on a fixed schedule (`rate` per second) whatever the answers
  do, on a pool of connections: the latency at that rate. Each latency is measured from the
  request's scheduled start, so a server that falls behind is charged for the queueing too
  (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

#: A loop that never ends is a bug here: every driver also has a hard limit.
MAX_SECONDS = 600.0


class ProtocolError(RuntimeError):
    """The server answered something this client does not read (no Content-Length, ...)."""


def encode_request(method: str, path: str, host: str, body: Optional[bytes] = None,
                   headers: Optional[dict[str, str]] = None) -> bytes:
    """One HTTP/1.1 keep-alive request as bytes, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (body or b"")


class _Connection(asyncio.Protocol):
    """One persistent connection answering one request at a time."""

    def __init__(self) -> None:
        self.transport: Optional[asyncio.Transport] = None
        self._buffer = bytearray()
        self._waiter: Optional[asyncio.Future] = None
        self._need: Optional[int] = None       # total bytes of the response being read
        self._head_end = 0
        self._status = 0
        self.lost: Optional[BaseException] = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.lost = exc or ConnectionResetError("the server closed the connection")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self.lost)

    def request(self, data: bytes) -> asyncio.Future:
        """Send `data`; the future resolves to (status, body bytes)."""
        if self.lost is not None:
            raise self.lost
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._waiter

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if self._need is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self._head_end = end + 4
            self._status, length = _parse_head(bytes(buffer[:end]))
            self._need = self._head_end + length
        if len(buffer) >= self._need:
            body = bytes(buffer[self._head_end:self._need])
            del buffer[:self._need]
            self._need = None
            waiter, self._waiter = self._waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result((self._status, body))


def _parse_head(head: bytes) -> tuple[int, int]:
    """(status, content length) of a response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return status, int(value.strip())
    raise ProtocolError(f"response without Content-Length: {head[:200]!r}")


async def _connect(host: str, port: int, count: int) -> list[_Connection]:
    loop = asyncio.get_running_loop()
    connections = []
    for _ in range(count):
        _, protocol = await loop.create_connection(_Connection, host, port)
        connections.append(protocol)
    return connections


def _close(connections: Sequence[_Connection]) -> None:
    for connection in connections:
        if connection.transport is not None:
            connection.transport.close()


@dataclass
class LoadRun:
    """What one driver run saw: per answered request its index into the request list, the
    latency (ns), the status and the raw body; and the wall time of the whole run."""

    mode: str
    clients: int
    rate: Optional[float] = None
    indexes: list = field(default_factory=list)
    latencies_ns: list = field(default_factory=list)
    statuses: list = field(default_factory=list)
    bodies: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies_ns)

    @property
    def throughput(self) -> float:
        """Answered requests per second of wall time."""
        return self.count / self.seconds if self.seconds > 0 else 0.0


async def closed_loop_async(host: str, port: int, requests: Sequence[bytes], clients: int,
                            max_requests: int, max_seconds: float) -> LoadRun:
    """`clients` connections, each sending request after request (cycling through
    `requests`) until `max_requests` are answered or `max_seconds` have passed."""
    connections = await _connect(host, port, clients)
    run = LoadRun("closed", clients)
    clock = time.perf_counter_ns
    deadline = clock() + int(min(max_seconds, MAX_SECONDS) * 1e9)
    next_index = 0

    async def client(connection: _Connection) -> None:
        nonlocal next_index
        while next_index < max_requests and clock() < deadline:
            index = next_index
            next_index += 1
            data = requests[index % len(requests)]
            started = clock()
            try:
                status, body = await connection.request(data)
            except (OSError, ProtocolError) as error:
                run.errors.append(f"{type(error).__name__}: {error}")
                return
            run.latencies_ns.append(clock() - started)
            run.indexes.append(index)
            run.statuses.append(status)
            run.bodies.append(body)

    began = clock()
    try:
        await asyncio.gather(*(client(c) for c in connections))
    finally:
        run.seconds = (clock() - began) / 1e9
        _close(connections)
    return run


async def open_loop_async(host: str, port: int, requests: Sequence[bytes], rate: float, connections: int,
                          max_requests: int, max_seconds: float) -> LoadRun:
    """Request i starts at `i / rate` s (on whichever of `connections` is free, waiting for
    one if none is); stops scheduling after `max_requests` or `max_seconds`, then waits for
    the answers still out (at most 30 s)."""
    pool = await _connect(host, port, connections)
    idle: asyncio.Queue = asyncio.Queue()
    for connection in pool:
        idle.put_nowait(connection)
    run = LoadRun("open", connections, rate=rate)
    clock = time.perf_counter_ns
    interval_ns = 1e9 / rate
    limit_ns = int(min(max_seconds, MAX_SECONDS) * 1e9)
    tasks = []

    async def one(index: int, scheduled: int) -> None:
        connection = await idle.get()
        try:
            status, body = await connection.request(requests[index % len(requests)])
        except (OSError, ProtocolError) as error:
            run.errors.append(f"{type(error).__name__}: {error}")
            return
        run.latencies_ns.append(clock() - scheduled)
        run.indexes.append(index)
        run.statuses.append(status)
        run.bodies.append(body)
        idle.put_nowait(connection)

    loop = asyncio.get_running_loop()
    paced = asyncio.Event()
    stopped = threading.Event()   # the run ended early (an error or a cancel): stop pacing

    def launch(index: int, scheduled: int) -> None:
        tasks.append(asyncio.ensure_future(one(index, scheduled)))

    def pace() -> None:
        # The schedule is kept by a thread sleeping with time.sleep (microsecond precision),
        # not by the event loop: uvloop's timers have millisecond resolution, so a loop that
        # waits for sub-millisecond starts either spins (its CPU then crowds the server on
        # these 2 cores) or starts up to 1 ms late. A request never starts before its time;
        # latency is measured from the schedule, so any late start is counted.
        try:
            for index in range(max_requests):
                scheduled = began + int(index * interval_ns)
                if scheduled - began > limit_ns or stopped.is_set():
                    break
                wait = scheduled - clock()
                if wait > 0:
                    time.sleep(wait / 1e9)
                loop.call_soon_threadsafe(launch, index, scheduled)
        finally:
            if not stopped.is_set():
                loop.call_soon_threadsafe(paced.set)

    began = clock()
    pacer = threading.Thread(target=pace, name="open-loop-pacer", daemon=True)
    try:
        pacer.start()
        await paced.wait()
        done, pending = await asyncio.wait(tasks, timeout=30) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        if pending:
            run.errors.append(f"{len(pending)} requests unanswered 30 s after the schedule ended")
    finally:
        stopped.set()
        run.seconds = (clock() - began) / 1e9
        _close(pool)
    return run


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed (uvicorn[standard] brings it): a cheaper loop for the generator."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_async(coroutine) -> object:
    """Run one driver coroutine on a fresh (uv)loop."""
    loop = _event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def closed_loop(host: str, port: int, requests: Sequence[bytes], clients: int, max_requests: int,
                max_seconds: float) -> LoadRun:
    """`closed_loop_async` on its own event loop."""
    return run_async(closed_loop_async(host, port, requests, clients, max_requests, max_seconds))


def open_loop(host: str, port: int, requests: Sequence[bytes], rate: float, connections: int,
              max_requests: int, max_seconds: float) -> LoadRun:
    """`open_loop_async` on its own event loop."""
    return run_async(open_loop_async(host, port, requests, rate, connections, max_requests, max_seconds))
