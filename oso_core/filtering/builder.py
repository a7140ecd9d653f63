"""Partial results -> filter plan.

Each partial result is a conjunction of constraints over `_this` (the row being filtered) and
variables introduced by `x in _this.items`. A conjunction becomes a tree of `Exists` nodes
(one per related row) with every constraint placed at the deepest row it mentions; `or` and
`not` become sub-conjunctions; `InSet` refers to row sets of recursive rules, and a set whose
definition refers to itself becomes a recursive step (joins from the new row to a member).

Anything that has no meaning in a query (arithmetic on columns, a to-many relation in the middle
of a path, a field of something that is not a row) raises `UnsupportedError` citing the policy
line that produced it; nothing is ever dropped.
"""

from __future__ import annotations

from typing import Any, Optional

import oso_core.exceptions as exc
from ..expression import Expression, Pattern
from ..runtime.async_bridge import await_if_async
from ..runtime.partial_eval import PartialEvaluation, first_origin
from ..runtime.terms import render_term
from ..variable import Variable
from .plan import (FALSE, TRUE, And, Compare, Condition, Contains, Exists, Field, FilterPlan, Hop, In,
                   InSet, Not, Or, RecursiveStep, RelationInfo, Row, RowSet, Value)
from .schema import Schema
from .simplify import simplify

DOCS = "https://docs.osohq.com/guides/data_filtering.html"
_MIRROR = {"Eq": "Eq", "Neq": "Neq", "Lt": "Gt", "Gt": "Lt", "Leq": "Geq", "Geq": "Leq"}
_OPS = {"Unify": "Eq", "Eq": "Eq", "Neq": "Neq", "Lt": "Lt", "Leq": "Leq", "Gt": "Gt", "Geq": "Geq"}


def build_plan(evaluation: PartialEvaluation, cls: type, schema: Schema) -> FilterPlan:
    """The filter plan for rows of `cls` from a partial evaluation of `allow`."""
    builder = _Builder(schema, evaluation.origins)
    root = builder.new_row(cls, schema.class_name(cls))
    condition = Or(tuple(builder.result_condition(r, root, None) for r in evaluation.results))
    sets = builder.build_sets(evaluation)
    return FilterPlan(root, simplify(condition), sets)


def unsupported_operation(expr: Any, origins: dict, what: Optional[str] = None) -> exc.UnsupportedError:
    """Legacy's data-filtering error text, plus where in the policy the construct comes from."""
    op = what or (f"{expr.operator}/{len(expr.args)}" if isinstance(expr, Expression) else type(expr).__name__)
    text = (f"Unsupported operation:\n    {op}\nin the expression:\n    {render_term(expr)}\n"
            f"in a data filtering query.\n\nThis operation is not currently supported for data "
            f"filtering.\nFor more information please refer to our documentation:\n    {DOCS}")
    return exc.UnsupportedError(text + _where(first_origin(expr, origins)))


def _where(span: Any) -> str:
    return "" if span is None else "\n\nThe constraint comes from the policy" + span.context()


class _PathRef:
    """`base.r1.r2.field`: to-one relations `rels` from a row, then a column, a relation, or
    nothing (the row itself)."""

    __slots__ = ("base", "rels", "field", "last_rel")

    def __init__(self, base: Row, rels: list, field: Optional[str], last_rel: Optional[RelationInfo]) -> None:
        self.base = base
        self.rels = rels
        self.field = field
        self.last_rel = last_rel


