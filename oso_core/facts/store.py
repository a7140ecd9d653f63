"""`FactStore`: facts in a SQL database (SQLite or PostgreSQL) under one policy per environment.

The store keeps the environment's newest policy loaded in an `Oso` (`store.oso`), validates
facts against its fact signatures, and answers fact lookups (`match`) so an `Oso` with the
store attached (`oso.attach_facts(store)`) reads its facts. docs/facts-store.md.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence, Union

from sqlalchemy import Engine

from ..oso import Oso
from ..values import Value
from . import local_decisions, policies, reads, writes
from .database import Database, ensure_schema, open_engine
from .decisions import Decisions
from .read_connections import ReadConnections
from .errors import FactStoreError, InvalidFactError, NoPolicyError
from .known_values import KnownValues
from .metadata import policy_metadata
from .store_query import StoreQuery
from .validation import FactValidator, split_pattern

DEFAULT_ENVIRONMENT = "default"


class _Loaded:
    """One loaded policy version: swapped as a whole, so readers never see half of a load."""

    __slots__ = ("oso", "version", "src", "filename", "validator", "decisions")

    def __init__(self, oso: Oso, version: int, src: str, filename: Optional[str], engine: Engine, environment: str,
                 readers: ReadConnections) -> None:
        self.oso = oso
        self.version = version
        self.src = src
        self.filename = filename
        blocks = oso.resource_blocks()
        self.validator = FactValidator(oso.fact_signatures(), blocks["actors"], blocks["blocks"])
        self.decisions = Decisions(engine, environment, oso, version, readers)


class FactStore:
    """Facts and policies of one environment in a SQL database."""

    def __init__(self, database: Database = None, *, environment: str = DEFAULT_ENVIRONMENT) -> None:
        if not isinstance(environment, str) or not environment or "\x00" in environment:
            raise FactStoreError(f"environment must be a non-empty string without NUL, got {environment!r}")
        self._owns_engine = not isinstance(database, Engine)
        self.engine: Engine = open_engine(database)
        if self.engine.dialect.name not in ("sqlite", "postgresql"):
            raise FactStoreError(f"The fact store supports SQLite and PostgreSQL, not {self.engine.dialect.name}")
        self.environment = environment
        self._policy_lock = threading.Lock()
        # The in-memory database is ONE connection shared by all threads: without this lock one
        # thread's statements would run inside another's open transaction. Files and servers
        # give each thread its own connection and need none.
        self._serial: AbstractContextManager = threading.RLock() if database is None else nullcontext()
        self._loaded: Optional[_Loaded] = None
        self._readers = ReadConnections(self.engine)
        self._known_values = KnownValues()
        ensure_schema(self.engine)
        stored = policies.latest(self.engine, environment)
        if stored is not None:
            version, src, dialect, filename = stored
            self._loaded = _Loaded(policies.load_source(src, dialect), version, src, filename, self.engine,
                                   environment, self._readers)

    def __repr__(self) -> str:
        return f"FactStore({self.engine.url!r}, environment={self.environment!r}, policy_version={self.policy_version})"

    def close(self) -> None:
        """Release the database connections (the decisions' always; the engine's if the store
        created it)."""
        self._readers.close()
        if self._owns_engine:
            self.engine.dispose()

    # Policies -----------------------------------------------------------------------------------

    def policy(self, src: str, filename: Optional[str] = None, *, dialect: Optional[str] = "cloud") -> int:
        """Load `src` as the environment's policy and store it as a new version (returned). A
        policy that does not load raises its Polar error; the previous one keeps serving."""
        if not isinstance(src, str):
            raise TypeError(f"policy source must be a string, got {type(src).__name__}")
        return self._install(policies.load_source(src, dialect), src, filename, dialect)

    def load_files(self, paths: Iterable[Union[str, Path]], *, dialect: Optional[str] = "cloud") -> int:
        """Load policy files (one load; errors name the file) as a new version (returned)."""
        oso, src, names = policies.load_paths(paths, dialect)
        return self._install(oso, src, names, dialect)

    def _install(self, oso: Oso, src: str, filename: Optional[str], dialect: Optional[str]) -> int:
        with self._policy_lock:
            with self._serial:
                version = policies.record(self.engine, self.environment, src, filename, dialect)
            self._loaded = _Loaded(oso, version, src, filename, self.engine, self.environment, self._readers)
        return version

    def refresh(self) -> bool:
        """Load the environment's newest stored policy if it is newer than the loaded one (stored
        by another process sharing the database); whether it loaded one. Costs one indexed
        `SELECT max(version)` when nothing changed. A stored policy that does not load here
        raises its Polar error and the loaded one keeps serving."""
        with self._serial:
            newest = policies.newest_version(self.engine, self.environment)
        if newest <= self.policy_version:
            return False
        with self._policy_lock:
            with self._serial:
                stored = policies.latest(self.engine, self.environment)
            if stored is None or stored[0] <= self.policy_version:
                return False  # loaded meanwhile, by this process's own upload or another refresh
            version, src, dialect, filename = stored
            self._loaded = _Loaded(policies.load_source(src, dialect), version, src, filename, self.engine,
                                   self.environment, self._readers)
        return True

    def get_policy(self) -> Optional[str]:
        """The source of the loaded policy, None before any."""
        loaded = self._loaded
        return None if loaded is None else loaded.src

    def get_policy_filename(self) -> Optional[str]:
        """The file name stored with the loaded policy (`policy(src, filename)`; `load_files`
        stores the files' names), None before any policy or when none was given."""
        loaded = self._loaded
        return None if loaded is None else loaded.filename

    @property
    def policy_version(self) -> int:
        """The loaded policy's version in this environment (0: none)."""
        loaded = self._loaded
        return 0 if loaded is None else loaded.version

    @property
    def oso(self) -> Oso:
        """The `Oso` holding the loaded policy."""
        return self._policy().oso

    def _policy(self) -> _Loaded:
        loaded = self._loaded
        if loaded is None:
            raise NoPolicyError(f"No policy is loaded in fact store environment {self.environment!r}: "
                                "call store.policy(src) first")
        return loaded

    def get_policy_metadata(self) -> dict:
        """Roles, permissions and relations per actor/resource type, plus "global" (Oso Cloud's
        `get_policy_metadata`, as a dict)."""
        return policy_metadata(self._policy().oso.resource_blocks())

    # Decisions (one SQL statement each: oso_core.facts.decisions) ---------------------------------

    def authorize(self, actor: Value, action: str, resource: Value, context_facts: Sequence[Sequence[object]] = ()) -> bool:
        """Does the policy allow `actor` to `action` `resource`, over the stored facts and these
        context facts (validated like inserts, never stored)?"""
        loaded, facts = self._decision_inputs(context_facts, actor, resource)
        with self._serial:
            return loaded.decisions.authorize(actor, action, resource, facts)

    def actions(self, actor: Value, resource: Value, context_facts: Sequence[Sequence[object]] = ()) -> list[str]:
        """The actions `actor` may perform on `resource`, sorted."""
        loaded, facts = self._decision_inputs(context_facts, actor, resource)
        with self._serial:
            return loaded.decisions.actions(actor, resource, facts)

    def list(self, actor: Value, action: str, resource_type: str,
             context_facts: Sequence[Sequence[object]] = ()) -> list[str]:
        """The ids of the `resource_type` resources `actor` may `action`, sorted."""
        loaded, facts = self._decision_inputs(context_facts, actor)
        with self._serial:
            return loaded.decisions.list(actor, action, resource_type, facts)

    # Local authorization: SQL for the caller's own PostgreSQL tables (oso_core.facts.local_sql) ---

    def authorize_local(self, actor: Value, action: str, resource: Value, bindings: "local_decisions.Bindings",
                        context_facts: Sequence[Sequence[object]] = ()) -> str:
        """PostgreSQL text of one row with one boolean column `allowed`, run against the
        caller's tables described by `bindings` (a parsed data-bindings mapping or
        `LocalBindings`); facts no binding covers are read from this store and inlined."""
        loaded, facts = self._decision_inputs(context_facts, actor, resource)
        return local_decisions.authorize_local(loaded.decisions.kb, self._fetch, actor, action, resource,
                                               bindings, facts)

    def list_local(self, actor: Value, action: str, resource_type: str, column: str,
                   bindings: "local_decisions.Bindings", context_facts: Sequence[Sequence[object]] = ()) -> str:
        """A boolean PostgreSQL WHERE-clause fragment over `column` (the caller's id column of
        `resource_type`, inserted as given): true for the rows `actor` may `action`."""
        loaded, facts = self._decision_inputs(context_facts, actor)
        return local_decisions.list_local(loaded.decisions.kb, self._fetch, actor, action, resource_type, column,
                                          bindings, facts)

    def actions_local(self, actor: Value, resource: Value, bindings: "local_decisions.Bindings",
                      context_facts: Sequence[Sequence[object]] = ()) -> str:
        """PostgreSQL text of one row per action `actor` may perform on `resource`, in one
        column named `action`, sorted."""
        loaded, facts = self._decision_inputs(context_facts, actor, resource)
        return local_decisions.actions_local(loaded.decisions.kb, self._fetch, actor, resource, bindings, facts)

    def evaluate_query_local(self, query: StoreQuery, bindings: "local_decisions.Bindings", *,
                             select: Optional[dict] = None, filter: Optional[tuple] = None) -> str:
        """PostgreSQL text for a `build_query(...)` query over the caller's tables. `select`
        (QueryVariable -> output column name): a query of those columns, one row per distinct
        solution (NULL: any value); empty or None, one row with one boolean column `result`.
        `filter` ((column, QueryVariable)): a boolean WHERE-clause fragment over the column."""
        from .local_query import query_sql
        if select is not None and filter is not None:
            raise TypeError("evaluate_query_local takes select= or filter=, not both")
        loaded = self._policy()
        return query_sql(loaded.decisions.kb, self._fetch, query.prepared(), local_decisions.as_bindings(bindings),
                         select, filter)

    def _fetch(self, predicate: str, pattern: tuple) -> list:
        return self.match(predicate, pattern)

    def build_query(self, call: tuple) -> StoreQuery:
        """A query over the policy and the facts, as the oso-cloud client's `build_query`:
        `store.build_query(("allow", actor, "read", typed_var("Repo"))).evaluate(repo)`."""
        loaded = self._policy()
        return StoreQuery(loaded.decisions.build_query(call), loaded.validator, self._serial)

    def _decision_inputs(self, context_facts: Sequence[Sequence[object]], *entities: object) -> tuple[_Loaded, list]:
        loaded = self._policy()
        for entity in entities:
            if isinstance(entity, Value) and ("\x00" in entity.id or "\x00" in entity.type):
                raise InvalidFactError(f"An entity id or type cannot contain the NUL character (\\0): {entity!r:.80}")
        if type(context_facts) in (tuple, list) and not context_facts:
            return loaded, []       # the usual call; the checks below cost a fifth of a SQLite authorize
        if isinstance(context_facts, (str, bytes)) or not isinstance(context_facts, Iterable):
            raise InvalidFactError(f"context_facts is a list of facts, got {context_facts!r:.80}")
        facts = [(predicate, *args) for predicate, args in loaded.validator.validate_all(context_facts)]
        return loaded, facts

    # Facts --------------------------------------------------------------------------------------

    def validate_facts(self, facts: Iterable[Sequence[object]]) -> list[tuple]:
        """The facts as `(predicate, *args)` tuples if the policy accepts all of them, else
        InvalidFactError for the first it does not (for context facts as well as inserts)."""
        validator = self._policy().validator
        return [(predicate, *args) for predicate, args in validator.validate_all(facts)]

    def insert(self, fact: Sequence[object]) -> None:
        """Store one fact (storing it twice is harmless)."""
        with self.batch() as tx:
            tx.insert(fact)

    def delete(self, pattern: Sequence[object]) -> None:
        """Delete every fact matching the pattern (None: any value, ValueOfType: any of a type)."""
        with self.batch() as tx:
            tx.delete(pattern)

    @contextmanager
    def batch(self) -> Iterator["Batch"]:
        """Inserts and deletes applied in order in one transaction when the block ends; an
        exception in the block (an invalid fact included) writes nothing."""
        tx = Batch(self)
        yield tx
        tx._commit()

    def clear_data(self) -> None:
        """Delete every fact of this environment (its policy stays)."""
        with self._serial:
            writes.clear(self.engine, self.environment)

    def get(self, pattern: Sequence[object]) -> list[tuple]:
        """The stored facts `(predicate, *args)` matching the pattern."""
        predicate, args = split_pattern(pattern)
        with self._serial:
            return reads.get(self.engine, self.environment, predicate, args)

    def match(self, predicate: str, pattern: Sequence[Optional[object]]) -> list[tuple]:
        """`FactSource.match`: the argument tuples of the matching facts, in one SQL query."""
        with self._serial:
            return reads.match(self.engine, self.environment, predicate, pattern)


class Batch:
    """The operations of one `FactStore.batch()` block, checked as they are added."""

    def __init__(self, store: FactStore) -> None:
        self._store = store
        self._operations: list[writes.Operation] = []
        self._done = False

    def insert(self, fact: Sequence[object]) -> None:
        """Queue a fact to insert (validated now: InvalidFactError / NoPolicyError)."""
        self._check_open()
        predicate, args = self._store._policy().validator.validate(fact)
        self._operations.append((writes.INSERT, predicate, args))

    def delete(self, pattern: Sequence[object]) -> None:
        """Queue a delete of the facts matching the pattern."""
        self._check_open()
        predicate, args = split_pattern(pattern)
        self._operations.append((writes.DELETE, predicate, args))

    def _check_open(self) -> None:
        if self._done:
            raise FactStoreError("This batch has ended; open a new one with store.batch()")

    def _commit(self) -> None:
        self._done = True
        with self._store._serial:
            writes.apply(self._store.engine, self._store.environment, self._operations, self._store._known_values)
