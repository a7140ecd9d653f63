"""Filter-plan templates: partial evaluation once per actor class, the actor's values bound per call.

`cached_filter_plan(polar, actor, action, cls)` returns the same rows as `build_filter_plan`.
The first call for a key builds the plan as usual and also a *template*: the plan evaluated with
the actor left symbolic (`runtime.partial_template`), each `actor.field` it reads a `Parameter`.
Later calls read those fields off the actor and substitute them (`bind`), skipping partial
evaluation and plan building; an adapter with `prepare_plan` also compiles the template once,
to a query with bound parameters.

The key is (action, resource class, the actor's exact class); it lives in the knowledge base's
`derived` dictionary, so a reload, `clear_rules`, `register_class`, `register_constant` or
`set_data_filtering_adapter` (each makes a new knowledge base) drops every template. What the
template reads of the actor (its field names, and that each value is an int, str or float) is
checked on every call: an actor whose value is of another type (None, a bool, an object, a list)
gets a fresh concrete build. A policy whose plan depends on the actor's values beyond fields
compared with columns (`actor.is_admin = true`, `r in actor.roles`, recursive rules, ...) is
marked `VALUE_DEPENDENT` for that key and always built concretely.
"""

from __future__ import annotations

import threading
import types
from dataclasses import dataclass, field
from typing import Any, Optional

from ..expression import Expression
from ..runtime.async_bridge import await_if_async, is_awaitable
from ..runtime.partial_eval import ROW
from ..runtime.partial_template import ACTOR, ValueDependent, evaluate_rule_for_class
from ..variable import Variable
from .builder import build_plan
from .plan import (And, Compare, Contains, Exists, FilterPlan, In, Not, Or, RecursiveStep,
                   RowSet, Value)
from .schema import schema_of

CACHE_KEY = "filter_plan_templates"   # the entry of `KnowledgeBase.derived` holding the cache
MAX_TEMPLATES = 512                   # per knowledge base; beyond it, plans are built uncached
BINDABLE = (int, str, float)          # exact types of actor values a template may bind
VALUE_DEPENDENT = object()            # cache entry: build this key's plans concretely


class Parameter:
    """`actor.<name>` in a template plan. Comparing it with anything but itself raises
    `ValueDependent`: plan building or compiling that looks at the actor's value (to fold a
    comparison, deduplicate, pick a branch) cannot be shared between actors."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"actor.{self.name}"

    __hash__ = object.__hash__

    def _observed(self, *_: Any) -> Any:
        raise ValueDependent(f"the plan compares actor.{self.name} with a value")

    # Equal to itself without raising: Python 3.13's dataclass `__eq__` compares field by field
    # (earlier versions compared tuples, whose identity shortcut never called this), and the
    # simplifier must still see that two conditions on one parameter are the same.
    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        raise ValueDependent(f"the plan compares actor.{self.name} with a value")

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __lt__ = __le__ = __gt__ = __ge__ = __bool__ = _observed  # type: ignore[assignment]


@dataclass
class Template:
    """A plan with `Parameter`s for the actor's fields, for every actor of one class."""

    plan: FilterPlan
    fields: tuple                       # the actor fields the plan reads, in order
    prepared: dict = field(default_factory=dict)   # adapter type -> prepared form, or None

    def values(self, actor: Any, relation_fields: Any) -> Optional[dict]:
        """The actor's values of `fields`, or None if one cannot be bound."""
        if relation_fields is not None and any(f in relation_fields for f in self.fields):
            return None
        out = {}
        for name in self.fields:
            try:
                # Awaited inside an async call, as the policy's own read would be.
                value = await_if_async(getattr(actor, name))
            except AttributeError:
                return None
            if is_awaitable(value):
                if isinstance(value, types.CoroutineType):
                    value.close()   # a sync caller: the concrete build reads it again
                return None
            if type(value) not in BINDABLE or (type(value) is int and not -2**63 <= value < 2**63):
                return None
            out[name] = value
        return out

    def bind(self, values: dict) -> FilterPlan:
        """The concrete plan for an actor with these field values."""
        return bind_plan(self.plan, values)


