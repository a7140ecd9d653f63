"""Data filtering: from a policy to the rows an actor may see, as one query.

`build_filter_plan(polar, actor, action, cls)` partially evaluates `allow(actor, action, row)`
for an unbound row of `cls` and turns the result into a `FilterPlan` (see `plan`), which an
adapter compiles into one query of its store.
"""

from __future__ import annotations

from typing import Any

from .builder import build_plan
from .plan import FilterPlan
from .schema import Schema, schema_of

__all__ = ["FilterPlan", "build_filter_plan", "build_filter_plan_async", "build_plan_from_results",
           "build_rule_plan"]


def build_filter_plan(polar: Any, actor: Any, action: Any, cls: type) -> FilterPlan:
    """The plan selecting the rows of `cls` that `allow(actor, action, row)` permits."""
    return build_rule_plan(polar, "allow", [actor, action, ROW_ARGUMENT], cls)


async def build_filter_plan_async(polar: Any, actor: Any, action: Any, cls: type) -> FilterPlan:
    """`build_filter_plan` from async code: attribute reads that return awaitables (the actor's
    lazy relationships, async properties) are awaited in the event loop. No adapter or session is
    involved, so a request can compile the plan against its own session."""
    from ..runtime.async_bridge import run_async
    return await run_async(build_filter_plan, polar, actor, action, cls)


def build_rule_plan(polar: Any, rule_name: str, args: list, cls: type) -> FilterPlan:
    """The plan for the rows of `cls` making `rule_name(args)` hold; `ROW_ARGUMENT` marks the row."""
    from ..runtime.partial_eval import ROW, evaluate_rule
    kb = polar._current_kb()
    type_name = polar.host.class_name(cls)
    if type_name is None:
        from ..exceptions import UnregisteredClassError
        raise UnregisteredClassError(f"Cannot filter {cls!r}: register it with `register_class` first.")
    terms = [ROW if a is ROW_ARGUMENT else a for a in args]
    evaluation = evaluate_rule(kb, rule_name, terms, type_name)
    return build_plan(evaluation, cls, schema_of(kb, polar.host))


def build_plan_from_results(host: Any, results: list, cls: type) -> FilterPlan:
    """The plan for rows of `cls` satisfying any of `results`: partial bindings of a variable of
    that type, as `Polar.query(..., accept_expression=True)` returns them (an `Expression` over
    `_this`, or a concrete object). For integrations that translate legacy partial results;
    `host` supplies class names and relations (`oso.host`, or any object with `class_name`,
    `get_class`, `types` and `discovered_relations`)."""
    from types import SimpleNamespace
    evaluation = SimpleNamespace(results=list(results), sets={}, origins={})
    return build_plan(evaluation, cls, Schema(host))


class _RowArgument:
    def __repr__(self) -> str:
        return "ROW_ARGUMENT"


ROW_ARGUMENT = _RowArgument()
