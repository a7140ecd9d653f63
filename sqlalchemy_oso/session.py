"""Authorized SQLAlchemy sessions: every ORM read returns only authorized rows.

A session snapshots `oso`, `user` and `checked_permissions` when it is created (they must not
change during its life). Every statement it executes goes through the `do_orm_execute` hook:

* ORM SELECTs (2.0 `select()`, legacy `Query`, `Session.get`, lazy/selectin/subquery relationship
  loads, attribute refreshes) get `with_loader_criteria(Model, authorize_model(...),
  include_aliases=True)` for every mapped class they involve; joined eager loads are covered by
  the same criteria. A class the statement *loads* (selects, or eager-loads) that is absent from
  `checked_permissions` (or mapped to `None`) gets `false()`: no rows.
* Statements the integration cannot filter fail closed with `OsoError`: Core SELECTs of mapped
  tables (`select(Model.__table__)`), raw mapped tables inside ORM statements, `text()` naming a
  mapped table, ORM or Core bulk UPDATE/DELETE, and INSERT ... FROM SELECT.
* The identity map never hands out an object that was not loaded through this session's
  filters: `Session.get` (and many-to-one lazy loads, which look in the identity map first) only
  use the identity map for objects this session loaded and that were not changed since; other
  objects (added or merged by the application, modified, ...) are looked up with an authorized
  SELECT, so an unauthorized one comes back as `None`.

`checked_permissions=None` disables all of this: the session is a plain session.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Callable
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker, with_loader_criteria
from sqlalchemy.orm import scoped_session as sqlalchemy_scoped_session
from sqlalchemy.orm.base import PassiveFlag
from sqlalchemy.sql import expression as expr
from sqlalchemy.sql import visitors

from oso_core import Oso
from oso_core.exceptions import OsoError

from ._orm import mapped_tables, mapper_of, secondary_tables
from .auth import _authorize
from .sqlalchemy_utils import all_entities_in_statement

logger = logging.getLogger(__name__)

__all__ = [
    "AuthorizedSession", "AuthorizedSessionBase", "Permissions", "authorized_sessionmaker",
    "scoped_session", "set_get_session",
]

Permissions = Optional[dict[type[Any], Any]]  # noqa: UP045 - the legacy alias


# ---------------------------------------------------------------------------------------------
# OsoSession constant for policies

class _OsoSession:
    set = False
    _get: Callable[[], Session] | None = None

    @classmethod
    def get(cls) -> Session:
        if cls._get is None:
            raise OsoError("OsoSession.get() called before set_get_session()")
        return Session(bind=cls._get().bind)

    @classmethod
    def set_get_session(cls, get_session: Callable[[], Session]) -> None:
        cls.set = True
        cls._get = get_session


def set_get_session(oso: Oso, get_session_func: Callable[[], Session]) -> None:
    """Expose a session to policies as the constant `OsoSession`: `OsoSession.get()` returns a
    new, *unauthorized* `Session` bound like `get_session_func()`'s session."""
    _OsoSession.set_get_session(get_session_func)
    oso.register_constant(_OsoSession, "OsoSession")


# ---------------------------------------------------------------------------------------------
# Sessions

class AuthorizedSessionBase:
    """Mixin for a SQLAlchemy `Session` subclass that authorizes every read with oso.

        class MySession(AuthorizedSessionBase, sqlalchemy.orm.Session):
            pass

    `oso`, `user` and `checked_permissions` are fixed for the session's life: `{Model: action}`
    authorizes reads of each model with `action`; models absent from the map (or mapped to
    `None`) yield no rows; `None` applies no authorization at all.
    """

    def __init__(self, oso: Oso, user: object, checked_permissions: Permissions, **options: Any) -> None:
        self._oso = oso
        self._oso_user = user
        self._oso_checked_permissions = checked_permissions
        # Objects loaded through this session's filters (and unchanged since): the identity
        # map may serve these without a query.
        self._oso_authorized: weakref.WeakSet[Any] = weakref.WeakSet()
        super().__init__(**options)

    @property
    def oso_context(self) -> dict:
        return {
            "oso": self._oso,
            "user": self._oso_user,
            "checked_permissions": self._oso_checked_permissions,
        }

    def _identity_lookup(self, mapper: Any, primary_key_identity: Any, *args: Any, **kwargs: Any) -> Any:
        # Called by Session.get()/Query.get()/merge() and by many-to-one lazy loads before they
        # emit SQL. An object this session did not load through its filters (added by the
        # application, merged, modified since...) is treated as absent, so the caller runs an
        # authorized SELECT: it returns the same object if the row is authorized, else nothing.
        instance = super()._identity_lookup(mapper, primary_key_identity, *args, **kwargs)  # type: ignore[misc]
        if self._oso_checked_permissions is None or instance is None or not _is_instance(instance):
            return instance
        passive = kwargs.get("passive", args[1] if len(args) > 1 else PassiveFlag.PASSIVE_OFF)
        if not passive & PassiveFlag.SQL_OK:
            return instance   # internal bookkeeping (history, backrefs): no read for the app
        state = sa.inspect(instance)
        if state in self._oso_authorized and not state.modified:
            return instance
        return None