class _Builder:
    def __init__(self, schema: Schema, origins: dict) -> None:
        self.schema = schema
        self.origins = origins
        self.counter = 0
        self.set_refs: dict = {}   # set name -> names of sets its definition refers to

    def new_row(self, cls: type, name: str) -> Row:
        self.counter += 1
        label = name.lower() if self.counter == 1 else f"{name.lower()}_{self.counter}"
        return Row(cls, name, label)

    def result_condition(self, result: Any, row: Row, own_set: Optional[str]) -> Condition:
        if not isinstance(result, Expression):
            return Compare("Eq", Field(row, None), Value(result))
        scope = _Scope(self, {"_this": row}, {}, own_set)
        return scope.translate(_conjuncts(result))

    # Row sets ----------------------------------------------------------------------------------

    def build_sets(self, evaluation: PartialEvaluation) -> dict:
        defined: dict = {}
        for name, definition in evaluation.sets.items():
            cls = self.schema.host.get_class(definition.type_name)
            row = self.new_row(cls, definition.type_name)
            base: list = []
            steps: list = []
            self.set_refs[name] = set()
            for result in definition.results:
                if not isinstance(result, Expression):
                    base.append(Compare("Eq", Field(row, None), Value(result)))
                    continue
                scope = _Scope(self, {"_this": row}, {}, name, current_set=name)
                condition = scope.translate(_conjuncts(result))
                if scope.member is None:
                    base.append(condition)
                    continue
                step = scope.recursive_step(row)
                if step is not None:
                    steps.append(step)
            defined[name] = RowSet(name, row, simplify(Or(tuple(base))), steps, definition.description)
        self._check_recursion(evaluation, defined)
        return {name: defined[name] for name in self._dependency_order(defined)}

    def _check_recursion(self, evaluation: PartialEvaluation, defined: dict) -> None:
        for start in defined:
            stack = [n for n in self.set_refs.get(start, ()) if n != start]
            seen: set = set()
            while stack:
                n = stack.pop()
                if n == start:
                    d = evaluation.sets[start]
                    raise exc.UnsupportedError(
                        f"Mutually recursive rules cannot be translated to a query: {d.description} "
                        f"depends on itself through another recursive call. Rewrite the policy so "
                        f"each recursive rule calls only itself." + _where(d.site_span))
                if n in seen:
                    continue
                seen.add(n)
                stack.extend(m for m in self.set_refs.get(n, ()) if m != n)

    def _dependency_order(self, defined: dict) -> list:
        order: list = []
        visiting: set = set()

        def visit(name: str) -> None:
            if name in order or name in visiting:
                return
            visiting.add(name)
            for dep in sorted(self.set_refs.get(name, ())):
                if dep != name and dep in defined:
                    visit(dep)
            order.append(name)
        for name in defined:
            visit(name)
        return order


def _conjuncts(expr: Any) -> list:
    if isinstance(expr, Expression) and expr.operator == "And":
        out: list = []
        for a in expr.args:
            out.extend(_conjuncts(a))
        return out
    return [expr]


