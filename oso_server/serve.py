"""`python -m oso_server serve`: build a `ServerConfig` from the command line and run the app
under uvicorn."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .config import DEFAULT_HOST, DEFAULT_PORT, ServerConfig, default_data_dir
from .keys import DEFAULT_ENVIRONMENT

log = logging.getLogger("oso_server")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `serve`."""
    parser.add_argument("--policy", action="append", type=Path, default=[], metavar="FILE",
                        help="a policy file to load at start (repeat for several files)")
    parser.add_argument("--database", help="a SQLAlchemy URL (postgresql+psycopg://...) or a SQLite file; "
                                           "default: facts.sqlite3 in the data directory")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the default SQLite file lives (default: $OSO_DIRECTORY, else ./oso-data)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--environment", default=DEFAULT_ENVIRONMENT,
                        help="the environment --policy loads into (default: 'default')")
    parser.add_argument("--decision-log", metavar="PATH|-",
                        help="write one JSON line per decision request to PATH (appended), or '-' for stdout")
    parser.add_argument("--metrics-key-required", action="store_true", help="GET /metrics needs an API key")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The configuration the options describe."""
    return ServerConfig(database=args.database, data_dir=args.data_dir or default_data_dir(),
                        policy_files=list(args.policy), environment=args.environment, host=args.host, port=args.port,
                        decision_log=args.decision_log, metrics_key_required=args.metrics_key_required)


def run(config: ServerConfig, log_level: str = "info") -> None:
    """Serve until interrupted."""
    import uvicorn

    from .app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(config)
    log.info("oso_server on http://%s:%d (database %s)", config.host, config.port,
             app.state.server.environments.engine.url.render_as_string(hide_password=True))
    uvicorn.run(app, host=config.host, port=config.port, log_level=log_level, access_log=False)


def main(args: argparse.Namespace) -> int:
    run(config_from_args(args), args.log_level)
    return 0
