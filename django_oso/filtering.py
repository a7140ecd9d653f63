"""Plan-based data filtering for Django models, with many-to-many relations.

oso_core compiles a policy into a `FilterPlan` (`oso_core.filtering.build_filter_plan`) and the
bundled Django adapter compiles a plan into one `Q` (`oso_core.data.adapter.django_adapter.
filter_q`): EXISTS / IN subqueries for relations, NOT EXISTS for `not` and `forall`, a recursive
CTE for recursive rules, bound parameters throughout.

The bundled adapter knows foreign keys, one-to-ones and reverse foreign keys, which are one column
pair each. This module adds many-to-many relations (forward and reverse accessors): they are
offered to the plan builder as ordinary to-many relations, and each `Exists` (or recursive hop)
over one is rewritten, before compiling, into two nested ones through the relation's `through`
model (`post -> post_tags -> tag`), which the bundled compiler handles.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Optional

from django.core.exceptions import FieldDoesNotExist
from django.db import router
from django.db.models import ManyToManyField, ManyToManyRel, Model, Q, QuerySet

from oso_core.data.adapter.django_adapter import DjangoAdapter, filter_q
from oso_core.data.adapter.django_adapter import relations_of as _fk_relations_of
from oso_core.exceptions import PolarRuntimeError
from oso_core.filtering.plan_cache import cached_filter_plan
from oso_core.filtering.plan import (
    And,
    Exists,
    FilterPlan,
    Hop,
    Not,
    Or,
    RecursiveStep,
    RelationInfo,
    Row,
)

__all__ = ["DjangoOsoAdapter", "authorized_q", "expand_many_to_many", "field_type", "plan_q",
           "relations_of"]


@dataclass(frozen=True)
class ManyToMany:
    """How `model.<name>` reaches `target` through `through`:
    `model.<source_key> = through.<source_fk>` and `through.<target_fk> = target.<target_key>`."""

    through: type
    source_key: str
    source_fk: str
    target: type
    target_fk: str
    target_key: str


def _attname(model: type, name: str) -> str:
    return model._meta.get_field(name).attname


def many_to_many_of(model: type) -> dict[str, ManyToMany]:
    """The many-to-many relations of a model, by field name (forward) or accessor (reverse)."""
    found: dict[str, ManyToMany] = {}
    for field in model._meta.get_fields():
        if isinstance(field, ManyToManyField):
            through = field.remote_field.through
            if not isinstance(through, type):
                continue   # through model not resolved (unusual: an unloaded app)
            found[field.name] = ManyToMany(
                through=through,
                source_key=_attname(model, field.m2m_target_field_name()),
                source_fk=_attname(through, field.m2m_field_name()),
                target=field.related_model,
                target_fk=_attname(through, field.m2m_reverse_field_name()),
                target_key=_attname(field.related_model, field.m2m_reverse_target_field_name()),
            )
        elif isinstance(field, ManyToManyRel):
            accessor = field.get_accessor_name()
            forward = field.field
            through = field.through
            if accessor is None or field.hidden or not isinstance(through, type):
                continue
            found[accessor] = ManyToMany(
                through=through,
                source_key=_attname(model, forward.m2m_reverse_target_field_name()),
                source_fk=_attname(through, forward.m2m_reverse_field_name()),
                target=forward.model,
                target_fk=_attname(through, forward.m2m_field_name()),
                target_key=_attname(forward.model, forward.m2m_target_field_name()),
            )
    return found


_M2M_COLUMN = "<many-to-many>"   # `other_field` of a many-to-many RelationInfo (never compiled)


def relations_of(model: type) -> dict[str, tuple[str, type, str, str]]:
    """oso_core's Django relations (FKs, one-to-ones, reverse FKs) plus many-to-many ones."""
    relations = dict(_fk_relations_of(model))
    for name, m2m in many_to_many_of(model).items():
        relations.setdefault(name, ("many", m2m.target, m2m.source_key, _M2M_COLUMN))
    return relations


def field_type(cls: Any, name: str, default: Callable[[type, str], Any]) -> Any:
    """The type of `cls.<name>` for typed paths in policies (`x.owner matches auth::User`).

    For a model: the related model of a relation (forward or reverse, to-one or to-many, as
    legacy django-oso), None for a column or an unknown attribute (a property: no constraint).
    Other classes: oso_core's default (the `fields` given to `register_class`).
    """
    meta = getattr(cls, "_meta", None)
    if not (isinstance(cls, type) and issubclass(cls, Model) and meta is not None):
        return default(cls, name)
    try:
        return meta.get_field(name).related_model
    except FieldDoesNotExist:
        pass
    for rel in meta.related_objects:
        if rel.get_accessor_name() == name:
            return rel.related_model
    try:
        return default(cls, name)
    except PolarRuntimeError:
        return None