class _Scope:
    """One conjunction: its rows (related rows it introduces) and where each constraint goes."""

    def __init__(self, builder: _Builder, rows: dict, aliases: dict, own_set: Optional[str],
                 current_set: Optional[str] = None, nested: bool = False) -> None:
        self.b = builder
        self.rows = dict(rows)          # variable name -> Row (outer rows and this scope's rows)
        self.aliases = dict(aliases)    # variable name -> term it equals
        self.own_set = own_set          # the set being defined (its self-references are steps)
        self.current_set = current_set
        self.nested = nested            # inside `or`/`not`: a self-reference is an error
        self.rel_parent: dict = {}      # id(row) -> (parent row, relation)
        self.nest_parent: dict = {}     # id(row) -> row it is nested under (None: this scope's top)
        self.local: list = []           # this scope's rows, in creation order
        self.implicit: dict = {}        # (id(parent), relation name) -> row
        self.placed: dict = {}          # id(row) or None -> [conditions]
        self.used: list = []            # rows the current constraint mentions
        self.outer_used: list = []      # rows of enclosing scopes this conjunction reads
        self.member: Optional[Row] = None

    # Entry -------------------------------------------------------------------------------------

    def translate(self, constraints: list) -> Condition:
        type_checks = [c for c in constraints if _is_plain_isa(c)]
        items = [c for c in constraints if not _is_plain_isa(c)]
        items = self._expand_patterns(items)
        items = self._collect_aliases(items)
        items = self._define_rows(items)
        if any(self._isa_impossible(c) for c in type_checks):
            return FALSE
        for c in items:
            self.used = []
            condition = self._constraint(c)
            if condition is not None:
                self._place(condition, c)
        return self._assemble(None)

    def _isa_impossible(self, c: Expression) -> bool:
        """`Isa(x, C)` where `x` is a row (or a to-one relation) whose class is known and is not
        `C` or a subclass of it: no row can satisfy this conjunction. (A compatible class adds no
        condition; the row's class is the ORM relationship's target or the declared Relation's
        `other_type`.)"""
        term, pattern = c.args
        if not self.b.schema.host.is_class_name(pattern.tag):
            return False
        isa_cls = self.b.schema.host.get_class(pattern.tag)
        row_cls = self._class_of(term)
        if not isinstance(isa_cls, type) or not isinstance(row_cls, type):
            return False
        return not issubclass(row_cls, isa_cls) and not issubclass(isa_cls, row_cls)

    def _class_of(self, t: Any) -> Optional[type]:
        """The class of the row a variable or to-one path denotes, or None if not a known row."""
        if not self._resolvable(t):
            return None
        t = self._dealias(t)
        if isinstance(t, Variable):
            row = self.rows.get(t)
            return None if row is None else row.cls
        if not (isinstance(t, Expression) and t.operator == "Dot"):
            return None
        try:
            path = self._path(t, t)
        except exc.UnsupportedError:
            return None
        if path.field is not None or path.last_rel is None or path.last_rel.kind != "one":
            return None
        return path.last_rel.target

    # Aliases and rows -----------------------------------------------------------------------------

    def _expand_patterns(self, items: list) -> list:
        out = []
        for c in items:
            if c.operator == "Isa" and isinstance(c.args[1], Pattern) and c.args[1].fields:
                for key, value in c.args[1].fields.items():
                    out.append(Expression("Unify", [value, Expression("Dot", [c.args[0], key])]))
            else:
                out.append(c)
        return out

    def _collect_aliases(self, items: list) -> list:
        """`x = term` with `x` a variable of this conjunction: later uses of `x` mean `term`."""
        defined_by_in = {c.args[0] for c in items if c.operator == "In" and isinstance(c.args[0], Variable)}
        rest = []
        for c in items:
            if c.operator in ("Unify", "Eq") and len(c.args) == 2:
                a, b = c.args
                for var, other in ((a, b), (b, a)):
                    if (isinstance(var, Variable) and var not in self.rows and var not in self.aliases
                            and var not in defined_by_in and not _mentions(other, var)):
                        self.aliases[var] = other
                        break
                else:
                    rest.append(c)
                continue
            rest.append(c)
        return rest

    def _define_rows(self, items: list) -> list:
        """`x in base.relation` with `x` new: `x` is a related row (an EXISTS)."""
        pending = [c for c in items if c.operator == "In" and isinstance(c.args[0], Variable)
                   and self._free(c.args[0])]
        rest = [c for c in items if not any(c is p for p in pending)]
        progress = True
        while pending and progress:
            progress = False
            for c in list(pending):
                var, coll = c.args
                if not self._resolvable(coll):
                    continue
                if var in self.rows:   # defined by an earlier `in`: this one is a membership test
                    rest.append(c)
                    pending.remove(c)
                    continue
                path = self._path(coll, c)
                if path.last_rel is None:
                    raise unsupported_operation(c, self.b.origins, "In/2 over a column that is not a relation")
                parent = self._row_at(path.base, path.rels)
                row = self.b.new_row(path.last_rel.target, path.last_rel.target_name)
                self._add_row(row, parent, path.last_rel)
                self.rows[var] = row
                pending.remove(c)
                progress = True
        for c in pending:
            raise unsupported_operation(c, self.b.origins)
        return rest

    def _free(self, var: Variable) -> bool:
        return var not in self.rows and var not in self.aliases

    def _resolvable(self, t: Any) -> bool:
        t = self._dealias(t)
        while isinstance(t, Expression) and t.operator == "Dot":
            t = self._dealias(t.args[0])
        return not isinstance(t, Variable) or t in self.rows

    def _add_row(self, row: Row, parent: Row, relation: RelationInfo) -> None:
        self.rel_parent[id(row)] = (parent, relation)
        self.nest_parent[id(row)] = parent if id(parent) in self.rel_parent else None
        self.local.append(row)

    def _row_at(self, base: Row, rels: list) -> Row:
        """The row reached from `base` through to-one relations (shared within the scope)."""
        row = base
        for rel in rels:
            key = (id(row), rel.name)
            nxt = self.implicit.get(key)
            if nxt is None:
                nxt = self.b.new_row(rel.target, rel.target_name)
                self._add_row(nxt, row, rel)
                self.implicit[key] = nxt
            row = nxt
            self.used.append(row)
        self.used.append(base)
        return row

    # Terms ---------------------------------------------------------------------------------------

    def _dealias(self, t: Any) -> Any:
        seen = 0
        while isinstance(t, Variable) and t in self.aliases and seen < 100:
            t = self.aliases[t]
            seen += 1
        return t

    def _path(self, t: Any, context: Any) -> _PathRef:
        """Resolve a variable or dotted path to a row and the fields after it."""
        t = self._dealias(t)
        fields: list = []
        while isinstance(t, Expression) and t.operator == "Dot":
            fields.append(t.args[1])
            t = self._dealias(t.args[0])
        if not isinstance(t, Variable) or t not in self.rows:
            raise unsupported_operation(context, self.b.origins,
                                        f"a field of {render_term(t)}, which is not a row of a registered class")
        fields.reverse()
        row = self.rows[t]
        cls = row.cls
        rels: list = []
        for i, name in enumerate(fields):
            if not isinstance(name, str):
                raise unsupported_operation(context, self.b.origins)
            rel = self.b.schema.relation(cls, name)
            last = i == len(fields) - 1
            if last:
                if rel is not None:
                    return _PathRef(row, rels, None, rel)
                return _PathRef(row, rels, name, None)
            if rel is None:
                raise exc.UnsupportedError(_unregistered_field(self.b.schema.class_name(cls), name)
                                           + _where(first_origin(context, self.b.origins)))
            if rel.kind != "one":
                raise unsupported_operation(context, self.b.origins,
                                            f"the to-many relation {self.b.schema.class_name(cls)}.{name} "
                                            f"inside a path (use `x in {name}`)")
            rels.append(rel)
            cls = rel.target
        return _PathRef(row, rels, None, None)

    def _operand(self, t: Any, context: Any) -> tuple:
        """('value', v) | ('field', Field) | ('row', Row) | ('rel', parent Row, RelationInfo)."""
        t = self._dealias(t)
        if isinstance(t, Variable) and t not in self.rows:
            raise unsupported_operation(context, self.b.origins,
                                        f"the unconstrained variable {render_term(t)}")
        if not isinstance(t, (Variable, Expression)):
            if isinstance(t, list) and any(isinstance(x, (Variable, Expression)) for x in t):
                raise unsupported_operation(context, self.b.origins)
            return ("value", t)
        if isinstance(t, Expression) and t.operator != "Dot":
            raise unsupported_operation(t, self.b.origins)
        path = self._path(t, context)
        rels = list(path.rels)
        field = path.field
        # `r.org.id` is `r.org_id` when `id` is the column the relation joins on: no join needed.
        while field is not None and rels and rels[-1].other_field == field:
            field = rels[-1].my_field
            rels.pop()
        row = self._row_at(path.base, rels)
        if field is not None:
            return ("field", Field(row, field))
        if path.last_rel is not None:
            return ("rel", row, path.last_rel)
        return ("row", row)

    def _identity(self, operand: tuple) -> Optional[Field]:
        """A row-valued operand as a column: the row's key, or the foreign key that reaches it."""
        kind = operand[0]
        if kind == "row":
            return Field(operand[1], None)
        if kind == "rel":
            parent, rel = operand[1], operand[2]
            if rel.kind != "one":
                return None
            return Field(parent, rel.my_field)
        return None

    # Constraints ----------------------------------------------------------------------------------

    def _constraint(self, c: Any) -> Optional[Condition]:
        if not isinstance(c, Expression):
            if c is True:
                return TRUE
            raise unsupported_operation(c, self.b.origins)
        op = c.operator
        if op in _OPS and len(c.args) == 2:
            return self._compare(_OPS[op], c.args[0], c.args[1], c)
        if op == "In" and len(c.args) == 2:
            return self._membership(c)
        if op == "Not" and len(c.args) == 1:
            inner = self._sub_scope(_conjuncts(c.args[0]), c)
            return Not(inner)
        if op == "Or":
            return Or(tuple(self._sub_scope(_conjuncts(a), c) for a in c.args))
        if op == "And":
            return self._sub_scope(_conjuncts(c), c)
        if op == "InSet":
            return self._in_set(c)
        if op == "Isa":
            return None
        raise unsupported_operation(c, self.b.origins)

    def _compare(self, op: str, a: Any, b: Any, c: Expression) -> Condition:
        left = self._operand(a, c)
        right = self._operand(b, c)
        if left[0] == "value" and right[0] == "value":
            return TRUE if _python_compare(op, left[1], right[1]) else FALSE
        if left[0] == "value":
            left, right, op = right, left, _MIRROR[op]
        if left[0] == "field":
            if right[0] == "value":
                return Compare(op, left[1], Value(right[1]))
            if right[0] == "field":
                return Compare(op, left[1], right[1])
            raise unsupported_operation(c, self.b.origins, f"{op}/2 between a column and a row")
        # A row (or a to-one relation) on the left.
        if op not in ("Eq", "Neq"):
            raise unsupported_operation(c, self.b.origins, f"{op}/2 on a row")
        if right[0] == "value":
            if left[0] == "rel":
                parent, rel = left[1], left[2]
                if rel.kind != "one":
                    raise unsupported_operation(c, self.b.origins, f"{op}/2 on a to-many relation")
                value = right[1]
                # The related object's key (the value itself if it has no such attribute), read
                # once: in an async call an awaitable attribute is awaited.
                key = await_if_async(getattr(value, rel.other_field, value))
                return Compare(op, Field(parent, rel.my_field), Value(key))
            return Compare(op, Field(left[1], None), Value(right[1]))
        if right[0] == "field":
            raise unsupported_operation(c, self.b.origins, f"{op}/2 between a row and a column")
        return Compare(op, *self._same_row_columns(left, right, c))

    def _same_row_columns(self, left: tuple, right: tuple, c: Any) -> tuple:
        """Columns that are equal exactly when two row-valued operands are the same row."""
        for x, y in ((left, right), (right, left)):
            if x[0] == "rel" and y[0] == "row":
                if x[2].kind != "one":
                    break
                return Field(x[1], x[2].my_field), Field(y[1], x[2].other_field)
        if left[0] == "row" and right[0] == "row":
            return Field(left[1], None), Field(right[1], None)
        if left[0] == "rel" and right[0] == "rel" and left[2].kind == right[2].kind == "one" \
                and left[2].other_field == right[2].other_field:
            return Field(left[1], left[2].my_field), Field(right[1], right[2].my_field)
        raise unsupported_operation(c, self.b.origins, "comparison of two related rows")

    def _membership(self, c: Expression) -> Condition:
        item, coll = c.args
        target = self._operand(coll, c)
        if target[0] == "value":
            values = target[1]
            if not isinstance(values, list):
                raise unsupported_operation(c, self.b.origins, "In/2 over something that is not a list")
            left = self._operand(item, c)
            if left[0] == "value":
                return TRUE if left[1] in values else FALSE
            field = left[1] if left[0] == "field" else self._identity(left)
            if field is None:
                raise unsupported_operation(c, self.b.origins)
            return In(field, Value(list(values)))
        if target[0] == "field":   # a list-valued column
            left = self._operand(item, c)
            if left[0] == "value":
                return Contains(target[1], Value(left[1]))
            if left[0] == "field":
                return Contains(target[1], left[1])
            raise unsupported_operation(c, self.b.origins, "a row in a list-valued column")
        if target[0] == "rel":
            parent, rel = target[1], target[2]
            row = self.b.new_row(rel.target, rel.target_name)
            left = self._operand(item, c)
            if left[0] == "value":
                inner: Condition = Compare("Eq", Field(row, None), Value(left[1]))
            elif left[0] == "field":
                inner = Compare("Eq", Field(row, None), left[1])
            else:
                inner = Compare("Eq", *self._same_row_columns(("row", row), left, c))
            return Exists(parent, rel, row, inner)
        raise unsupported_operation(c, self.b.origins, "In/2 over a row")

    def _in_set(self, c: Expression) -> Condition:
        name = c.args[1]
        term = self._operand(c.args[0], c)
        if term[0] == "rel":
            if term[2].kind != "one":
                raise unsupported_operation(c, self.b.origins)
            row = self._row_at(term[1], [term[2]])
        elif term[0] == "row":
            row = term[1]
        else:
            raise unsupported_operation(c, self.b.origins)
        if self.current_set is not None:
            self.b.set_refs.setdefault(self.current_set, set()).add(name)
        if name == self.own_set:
            if self.nested or self.member is not None:
                span = first_origin(c, self.b.origins)
                raise exc.UnsupportedError(
                    "A recursive rule can be translated to a query only when it calls itself once, "
                    "outside `not` and `or`; this policy's recursion goes through `not`, `or`, or "
                    "calls itself twice in one rule body." + _where(span))
            self.member = row
            return None
        return InSet(row, name)

    def _sub_scope(self, constraints: list, context: Any) -> Condition:
        scope = _Scope(self.b, self.rows, self.aliases, self.own_set, self.current_set, nested=True)
        condition = scope.translate(constraints)
        # Rows of this scope the sub-condition reads decide where it is placed.
        self.used.extend(scope.outer_used)
        return condition

    # Placement ----------------------------------------------------------------------------------

    def _place(self, condition: Condition, context: Any) -> None:
        local = []
        seen = set()
        for r in self.used:
            if id(r) in self.rel_parent and id(r) not in seen:
                seen.add(id(r))
                local.append(r)
            elif id(r) not in self.rel_parent:
                self._note_outer(r)
        for r in list(local):
            self._note_outer_chain(r)
        if not local:
            self.placed.setdefault(None, []).append(condition)
            return
        deepest = max(local, key=self._depth)
        for r in local:
            if not self._is_nest_ancestor(r, deepest):
                top = r
                while self.nest_parent.get(id(top)) is not None and not self._is_nest_ancestor(
                        self.nest_parent[id(top)], deepest):
                    top = self.nest_parent[id(top)]
                self.nest_parent[id(top)] = deepest
                deepest = max(local, key=self._depth)
        self.placed.setdefault(id(deepest), []).append(condition)

    def _note_outer(self, r: Row) -> None:
        if not any(r is x for x in self.outer_used):
            self.outer_used.append(r)

    def _note_outer_chain(self, r: Row) -> None:
        parent = self.rel_parent[id(r)][0]
        while id(parent) in self.rel_parent:
            parent = self.rel_parent[id(parent)][0]
        self._note_outer(parent)

    def _depth(self, r: Row) -> int:
        d = 0
        p = self.nest_parent.get(id(r))
        while p is not None:
            d += 1
            p = self.nest_parent.get(id(p))
        return d

    def _is_nest_ancestor(self, a: Row, r: Row) -> bool:
        while r is not None:
            if r is a:
                return True
            r = self.nest_parent.get(id(r))
        return False

    def _assemble(self, at: Optional[Row]) -> Condition:
        key = None if at is None else id(at)
        items = list(self.placed.get(key, ()))
        for row in self.local:
            if self.nest_parent.get(id(row)) is at:
                parent, rel = self.rel_parent[id(row)]
                items.append(Exists(parent, rel, row, self._assemble(row)))
        return And(tuple(items))

    # Recursive steps ------------------------------------------------------------------------------

    def recursive_step(self, set_row: Row) -> Optional[RecursiveStep]:
        """This conjunction as `row ∈ S if member ∈ S ∧ ...`, the member's rows joined."""
        member = self.member
        if member is set_row:
            return None   # `row ∈ S if row ∈ S`: adds nothing to the least set
        chain = []
        r = member
        while id(r) in self.rel_parent:
            chain.append(r)
            r = self.rel_parent[id(r)][0]
        chain.reverse()
        hops = tuple(Hop(self.rel_parent[id(x)][0], self.rel_parent[id(x)][1], x) for x in chain)
        on_chain = {id(x) for x in chain}
        items = list(self.placed.get(None, ()))
        for x in chain:
            items.extend(self.placed.get(id(x), ()))
        for row in self.local:
            if id(row) in on_chain:
                continue
            nest = self.nest_parent.get(id(row))
            if nest is None or id(nest) in on_chain:
                parent, rel = self.rel_parent[id(row)]
                items.append(Exists(parent, rel, row, self._assemble(row)))
        return RecursiveStep(hops, member, simplify(And(tuple(items))))


