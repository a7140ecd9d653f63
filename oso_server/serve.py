"""`python -m oso_server serve`: build a `ServerConfig` from the command line and the
environment, and run the app under uvicorn with its background tasks (the policy refresher
that keeps replicas in step, and `--watch`). docs/server-operations.md."""

from __future__ import annotations

import argparse
import base64
import gc
import logging
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from oso_core.exceptions import OsoError
from oso_core.facts import FactStoreError

from .config import DEFAULT_HANDLER_THREADS, DEFAULT_HOST, MAX_HANDLER_THREADS, ServerConfig, \
    default_data_dir, default_port
from .config_file import KEYS_VARIABLE, KeyConfigError, keys_from_environment, keys_from_file
from .keys import DEFAULT_ENVIRONMENT, KeyRing, key_ring
from .replicas import PolicyRefresher
from .watch import PolicyWatcher, describe_load_error

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger("oso_server")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WORKER_ARGS_VARIABLE = "OSO_SERVER_WORKER_ARGS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `serve`."""
    parser.add_argument("--policy", action="append", type=Path, default=[], metavar="FILE",
                        help="a policy file to load at start (repeat for several files)")
    parser.add_argument("--database", help="a SQLAlchemy URL (postgresql+psycopg://...) or a SQLite file; "
                                           "default: facts.sqlite3 in the data directory")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the default SQLite file lives (default: $OSO_DIRECTORY, else ./oso-data)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: $OSO_PORT, else 8080)")
    parser.add_argument("--environment", default=DEFAULT_ENVIRONMENT,
                        help="the environment --policy loads into (default: 'default')")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help=f"a TOML file of API keys ([[keys]] tables); more keys may come from ${KEYS_VARIABLE}")
    parser.add_argument("--dev", action="store_true",
                        help="also accept Oso's public Dev Server test key when keys are configured")
    parser.add_argument("--watch", action="store_true", help="reload the --policy files when they change")
    parser.add_argument("--decision-log", metavar="PATH|-",
                        help="write one JSON line per decision request to PATH (appended), or '-' for stdout")
    parser.add_argument("--metrics-key-required", action="store_true", help="GET /metrics needs an API key")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="server processes sharing the port (default 1); each is a replica on the same database")
    parser.add_argument("--threads", type=int, default=DEFAULT_HANDLER_THREADS, metavar="N",
                        help=f"threads per process running the handlers (default {DEFAULT_HANDLER_THREADS}, at most "
                             f"{MAX_HANDLER_THREADS}; 0: handlers run on the event loop, one request at a time per "
                             "process: scale with --workers)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def keys_from_args(args: argparse.Namespace) -> tuple[KeyRing, bool]:
    """The keys the options and `$OSO_SERVER_KEYS` configure, and whether in dev mode."""
    configured = keys_from_environment()
    if args.config is not None:
        configured += keys_from_file(args.config)
    try:
        return key_ring(configured, args.dev)
    except ValueError as error:
        raise KeyConfigError(str(error)) from None


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The configuration the options describe (ValueError if it cannot be used)."""
    threads = getattr(args, "threads", DEFAULT_HANDLER_THREADS)
    if not 0 <= threads <= MAX_HANDLER_THREADS:
        raise ValueError(f"--threads must be 0 to {MAX_HANDLER_THREADS} (each handler thread may hold one of the "
                         f"15 database connections of a process), got {threads}")
    if getattr(args, "workers", 1) < 1:
        raise ValueError("--workers must be at least 1")
    if args.watch and not args.policy:
        raise ValueError("--watch needs at least one --policy file to watch")
    keys, dev = keys_from_args(args)
    if dev:
        extra = "" if len(keys.keys) == 1 else " besides the configured keys"
        log.warning("dev mode: accepting Oso's public Dev Server test key (read-write on environment %r)%s; "
                    "anyone may use it: configure API keys (--config or $%s) and drop --dev outside development",
                    DEFAULT_ENVIRONMENT, extra, KEYS_VARIABLE)
    for key in keys.keys:
        log.info("API key %r: environment %r, %s", key.name, key.environment,
                 "read-only" if key.read_only else "read-write")
    port = args.port if args.port is not None else default_port()
    return ServerConfig(database=args.database, data_dir=args.data_dir or default_data_dir(), keys=keys,
                        policy_files=list(args.policy), environment=args.environment, host=args.host, port=port,
                        watch=args.watch, decision_log=args.decision_log,
                        metrics_key_required=args.metrics_key_required, handler_threads=threads)


def build_app(config: ServerConfig) -> "Starlette":
    """The app of one server process with its background tasks started (the policy refresher,
    and the watcher with `--watch`)."""
    from .app import create_app

    app = create_app(config)
    environments = app.state.server.environments
    environments.start(PolicyRefresher(environments))
    if config.watch:
        environments.start(PolicyWatcher(lambda: environments.get(config.environment), config.policy_files))
        log.info("watching %s for changes", ", ".join(map(str, config.policy_files)))
    log.info("oso_server on http://%s:%d (database %s; %s)", config.host, config.port,
             environments.engine.url.render_as_string(hide_password=True),
             f"{config.handler_threads} handler threads" if config.handler_threads else "handlers on the event loop")
    # What is built so far (policy, compiled rules, SQLAlchemy) lives as long as the process:
    # out of the collector's generations, a full collection scans only what requests allocate
    # instead of pausing every request in flight for tens of ms (the p99 at 2,000/s). Only in
    # a serving process: an app built in a user's process (tests) keeps its objects collectable.
    gc.collect()
    gc.freeze()
    return app


def worker_app() -> "Starlette":
    """The app factory each `--workers` process calls: the options come from the parent
    through `$OSO_SERVER_WORKER_ARGS` (pickled `serve` options; the parent sets it for its own
    children only)."""
    args = pickle.loads(base64.b64decode(os.environ[WORKER_ARGS_VARIABLE]))
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    return build_app(config_from_args(args))


def run(config: ServerConfig, log_level: str = "info", workers: int = 1,
        args: Optional[argparse.Namespace] = None) -> None:
    """Serve until interrupted: one process, or `workers` processes (uvicorn's supervisor)
    each building its own app from `args` (the same options: each is a replica)."""
    import uvicorn

    options = dict(host=config.host, port=config.port, log_level=log_level, access_log=False)
    if workers <= 1:
        uvicorn.run(build_app(config), **options)
        return
    if args is None:
        raise ValueError("--workers needs the serve options to hand to each worker")
    # Fail here, once, on a policy or database that cannot be opened, not in every worker.
    build_app(config).state.server.close()
    shipped = argparse.Namespace(**{k: v for k, v in vars(args).items() if not callable(v)})
    os.environ[WORKER_ARGS_VARIABLE] = base64.b64encode(pickle.dumps(shipped)).decode("ascii")
    uvicorn.run("oso_server.serve:worker_app", factory=True, workers=workers, **options)


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    try:
        config = config_from_args(args)
    except ValueError as error:  # KeyConfigError included: a message, never a traceback
        log.error("cannot start: %s", error)
        return 2
    try:
        run(config, args.log_level, args.workers, args)
    except (OsoError, FactStoreError, OSError) as error:  # a policy or database that cannot be opened
        log.error("cannot start: %s", describe_load_error(error))
        return 1
    return 0
