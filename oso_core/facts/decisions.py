"""`Decisions`: authorize / list / actions over stored facts, one SQL statement per call.

The policy is partially evaluated once per (actor type, action, resource type) with the actor,
the resource (or the row) and, for `actions`, the action symbolic (`symbolic.evaluate`); the
solutions, with duplicates dropped and those differing in one fact constant merged
(`solution_merge`), compile to one statement (`sql_compiler`) whose inputs are bind parameters:
the actor's and the resource's value ids. Statements are cached for the policy version this
object was built for, as driver SQL with the policy's constants written in (`driver_sql`), and
run on kept connections (`read_connections`); a request with context facts compiles its
statement again from the cached evaluation (the VALUES list is part of the statement).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional, Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..oso import Oso
from ..values import Value
from .errors import FactStoreError, UnboundedResultError
from .driver_sql import DriverStatement
from .read_connections import ReadConnections
from .schema import value_id
from .sql_compiler import (ACTOR_PARAM, RESOURCE_PARAM, Context, actions_statement, authorize_statement,
                           list_statement)
from .solution_merge import merge_evaluation
from .symbolic import Evaluation, Symbol, evaluate

_AUTHORIZE, _LIST, _ACTIONS = "authorize", "list", "actions"
_INPUTS = (ACTOR_PARAM, RESOURCE_PARAM)


class _Plan:
    """One cached decision: the evaluation and its statement without context facts."""

    __slots__ = ("evaluation", "build", "statement", "compiled")

    def __init__(self, evaluation: Evaluation, build: Callable[[Context], Any], statement: Any) -> None:
        self.evaluation = evaluation
        self.build = build
        self.statement = statement
        self.compiled: Optional[DriverStatement] = None


class Decisions:
    """Decisions of one policy version over the facts of one environment."""

    def __init__(self, engine: Engine, environment: str, oso: Oso, policy_version: int,
                 readers: Optional[ReadConnections] = None) -> None:
        """`readers`: the autocommit connections cached decisions run on (shared by the
        versions of one store); by default this object keeps its own."""
        self.engine = engine
        self.readers = readers if readers is not None else ReadConnections(engine)
        self.environment = environment
        self.oso = oso
        self.policy_version = policy_version
        self.kb = oso._current_kb()
        # A policy reading `@current_unix_time` (cloud dialect) gets the time as a constant of
        # its partial evaluation: such plans are built per request, never cached.
        self.time_dependent = bool(getattr(self.kb, "uses_current_unix_time", False))
        self._plans: dict = {}
        self._lock = threading.Lock()

    # Decisions -----------------------------------------------------------------------------------

    def authorize(self, actor: Value, action: str, resource: Value, context_facts: Sequence[tuple] = ()) -> bool:
        """Does `allow(actor, action, resource)` hold over the stored and the context facts?"""
        _check_value(actor, "actor")
        _check_value(resource, "resource")
        _check_action(action)
        plan = self._plan(_AUTHORIZE, actor.type, action, resource.type)
        row = self._run(plan, context_facts, {ACTOR_PARAM: _vid(actor), RESOURCE_PARAM: _vid(resource)}, "authorize")
        return bool(row and row[0][0])

    def list(self, actor: Value, action: str, resource_type: str, context_facts: Sequence[tuple] = ()) -> list[str]:
        """The sorted ids of the `resource_type` resources `actor` may `action`
        (UnboundedResultError when a rule allows every one)."""
        _check_value(actor, "actor")
        _check_action(action)
        if not isinstance(resource_type, str) or not resource_type:
            raise TypeError(f"resource_type must be a non-empty string, got {resource_type!r}")
        plan = self._plan(_LIST, actor.type, action, resource_type)
        rows = self._run(plan, context_facts, {ACTOR_PARAM: _vid(actor)}, "list")
        return _bounded(rows, f"allow({actor!r}, {action!r}, {resource_type})")

    def actions(self, actor: Value, resource: Value, context_facts: Sequence[tuple] = ()) -> list[str]:
        """The sorted actions `actor` may perform on `resource`."""
        _check_value(actor, "actor")
        _check_value(resource, "resource")
        plan = self._plan(_ACTIONS, actor.type, None, resource.type)
        rows = self._run(plan, context_facts, {ACTOR_PARAM: _vid(actor), RESOURCE_PARAM: _vid(resource)}, "actions")
        return _bounded(rows, f"allow({actor!r}, _, {resource!r})")

    def build_query(self, call: tuple) -> Any:
        """A query over the policy and the facts, as the oso-cloud client's `build_query`."""
        from .query_builder import QueryBuilder
        return QueryBuilder(self, call)

    # Plans -----------------------------------------------------------------------------------------

    def _plan(self, kind: str, actor_type: str, action: Optional[str], resource_type: str) -> _Plan:
        if self.time_dependent:
            return self._new_plan(kind, actor_type, action, resource_type)
        key = (kind, actor_type, action, resource_type)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        with self._lock:
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = self._new_plan(kind, actor_type, action, resource_type)
        return plan

    def _new_plan(self, kind: str, actor_type: str, action: Optional[str], resource_type: str) -> _Plan:
        actor, resource = Symbol("actor"), Symbol("resource")
        types = {"actor": actor_type, "resource": resource_type}
        if kind == _ACTIONS:
            types["action"] = None
            call = ("allow", [actor, Symbol("action"), resource])
        else:
            call = ("allow", [actor, action, resource])
        # Merged solutions: one EXISTS / UNION arm per way the rule holds, not per role name.
        evaluation = merge_evaluation(evaluate(self.kb, [call], types, symbolic_actor="actor"))
        if kind == _AUTHORIZE:
            def build(ctx: Context) -> Any:
                return authorize_statement(ctx, actor_type, resource_type)
        elif kind == _LIST:
            def build(ctx: Context) -> Any:
                return list_statement(ctx, actor_type, resource_type)
        else:
            def build(ctx: Context) -> Any:
                return actions_statement(ctx, actor_type, resource_type)
        return _Plan(evaluation, build, build(Context(self.kb, self.environment, evaluation)))

    def _run(self, plan: _Plan, context_facts: Sequence[tuple], params: dict, what: str) -> list:
        """The rows of the plan's statement (rebuilt with the context facts, if any)."""
        try:
            if context_facts:
                statement = plan.build(Context(self.kb, self.environment, plan.evaluation, _facts(context_facts)))
                with self.readers.serial, self.engine.connect() as conn:
                    return conn.execute(statement, params).all()
            compiled = plan.compiled
            if compiled is None:
                compiled = plan.compiled = DriverStatement(plan.statement, self.engine, _INPUTS)
            if self.readers.usable:
                return self.readers.fetch_all(compiled, params)
            with self.readers.serial, self.engine.connect() as conn:
                return conn.exec_driver_sql(compiled.sql, compiled.arguments(params)).all()
        except SQLAlchemyError as error:
            raise FactStoreError(f"The {what} query failed: {error}") from error


def _bounded(rows: list, what: str) -> list[str]:
    """The sorted distinct values of (value, unbounded) rows; an unbounded row is an error."""
    if any(r[1] for r in rows):
        raise UnboundedResultError(f"{what} holds for every value: the result is not a finite set")
    return sorted({r[0] for r in rows})


def _check_value(value: Any, field: str) -> None:
    if not isinstance(value, Value):
        raise TypeError(f"{field} must be a Value(type, id), got {value!r}")


def _check_action(action: Any) -> None:
    if not isinstance(action, str):
        raise TypeError(f"action must be a string, got {action!r}")


def _vid(value: Value) -> int:
    return value_id(value.type, value.id)


def _facts(facts: Sequence[tuple]) -> list:
    out = []
    for fact in facts:
        if not isinstance(fact, (tuple, list)) or not fact or not isinstance(fact[0], str):
            raise TypeError(f"A context fact is (predicate, *args), got {fact!r}")
        out.append(tuple(fact))
    return out
