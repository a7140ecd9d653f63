"""The server's own cost per decision, without HTTP: `POST /api/authorize` sent straight to the
ASGI app (no socket, no uvicorn) one request at a time, against `FactStore.authorize` called
directly with the same arguments. The difference is what oso_server adds on top of the fact
store (keys, body, JSON, ids, observers, the thread hop); docs/server-performance.md.

    python -m benchmarks.server_asgi                  # SQLite file, 10k role facts, 5,000 requests
    python -m benchmarks.server_asgi --threads 4 --requests 20000
    python -m benchmarks.server_asgi --profile        # cProfile of the ASGI loop, by own time
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from oso_core.values import Value
from oso_server import ServerConfig, create_app
from oso_server.keys import DEV_TEST_KEY

from . import facts_dataset as fd
from . import facts_policy as fp
from . import server_requests as sr

HEADERS = [(b"host", b"bench"), (b"authorization", f"Bearer {DEV_TEST_KEY}".encode()),
           (b"content-type", b"application/json"), (b"accept", b"application/json")]


class AsgiDriver:
    """Calls an ASGI app with one complete request body and collects the answer."""

    def __init__(self, app) -> None:
        self.app = app

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) of `POST path`."""
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [*HEADERS, (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080)}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list = []

        async def receive() -> dict:
            if messages:
                return messages.pop()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def measure(scale: float, requests: int, threads: int, profile: bool) -> None:
    data = fd.generate(fd.Sizes(scale))
    directory = Path(tempfile.mkdtemp(prefix="oso_srvasgi_"))
    policy = directory / "github.polar"
    policy.write_text(fp.POLICY)
    app = create_app(ServerConfig(database=str(directory / "facts.sqlite3"), data_dir=directory,
                                  policy_files=[policy], handler_threads=threads))
    driver = AsgiDriver(app)
    encoder = sr.Encoder("bench", 0, DEV_TEST_KEY)
    for batch in encoder.batches(data.facts(), 20_000):
        status, answer = await driver.post("/api/batch", batch.split(b"\r\n\r\n", 1)[1])
        if status != 200:
            raise SystemExit(f"bulk load failed: {status} {answer[:200]!r}")
    decisions = sr.authorize_decisions(encoder, data, 1000)
    bodies = [d.request.split(b"\r\n\r\n", 1)[1] for d in decisions]
    for body in bodies[:200]:  # warm the statement caches
        await driver.post("/api/authorize", body)

    started, cpu = time.perf_counter(), time.process_time()
    for i in range(requests):
        status, answer = await driver.post("/api/authorize", bodies[i % len(bodies)])
        if status != 200 or json.loads(answer) != {"allowed": decisions[i % len(bodies)].expected}:
            raise SystemExit(f"wrong answer: {status} {answer[:200]!r}")
    app_us = (time.perf_counter() - started) / requests * 1e6
    app_cpu_us = (time.process_time() - cpu) / requests * 1e6

    store = app.state.server.environments.get("default")
    arguments = [json.loads(body) for body in bodies]
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(requests):
        a = arguments[i % len(arguments)]
        store.authorize(Value(a["actor_type"], a["actor_id"]), a["action"],
                        Value(a["resource_type"], a["resource_id"]), [])
    store_us = (time.perf_counter() - started) / requests * 1e6
    store_cpu_us = (time.process_time() - cpu) / requests * 1e6
    # CPU time as well as wall time: on a shared machine the wall time includes other jobs' turns.
    print(f"{data.fact_count:,} facts, SQLite file, handler threads {threads}: authorize through the ASGI app "
          f"{app_us:.0f} us ({app_cpu_us:.0f} us CPU); FactStore.authorize alone {store_us:.0f} us "
          f"({store_cpu_us:.0f} us CPU); the server adds {app_cpu_us - store_cpu_us:.0f} us of CPU")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(requests):
            await driver.post("/api/authorize", bodies[i % len(bodies)])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    app.state.server.close()


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server_asgi", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.01, help="dataset scale (1.0 = 1M role facts)")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=0, help="handler threads (0: on the event loop)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    asyncio.run(measure(args.scale, args.requests, args.threads, args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