class AuthorizedSession(AuthorizedSessionBase, Session):
    """A `sqlalchemy.orm.Session` whose reads return only authorized objects.

    `AuthorizedSession(oso, user, checked_permissions, bind=engine, ...)`; usually created
    through `authorized_sessionmaker`.
    """


def _is_instance(value: Any) -> bool:
    return isinstance(sa.inspect(value, raiseerr=False), sa.orm.InstanceState)


def _authorized_class(class_: type | None, get_oso: Callable, get_user: Callable,
                      get_checked_permissions: Callable) -> type:
    base = class_ or Session
    bases = (base,) if issubclass(base, AuthorizedSessionBase) else (AuthorizedSessionBase, base)

    def __init__(self: Any, **options: Any) -> None:
        # Snapshot the authorization context: it must stay fixed for the session's life.
        options.setdefault("oso", get_oso())
        options.setdefault("user", get_user())
        options.setdefault("checked_permissions", get_checked_permissions())
        super(cls, self).__init__(**options)

    cls = type("Session", bases, {"__init__": __init__, "__module__": __name__})
    return cls


def authorized_sessionmaker(
    get_oso: Callable[[], Oso],
    get_user: Callable[[], Any],
    get_checked_permissions: Callable[[], Permissions],
    class_: type[Session] | None = None,
    **kwargs: Any,
) -> sessionmaker[Session]:
    """A `sessionmaker` of authorized sessions.

    Each session calls `get_oso()`, `get_user()` and `get_checked_permissions()` once, when it
    is created, and keeps the results for its life. `class_` (default `Session`) is the session
    base class; other keyword arguments go to `sessionmaker`.
    """
    session_class = _authorized_class(class_, get_oso, get_user, get_checked_permissions)
    return sessionmaker(class_=session_class, **kwargs)


