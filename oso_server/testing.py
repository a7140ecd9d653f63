"""Run a real oso_server process in your own tests (docs/server-operations.md, "Testing against a
server process").

```python
from oso_server.testing import running_server

with running_server(["--dev", "--data-dir", str(tmp_path), "--policy", "policy.polar"]) as server:
    oso = Oso(url=server.url, api_key=DEV_TEST_KEY)
    ...
```

`ServerProcess` starts `python -m oso_server serve` (the running interpreter, so the same
environment) on a free loopback port, waits until `GET /api/healthcheck` answers 200, and stops
it: SIGTERM to its process group (which reaches `--workers` processes too), SIGKILL after 10 s.
The server's output goes to a log file (`log()` reads it); a server that exits or does not
answer in time raises `ServerStartError` with that output. Only the standard library is used.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence, Union

__all__ = ["DEFAULT_HOST", "START_TIMEOUT", "ServerProcess", "ServerStartError", "free_port", "running_server",
           "serve_command", "stop_process_group", "wait_healthy"]

DEFAULT_HOST = "127.0.0.1"
#: Seconds a server may take to answer its first healthcheck (imports, schema, policy load).
START_TIMEOUT = 30.0
#: Seconds `stop()` waits after SIGTERM before SIGKILL.
STOP_TIMEOUT = 10.0


class ServerStartError(RuntimeError):
    """The server process exited, or did not answer its healthcheck in time; the message holds
    its output."""


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port free on `host` right now (another process may still take it before the server
    binds it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = START_TIMEOUT,
                 interval: float = 0.1) -> None:
    """Poll `url`/api/healthcheck until it answers 200. ServerStartError if `process` exits
    first, TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"oso_server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/healthcheck", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet
        time.sleep(interval)
    raise TimeoutError(f"oso_server did not answer {url}/api/healthcheck within {timeout} s")


def serve_command(args: Sequence[str], host: str, port: int, python: Sequence[str] = ()) -> list[str]:
    """`python -m oso_server serve --host HOST --port PORT ARGS`; `python` defaults to the running
    interpreter (give e.g. `[sys.executable, "-m", "cProfile", "-o", "out.prof"]` to wrap it)."""
    return [*(python or [sys.executable]), "-m", "oso_server", "serve", "--host", host, "--port", str(port), *args]


def stop_process_group(process: subprocess.Popen, timeout: float = STOP_TIMEOUT,
                       first_signal: int = signal.SIGTERM) -> None:
    """`first_signal` (SIGTERM) to the process group `process` leads (started with
    `start_new_session=True`), SIGKILL after `timeout` seconds; nothing if it has already ended."""
    if process.poll() is not None:
        return
    _signal_group(process, first_signal)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass  # already gone (its group with it)


class ServerProcess:
    """A running `python -m oso_server serve ARGS --host HOST --port PORT`; `url` is its base URL.

    `args` are further `serve` options (`--data-dir`, `--policy`, `--database`, `--dev`, ...).
    `env` is added to this process's environment. `log_path` receives the server's output
    (default: a new file in the temp directory, kept for reading after the end). `python`
    replaces the interpreter command (see `serve_command`)."""

    def __init__(self, args: Sequence[str] = (), *, port: Optional[int] = None, host: str = DEFAULT_HOST,
                 env: Optional[Mapping[str, str]] = None, log_path: Union[str, Path, None] = None,
                 cwd: Union[str, Path, None] = None, start_timeout: float = START_TIMEOUT,
                 poll_interval: float = 0.1, python: Sequence[str] = ()) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        if log_path is None:
            handle, name = tempfile.mkstemp(prefix=f"oso_server-{self.port}-", suffix=".log")
            os.close(handle)
            log_path = name
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = serve_command(args, host, self.port, python)
        self._log = open(self.log_path, "wb")
        # Its own process group, so that stop() and kill() reach uvicorn's worker processes too.
        self.process = subprocess.Popen(command, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})}, start_new_session=True)
        try:
            wait_healthy(self.url, self.process, start_timeout, poll_interval)
        except (ServerStartError, TimeoutError) as error:
            self.stop()
            raise ServerStartError(f"{error}:\n{self.log()}") from None

    def log(self) -> str:
        """What the server printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the server dies at once, in the middle of whatever it was doing."""
        _signal_group(self.process, signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)
        self._log.close()

    def stop(self) -> None:
        """SIGTERM (a clean shutdown), SIGKILL after 10 s; nothing if it has already ended."""
        stop_process_group(self.process)
        self._log.close()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def running_server(args: Sequence[str] = (), **options: object) -> Iterator[ServerProcess]:
    """A `ServerProcess(args, **options)` for the block's duration, stopped at its end."""
    server = ServerProcess(args, **options)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