def cached_filter_plan(polar: Any, actor: Any, action: Any, cls: type,
                       adapter: Any = None) -> tuple:
    """`(plan, query)`: the filter plan for `allow(actor, action, row of cls)` and, when
    `adapter` prepares templates, the adapter's query with the actor's values bound (else None,
    and the caller compiles the plan)."""
    from . import build_filter_plan
    kb = polar._current_kb()
    try:
        key = (type(action), action, cls, type(actor))
        hash(key)
    except TypeError:
        return build_filter_plan(polar, actor, action, cls), None
    cache = _cache_of(kb)
    entry = cache.get(key)
    if entry is None:
        plan = build_filter_plan(polar, actor, action, cls)
        if len(cache) < MAX_TEMPLATES:
            cache[key] = build_template(polar, kb, actor, action, cls)
        return plan, None
    if entry is VALUE_DEPENDENT:
        return build_filter_plan(polar, actor, action, cls), None
    values = entry.values(actor, kb.relation_fields.get(type(actor)))
    if values is None:
        return build_filter_plan(polar, actor, action, cls), None
    prepared = _prepared(entry, adapter)
    if prepared is not None:
        return None, adapter.build_query_from_prepared(prepared, values)
    return entry.bind(values), None


def build_template(polar: Any, kb: Any, actor: Any, action: Any, cls: type) -> Any:
    """The `Template` for actors of `type(actor)`, or `VALUE_DEPENDENT`."""
    type_name = polar.host.class_name(cls)
    try:
        evaluation = evaluate_rule_for_class(kb, "allow", [actor, action, ROW], type_name, 0)
        fields: dict = {}
        evaluation.results = [_parameterize(r, fields) for r in evaluation.results]
        for definition in evaluation.sets.values():
            definition.results = [_parameterize(r, fields) for r in definition.results]
        plan = build_plan(evaluation, cls, schema_of(kb, polar.host))
    except ValueDependent:
        return VALUE_DEPENDENT
    except Exception:   # noqa: BLE001 - the concrete build reports the policy's own errors
        return VALUE_DEPENDENT
    return Template(plan, tuple(fields))


def _cache_of(kb: Any) -> dict:
    cache = kb.derived.get(CACHE_KEY)
    if cache is None:
        with _CREATE_LOCK:
            cache = kb.derived.setdefault(CACHE_KEY, {})
    return cache


_CREATE_LOCK = threading.Lock()


def _prepared(template: Template, adapter: Any) -> Any:
    prepare = getattr(adapter, "prepare_plan", None)
    if prepare is None:
        return None
    kind = type(adapter)
    if kind not in template.prepared:
        try:
            template.prepared[kind] = prepare(template.plan, {n: PARAMETERS_KEY + n for n in template.fields})
        except ValueDependent:
            template.prepared[kind] = None
    return template.prepared[kind]


PARAMETERS_KEY = "oso_actor_"   # prefix of the bound parameters' names in prepared queries


def _parameterize(t: Any, fields: dict) -> Any:
    """`t` with `ACTOR.name` replaced by the `Parameter` of that name."""
    if isinstance(t, Expression):
        args = t.args
        if (t.operator == "Dot" and len(args) == 2 and isinstance(args[0], Variable)
                and args[0] == Variable(ACTOR)):
            name = args[1]
            p = fields.get(name)
            if p is None:
                p = fields[name] = Parameter(name)
            return p
        return Expression(t.operator, [_parameterize(a, fields) for a in args])
    if isinstance(t, Variable) and t == Variable(ACTOR):
        raise ValueDependent("the actor is used other than by reading a field")
    if isinstance(t, list):
        return [_parameterize(a, fields) for a in t]
    if isinstance(t, dict):
        return {k: _parameterize(a, fields) for k, a in t.items()}
    return t


# Binding -------------------------------------------------------------------------------------

def bind_plan(plan: FilterPlan, values: dict) -> FilterPlan:
    """`plan` with every `Parameter` replaced by `values[name]`."""
    sets = {name: RowSet(s.name, s.row, _bind(s.base, values),
                         [RecursiveStep(st.hops, st.member, _bind(st.condition, values)) for st in s.steps],
                         s.description)
            for name, s in plan.sets.items()}
    return FilterPlan(plan.root, _bind(plan.condition, values), sets)


def _bind(c: Any, values: dict) -> Any:
    t = type(c)
    if t is And:
        return And(tuple(_bind(x, values) for x in c.items))
    if t is Or:
        return Or(tuple(_bind(x, values) for x in c.items))
    if t is Not:
        return Not(_bind(c.item, values))
    if t is Compare:
        return Compare(c.op, _bind(c.left, values), _bind(c.right, values))
    if t is In:
        return In(_bind(c.item, values), _bind(c.values, values))
    if t is Contains:
        return Contains(_bind(c.column, values), _bind(c.item, values))
    if t is Exists:
        return Exists(c.parent, c.relation, c.row, _bind(c.condition, values))
    if t is Value:
        v = c.value
        if type(v) is Parameter:
            return Value(values[v.name])
        if type(v) is list:
            return Value([values[x.name] if type(x) is Parameter else x for x in v])
        return c
    return c   # Field, InSet: no values