class _Identity:
    """A hashable stand-in for an unhashable scope value, compared by identity (it keeps the
    value alive, so its id cannot be reused while the key exists)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.value is self.value


def _key_part(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return _Identity(value)


def _permissions_key(perms: Permissions) -> Any:
    if perms is None:
        return None        # no authorization: never shares a session with `{}` (deny all)
    return frozenset((model, _key_part(action)) for model, action in perms.items())


class _AuthorizedRegistry:
    """Sessions per (outer scope, oso, checked permissions, user).

    Same interface as SQLAlchemy's `ScopedRegistry`; `clear()` drops (and `remove()` closes)
    every session of the current outer scope, so none outlives it.
    """

    def __init__(self, factory: Callable[[], Session], scopefunc: Callable[[], Any],
                 inner: Callable[[], Any]) -> None:
        self.createfunc = factory
        self.scopefunc = scopefunc
        self.inner = inner
        self.registry: dict = {}

    def __call__(self) -> Session:
        sessions = self.registry.setdefault(_key_part(self.scopefunc()), {})
        key = self.inner()
        session = sessions.get(key)
        if session is None:
            session = sessions[key] = self.createfunc()
        return session

    def has(self) -> bool:
        sessions = self.registry.get(_key_part(self.scopefunc()))
        return bool(sessions) and self.inner() in sessions

    def set(self, obj: Session) -> None:
        self.registry.setdefault(_key_part(self.scopefunc()), {})[self.inner()] = obj

    def all_in_scope(self) -> list:
        return list(self.registry.get(_key_part(self.scopefunc()), {}).values())

    def clear(self) -> None:
        self.registry.pop(_key_part(self.scopefunc()), None)


class _AuthorizedScopedSession(sqlalchemy_scoped_session):
    """`scoped_session` whose current session also depends on the oso instance, the user and
    the checked permissions; `remove()` closes all sessions of the current scope."""

    def __init__(self, session_factory: sessionmaker, scopefunc: Callable[[], Any],
                 inner: Callable[[], Any]) -> None:
        super().__init__(session_factory)
        self.registry = _AuthorizedRegistry(session_factory, scopefunc, inner)  # type: ignore[assignment]

    def remove(self) -> None:
        for session in self.registry.all_in_scope():  # type: ignore[attr-defined]
            session.close()
        self.registry.clear()


def scoped_session(
    get_oso: Callable[[], Oso],
    get_user: Callable[[], Any],
    get_checked_permissions: Callable[[], Permissions],
    scopefunc: Callable[..., Any] | None = None,
    **kwargs: Any,
) -> sqlalchemy_scoped_session:
    """A `scoped_session` of authorized sessions, keyed by the oso instance, the checked
    permissions and the user as well as by `scopefunc()` (default: one scope per thread).

    Changing the user or permissions switches to another session; switching back returns the
    first one. `remove()` closes every session of the current scope. Other keyword arguments go
    to `authorized_sessionmaker`.
    """
    if scopefunc is None:
        import threading
        scopefunc = threading.get_ident

    factory = authorized_sessionmaker(get_oso, get_user, get_checked_permissions, **kwargs)
    return authorized_scoped(factory, get_oso, get_user, get_checked_permissions, scopefunc)


def authorized_scoped(factory: Callable[[], Any], get_oso: Callable[[], Oso], get_user: Callable[[], Any],
                      get_checked_permissions: Callable[[], Permissions], scopefunc: Callable[[], Any],
                      scoped_class: type | None = None) -> Any:
    """A scoped session over `factory` keyed by `scopefunc()` and the authorization context."""
    def inner() -> tuple:
        return (_key_part(get_oso()), _permissions_key(get_checked_permissions()),
                _key_part(get_user()))

    return (scoped_class or _AuthorizedScopedSession)(factory, scopefunc, inner)


# ---------------------------------------------------------------------------------------------
# Hooks

def _lookup_action(perms: dict, cls: type) -> Any:
    mapper = mapper_of(cls)
    while mapper is not None:
        if mapper.class_ in perms:
            return perms[mapper.class_]
        mapper = mapper.inherits
    return None


def _referenced_classes(statement: Any) -> set:
    """Mapped classes whose ORM entities (or aliases) appear anywhere in the statement."""
    found = set()
    for element in visitors.iterate(statement):
        annotations = getattr(element, "_annotations", None)
        if annotations and "parententity" in annotations:
            found.add(sa.inspect(annotations["parententity"]).mapper.class_)
    return found


_EAGER = (("lazy", "joined"), ("lazy", "subquery"), ("lazy", "selectin"), ("lazy", "immediate"))


def _eager_classes(statement: Any, entities: set) -> set:
    """Classes eager-loaded along with the statement: by loader options of any eager strategy
    and by relationships declared eager (`lazy="joined"/"subquery"/"selectin"/"immediate"`),
    transitively. Criteria given for them on the statement propagate to their loaders."""
    found: set = set()
    for option in getattr(statement, "_with_options", ()):
        for load in getattr(option, "context", ()):
            strategy = getattr(load, "strategy", None) or ()
            path = getattr(load, "path", None)
            entity = getattr(path, "entity", None) if path is not None else None
            if entity is not None and any(s in strategy for s in _EAGER):
                cls = mapper_of(entity)
                if cls is not None:
                    found.add(cls.class_)
    stack = list(entities | found)
    seen: set = set()
    while stack:
        mapper = mapper_of(stack.pop())
        if mapper is None or mapper in seen:
            continue
        seen.add(mapper)
        for rel in mapper.relationships:
            if rel.lazy in ("joined", "subquery", "selectin", "immediate"):
                found.add(rel.mapper.class_)
                stack.append(rel.mapper.class_)
    return found


def _flatten_from(from_: Any) -> list:
    if isinstance(from_, sa.sql.selectable.Join):
        return _flatten_from(from_.left) + _flatten_from(from_.right)
    return [from_]


def _raw_mapped_tables(statement: Any) -> list:
    """Mapped tables read as plain Core tables, which loader criteria cannot filter: the FROM
    tables of any Core (not ORM-enabled) SELECT in the statement, and plain tables placed
    among the columns or FROMs of an ORM SELECT. Association tables of relationships are fine."""
    tables = mapped_tables()
    names = {t.name for t in tables}
    found: list = []
    for element in visitors.iterate(statement):
        if not isinstance(element, sa.sql.Select):
            continue
        if element._propagate_attrs.get("compile_state_plugin") != "orm":
            candidates = [t for f in element.get_final_froms() for t in _flatten_from(f)]
        else:
            candidates = [t for f in (*element._raw_columns, *element._from_obj) for t in _flatten_from(f)]
            candidates = [t for t in candidates if "parententity" not in t._annotations]
        for table in candidates:
            if not isinstance(table, sa.sql.expression.TableClause) or table in found:
                continue
            if table in tables or (not isinstance(table, sa.Table) and table.name in names):
                found.append(table)   # a mapped Table, or a lightweight table() naming one
    if found:
        secondary = secondary_tables()
        found = [t for t in found if t not in secondary]
    return found


def _text_mentions_mapped_table(text: str) -> str | None:
    for table in mapped_tables():
        if re.search(r"(?<![\w$])" + re.escape(table.name) + r"(?![\w$])", text, re.IGNORECASE):
            return table.name
    return None


def _fail(message: str) -> None:
    raise OsoError(f"{message}. An authorized session cannot filter this statement, so it refuses "
                   "to run it; use a session without authorization (or session.connection()) "
                   "for statements that must see every row.")


def _authorize_statement(execute_state: Any, session: AuthorizedSessionBase) -> None:
    statement = execute_state.statement
    for element in visitors.iterate(statement):
        # text(), also inside from_statement()/where(), and literal_column("...") SQL
        if isinstance(element, expr.TextClause):
            sql_text = element.text
        elif isinstance(element, expr.ColumnClause) and element.is_literal:
            sql_text = element.name
        else:
            continue
        name = _text_mentions_mapped_table(sql_text)
        if name is not None:
            _fail(f"SQL text naming the mapped table {name!r}")
    if isinstance(statement, expr.TextClause):
        return
    if execute_state.is_update or execute_state.is_delete:
        kind = "UPDATE" if execute_state.is_update else "DELETE"
        _fail(f"bulk {kind} statement")
    if execute_state.is_insert:
        if getattr(statement, "select", None) is not None:
            _fail("INSERT ... FROM SELECT statement")
        return
    if not execute_state.is_select:
        return
    raw = _raw_mapped_tables(statement)
    if raw:
        _fail(f"Core SELECT of the mapped table {raw[0].name!r} (select ORM entities, e.g. "
              f"select(Model), instead of Model.__table__)")
    if not execute_state.is_orm_statement:
        # Loader criteria only take effect when the top-level statement is ORM-enabled; ORM
        # entities nested in a Core SELECT (e.g. `select(exists().where(Model.id == 1))`)
        # would be read unfiltered.
        nested = _referenced_classes(statement)
        if nested:
            names = ", ".join(sorted(c.__name__ for c in nested))
            _fail(f"Core SELECT containing ORM entities ({names}) below its top level (select an "
                  "ORM entity or column at the top, e.g. select(Model.id).where(...).exists().select())")
        return

    oso = session._oso
    user = session._oso_user
    perms = session._oso_checked_permissions
    loaded = all_entities_in_statement(statement)
    loaded |= _eager_classes(statement, loaded)
    classes = loaded | _referenced_classes(statement)
    options = []
    for cls in sorted(classes, key=lambda c: (c.__module__, c.__qualname__)):
        action = _lookup_action(perms, cls)
        if action is None:
            if cls in loaded:
                logger.warning("No allowed action for entity %s in checked_permissions", cls)
                options.append(with_loader_criteria(cls, expr.false(), include_aliases=True))
            continue
        clause = _authorize(oso, user, action, cls, alias_related=True)
        if isinstance(clause, expr.True_):
            continue
        options.append(with_loader_criteria(cls, clause, include_aliases=True))
    if options:
        execute_state.statement = statement.options(*options)


@event.listens_for(Session, "do_orm_execute")
def _do_orm_execute(execute_state: Any) -> None:
    session = execute_state.session
    if not isinstance(session, AuthorizedSessionBase) or session._oso_checked_permissions is None:
        return
    _authorize_statement(execute_state, session)


@event.listens_for(Session, "loaded_as_persistent")
def _loaded_as_persistent(session: Session, instance: Any) -> None:
    if isinstance(session, AuthorizedSessionBase) and session._oso_checked_permissions is not None:
        session._oso_authorized.add(sa.inspect(instance))


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    # A changed object may no longer be authorized: the identity map stops vouching for it.
    if isinstance(session, AuthorizedSessionBase):
        for obj in list(session.dirty) + list(session.deleted):
            session._oso_authorized.discard(sa.inspect(obj))


@event.listens_for(Session, "persistent_to_detached")
def _persistent_to_detached(session: Session, instance: Any) -> None:
    if isinstance(session, AuthorizedSessionBase):
        session._oso_authorized.discard(sa.inspect(instance))
