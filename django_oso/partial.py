"""Partial results -> Django `Q` objects, in the shape legacy django-oso 0.27 produced.

`partial_to_query_filter(expr, model)` translates one partial result (the constraints on the
resource, an `Expression("And", ...)` over `Variable("_this")`) into a `Q` over `model`:

* `_this.a.b = v`, `!=`, `<`, `<=`, `>`, `>=` -> `Q(a__b=v)`, `~Q(...)`, `a__b__lt=v`, ... (a value
  on the left is mirrored; a model instance stands for its primary key; `nil` is `IS NULL`);
* `v in _this.rel` -> `Q(rel=v)`; `_this in x.path` -> `Q(pk=F(path))`;
* `x in _this.rel` followed by constraints on `x` -> a nested builder over the related model whose
  rows must exist: `pk IN (SELECT pk ... WHERE EXISTS (...))`, so joins never duplicate rows;
* `matches` (Isa) is checked in Python against the model the path reaches: a match adds nothing,
  a mismatch makes the conjunction false; `not (... matches ...)` negates that.

Everything else (`or`, other negations, comparing two fields, `forall`, ...) raises
`UnsupportedError("Unsupported partial expression: ...")`, and so do the cases legacy translated
wrongly: one variable in two relations (legacy dropped the link between them and granted too
much), two variables over the same to-many relation or two lookups through to-many relations in
one conjunction (legacy made them share one join row and granted too little).

`authorize_model` uses this translation for results without variables (the `Q` legacy produced)
and compiles everything else from oso_core's filter plan (see `django_oso.filtering`).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Exists, F, Model, OuterRef, Q

from oso_core.exceptions import UnsupportedError
from oso_core.expression import Expression, Pattern
from oso_core.partial import dot_path
from oso_core.variable import Variable

from .oso import django_model_name

__all__ = ["TRUE_FILTER", "FALSE_FILTER", "COMPARISONS", "FilterBuilder", "partial_to_query_filter"]

# A condition that always holds but, unlike `Q()`, still combines (`&`, `|`, `~`) as a condition.
TRUE_FILTER = ~Q(pk__in=[])
# Its opposite: no row.
FALSE_FILTER = Q(pk__in=[])

COMPARISONS: dict[str, Callable[[str, Any], Q]] = {
    "Unify": lambda f, v: Q(**{f: v}),
    "Eq": lambda f, v: Q(**{f: v}),
    "Neq": lambda f, v: ~Q(**{f: v}),
    "Geq": lambda f, v: Q(**{f"{f}__gte": v}),
    "Gt": lambda f, v: Q(**{f"{f}__gt": v}),
    "Leq": lambda f, v: Q(**{f"{f}__lte": v}),
    "Lt": lambda f, v: Q(**{f"{f}__lt": v}),
}

_MIRRORED = {"Gt": "Lt", "Lt": "Gt", "Geq": "Leq", "Leq": "Geq"}


def _unsupported(expr: Any) -> UnsupportedError:
    return UnsupportedError(f"Unsupported partial expression: {expr}")


def _negation(q: Q) -> Q:
    """`NOT (q)` as a new node holding `q` (Django's `~` only flips `q`'s own flag)."""
    return Q(q, _negated=True)


def _field(model: type, name: str) -> Any:
    """The field (or reverse relation) `name` of `model`; reverse accessors (`post_set`) too."""
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        for rel in model._meta.related_objects:
            if rel.get_accessor_name() == name:
                return rel
        raise UnsupportedError(f"{model.__name__} has no field {name}") from None


def _walk(model: Optional[type], fields: tuple) -> tuple[Optional[type], bool]:
    """The model `fields` lead to from `model` (None past a column) and whether the path goes
    through a to-many relation."""
    to_many = False
    for name in fields:
        if model is None:
            return None, to_many
        field = _field(model, name)
        to_many = to_many or bool(field.many_to_many or field.one_to_many)
        model = field.related_model
    return model, to_many


class FilterBuilder:
    """Translates the constraints on one variable (`name`, a row of `model`) into a `Q`.

    Constraints on variables introduced by `x in <path>` go to nested builders (`variables`),
    whose rows must exist for a row of this one to pass (`finish`). With
    `allow_variables=False` such a variable raises `UnsupportedError` instead.
    """

    def __init__(self, model: type, name: str = "_this", parent: Optional[FilterBuilder] = None,
                 *, allow_variables: bool = True) -> None:
        self.model = model
        self.name = name
        self.parent = parent
        self.allow_variables = allow_variables
        self.filter: Q = TRUE_FILTER
        self.variables: dict[str, FilterBuilder] = {}
        self.unsatisfiable = False
        self.to_many_lookups = 0          # lookups of this filter that cross a to-many relation
        self._variable_paths: set = set()  # first relation of each variable's path

    # Building -------------------------------------------------------------------------------------

    def add_filter(self, q: Q) -> None:
        self.filter = q if self.filter == TRUE_FILTER else self.filter & q

    def builder_for(self, var: Any) -> Optional[FilterBuilder]:
        """The builder (this one or a nested one) of variable `var`."""
        if var == self.name:
            return self
        for sub in self.variables.values():
            found = sub.builder_for(var)
            if found is not None:
                return found
        return None

    def root(self) -> FilterBuilder:
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def path_expression(self, path: tuple) -> Any:
        """A path `(var, f1, ...)` as seen from this builder's query: `F("f1__...")` for its own
        variable, `OuterRef("f1__...")` for its parent's; anything else is not expressible."""
        if path[0] == self.name:
            return F("__".join(path[1:]) or "pk")
        if self.parent is not None and path[0] == self.parent.name:
            return OuterRef("__".join(path[1:]) or "pk")
        raise _unsupported(path)

    def _lookup(self, fields: tuple) -> str:
        """`a__b` for the path `_this.a.b`, counting lookups through to-many relations."""
        if _walk(self.model, fields)[1]:
            self.to_many_lookups += 1
            if self.to_many_lookups > 1:
                # Two such lookups in one filter share their join row: not the policy's meaning.
                raise UnsupportedError("Unsupported partial expression: two conditions through "
                                       "to-many relations on one row")
        return "__".join(fields) or "pk"

    # Translation ----------------------------------------------------------------------------------

    def translate_expr(self, expr: Any) -> FilterBuilder:
        """Add the translation of `expr` to this builder (or to the builder of its variable)."""
        if not isinstance(expr, Expression):
            if expr is True:
                return self
            raise _unsupported(expr)
        if len(expr.args) == 2 and expr.operator != "In":
            for side in expr.args:
                path = dot_path(side)
                if path:
                    owner = self.builder_for(path[0])
                    if owner is not None and owner is not self:
                        owner.translate_expr(expr)
                        return self
        op = expr.operator
        if op in COMPARISONS:
            self.compare_expr(expr)
        elif op == "And":
            for arg in expr.args:
                self.translate_expr(arg)
        elif op == "Isa":
            if self.isa_holds(expr) is False:
                self.unsatisfiable = True
        elif op == "In":
            self.in_expr(expr)
        elif op == "Not":
            self.not_expr(expr)
        else:
            raise _unsupported(expr)
        return self

    def compare_expr(self, expr: Expression) -> None:
        op = expr.operator
        left, right = expr.args
        left_path, right_path = dot_path(left), dot_path(right)
        if right_path and not left_path:
            op = _MIRRORED.get(op, op)
            left, right, left_path, right_path = right, left, right_path, left_path
        if not left_path or right_path or left_path[0] != self.name \
                or isinstance(right, (Expression, Variable, Pattern)):
            raise _unsupported(expr)   # two fields, an unbound variable, or no field at all
        field = self._lookup(left_path[1:])
        if isinstance(right, Model):
            right = right.pk
        self.add_filter(COMPARISONS[op](field, right))

    def isa_holds(self, expr: Expression) -> Optional[bool]:
        """Whether `path matches Tag` holds, from the model the path reaches (None: unknown, for a
        column)."""
        left, pattern = expr.args
        path = dot_path(left)
        if not path or not isinstance(pattern, Pattern) or pattern.fields:
            raise _unsupported(expr)
        owner = self.builder_for(path[0])
        if owner is None:
            raise _unsupported(expr)
        model = _walk(owner.model, path[1:])[0]
        if pattern.tag is None:
            return True
        try:
            tag_model = apps.get_model(django_model_name(pattern.tag))
        except (LookupError, ValueError):
            from .oso import Oso
            try:
                tag_model = Oso.get_class(pattern.tag)
            except Exception:
                raise _unsupported(expr) from None
        if model is None:
            return None
        return isinstance(tag_model, type) and issubclass(model, tag_model)

    def in_expr(self, expr: Expression) -> None:
        item, coll = expr.args
        coll_path = dot_path(coll)
        if len(coll_path) < 2:
            raise _unsupported(expr)   # `x in y` over a whole variable, or over a non-path
        if isinstance(item, Variable) and item == self.name:
            # _this in x.path (x: this builder's variable or its parent's)
            self.add_filter(COMPARISONS["Unify"]("pk", self.path_expression(coll_path)))
        elif isinstance(item, Variable):
            self.variable_in(item, coll_path, expr)
        elif isinstance(item, (Expression, Pattern)):
            raise _unsupported(expr)
        else:
            # value in _this.path
            if coll_path[0] != self.name:
                owner = self.builder_for(coll_path[0])
                if owner is None:
                    raise _unsupported(expr)
                owner.in_expr(expr)
                return
            self.add_filter(COMPARISONS["Unify"](self._lookup(coll_path[1:]), item))

    def variable_in(self, var: Variable, coll_path: tuple, expr: Expression) -> None:
        """`var in base.path`: `var` ranges over the rows related to `base`'s row."""
        if not self.allow_variables:
            raise _unsupported(expr)
        root = self.root()
        base = root.builder_for(coll_path[0])
        if base is None:
            raise _unsupported(expr)
        if root.builder_for(var) is not None:
            # `var` already ranges over another relation: both must hold for the same row.
            raise _unsupported(expr)
        if coll_path[1] in base._variable_paths:
            raise _unsupported(expr)   # a second variable over the same relation
        model = _walk(base.model, coll_path[1:])[0]
        if model is None:
            raise _unsupported(expr)
        sub = FilterBuilder(model, name=var, parent=base)
        sub.add_filter(COMPARISONS["Unify"]("pk", OuterRef("__".join(coll_path[1:]))))
        base.variables[var] = sub
        base._variable_paths.add(coll_path[1])

    def not_expr(self, expr: Expression) -> None:
        (inner,) = expr.args
        if not (isinstance(inner, Expression) and inner.operator == "Isa"):
            raise _unsupported(expr)
        holds = self.isa_holds(inner)
        if holds is None:
            raise _unsupported(expr)
        if holds:
            self.add_filter(_negation(TRUE_FILTER))   # not (true): no row
        # not (false): nothing to add

    # Result ---------------------------------------------------------------------------------------

    def finish(self) -> Q:
        """The filter, with an existence test for each nested variable's rows."""
        if self.unsatisfiable:
            return FALSE_FILTER
        if not self.variables:
            return self.filter
        pk = self.model._meta.pk.attname
        rows = self.model._base_manager.all()
        for sub in self.variables.values():
            related = sub.model._base_manager.filter(sub.finish())
            rows = rows.filter(Exists(related))
        self.add_filter(Q(pk__in=rows.values(pk)))
        return self.filter


def translate(partial: Any, model: type, *, allow_variables: bool = True) -> FilterBuilder:
    """The finished builder of `partial` over `model` (its `filter` is the `Q`)."""
    builder = FilterBuilder(model, allow_variables=allow_variables)
    builder.translate_expr(partial)
    builder.filter = builder.finish()
    return builder


def partial_to_query_filter(partial: Expression, model: Any) -> Q:
    """Convert a partial result over `_this` into a `Q` over `model` (a model class, or its
    Polar name `"app::Model"`). Raises `UnsupportedError` for what it cannot express."""
    if isinstance(model, str):
        model = apps.get_model(django_model_name(model))
    return translate(partial, model).filter
