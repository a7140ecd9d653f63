"""oso_server: a self-hosted authorization service speaking Oso Cloud's HTTP API over the
facts of `oso_core.facts` (SQLite by default, PostgreSQL for several replicas). docs/server.md.

Needs `pip install 'oso-core[server]'` (Starlette, uvicorn, SQLAlchemy, psycopg).
"""

from .app import create_app
from .endpoint import RequestRecord, RouteSpec, ServerState
from .config import ServerConfig
from .keys import DEV_TEST_KEY, ApiKey, KeyRing

__all__ = ["create_app", "ServerConfig", "ServerState", "RouteSpec", "RequestRecord", "ApiKey", "KeyRing",
           "DEV_TEST_KEY"]
