"""Authorization over stored facts: a SQL fact store (SQLite by default, PostgreSQL) holding
facts and the policy that reads them (docs/facts-store.md, docs/facts.md).

Needs SQLAlchemy 2 (`pip install 'oso-core[facts]'`; PostgreSQL also needs psycopg 3:
`oso-core[facts-postgresql]`).
"""

from .errors import (FactStoreError, InvalidFactError, NoPolicyError, SchemaVersionError, UnboundedResultError,
                     UnsupportedPolicyError)
from .database import open_engine
from .local_bindings import InvalidBindingsError, LocalBindings, parse_bindings
from .query_builder import QueryVariable, typed_var
from .store import Batch, FactStore
from .store_query import StoreQuery

__all__ = ["FactStore", "Batch", "LocalBindings", "parse_bindings", "InvalidBindingsError", "open_engine", "StoreQuery", "typed_var", "QueryVariable", "FactStoreError", "InvalidFactError",
           "NoPolicyError", "SchemaVersionError", "UnboundedResultError", "UnsupportedPolicyError"]