# --- many-to-many rewriting -------------------------------------------------------------------

class _Expander:
    def __init__(self) -> None:
        self.count = 0

    def m2m(self, parent: Row, relation: RelationInfo) -> Optional[ManyToMany]:
        if relation.other_field != _M2M_COLUMN:
            return None
        return many_to_many_of(parent.cls).get(relation.name)

    def link_row(self, m2m: ManyToMany, row: Row) -> Row:
        self.count += 1
        through = m2m.through
        return Row(through, f"{through._meta.app_label}::{through.__name__}", f"{row.label}_link{self.count}")

    @staticmethod
    def hops(m2m: ManyToMany, relation: RelationInfo, parent: Row, link: Row, row: Row) -> tuple:
        to_link = RelationInfo(f"{relation.name}__through", "many", m2m.through, link.name,
                               m2m.source_key, m2m.source_fk)
        to_row = RelationInfo(relation.name, "one", m2m.target, relation.target_name,
                              m2m.target_fk, m2m.target_key)
        return Hop(parent, to_link, link), Hop(link, to_row, row)

    def condition(self, c: Any) -> Any:
        if isinstance(c, (And, Or)):
            return type(c)(tuple(self.condition(item) for item in c.items))
        if isinstance(c, Not):
            return Not(self.condition(c.item))
        if isinstance(c, Exists):
            inner = self.condition(c.condition)
            m2m = self.m2m(c.parent, c.relation)
            if m2m is None:
                return Exists(c.parent, c.relation, c.row, inner)
            link = self.link_row(m2m, c.row)
            first, second = self.hops(m2m, c.relation, c.parent, link, c.row)
            return Exists(c.parent, first.relation, link, Exists(link, second.relation, c.row, inner))
        return c

    def step(self, step: RecursiveStep) -> RecursiveStep:
        hops: list = []
        for hop in step.hops:
            m2m = self.m2m(hop.parent, hop.relation)
            if m2m is None:
                hops.append(hop)
            else:
                link = self.link_row(m2m, hop.row)
                hops.extend(self.hops(m2m, hop.relation, hop.parent, link, hop.row))
        return RecursiveStep(tuple(hops), step.member, self.condition(step.condition))


def expand_many_to_many(plan: FilterPlan) -> FilterPlan:
    """The same plan with every many-to-many `Exists` and hop going through its `through` model."""
    expander = _Expander()
    sets = {name: dataclasses.replace(row_set, base=expander.condition(row_set.base),
                                      steps=[expander.step(s) for s in row_set.steps])
            for name, row_set in plan.sets.items()}
    return FilterPlan(plan.root, expander.condition(plan.condition), sets)


def plan_q(plan: FilterPlan, using: Optional[str] = None) -> Q:
    """One `Q` over `plan.root.cls` selecting the rows the plan admits (many-to-many included)."""
    return filter_q(expand_many_to_many(plan), using=using)


def authorized_q(actor: Any, action: Any, model: type, *, oso: Any = None,
                 using: Optional[str] = None) -> Q:
    """The `Q` selecting the rows of `model` on which `allow(actor, action, row)` holds, from
    oso_core's filter plan (all of Polar that has a meaning in SQL: `or`, `not`, `forall`,
    field-to-field comparisons, relations of every kind, recursive rules)."""
    if oso is None:
        from .oso import Oso as oso
    plan, _ = cached_filter_plan(oso, actor, action, model)   # docs/data-filtering.md
    return plan_q(plan, using=using or router.db_for_read(model))


class DjangoOsoAdapter(DjangoAdapter):
    """oso_core's `DjangoAdapter` plus many-to-many relations; `django_oso`'s singleton uses it,
    so `Oso.authorized_query(actor, action, Model)` / `authorized_resources` work out of the box."""

    def relations_of(self, cls: type) -> dict[str, tuple[str, type, str, str]]:
        if isinstance(cls, type) and issubclass(cls, Model):
            return relations_of(cls)
        return {}

    def build_query_from_plan(self, plan: FilterPlan) -> QuerySet:
        return super().build_query_from_plan(expand_many_to_many(plan))