def _is_plain_isa(c: Any) -> bool:
    return (isinstance(c, Expression) and c.operator == "Isa" and len(c.args) == 2
            and isinstance(c.args[1], Pattern) and not c.args[1].fields)


def _mentions(t: Any, var: Variable) -> bool:
    if isinstance(t, Variable):
        return t == var
    if isinstance(t, Expression):
        return any(_mentions(a, var) for a in t.args)
    if isinstance(t, list):
        return any(_mentions(a, var) for a in t)
    return False


def _python_compare(op: str, a: Any, b: Any) -> bool:
    import operator
    fn = {"Eq": operator.eq, "Neq": operator.ne, "Lt": operator.lt, "Leq": operator.le,
          "Gt": operator.gt, "Geq": operator.ge}[op]
    try:
        return bool(fn(a, b))
    except TypeError:
        return False


def _unregistered_field(type_name: str, field: str) -> str:
    return (f"Unregistered field or relation: {type_name}.{field}\n\nPlease include `{field}` in the "
            f"`fields` parameter of your\n`register_class` call for {type_name}.  For example, in "
            f"Python:\n\n    oso.register_class({type_name}, fields={{\n        \"{field}\": <type or "
            f"relation>\n    }})\n\nFor more information please refer to our documentation:\n    {DOCS}")
