"""Partial-evaluation results -> one SQLAlchemy Core statement over `oso_facts` / `oso_values`.

Each solution of `symbolic.evaluate` is one SELECT (`sql_conditions.Scope`); the statement is
their UNION (list, actions) or an OR of EXISTS (authorize). Recursive row sets are common table
expressions: the non-recursive solutions are the anchor, and each recursive solution (which
joins the set once) contributes an edge `(member of the set -> new row)`, so the recursive
term joins the set exactly once, as PostgreSQL and SQLite require. Context facts are a VALUES
CTE added, with UNION ALL, to the fact table wherever their predicates are read; the values
they mention are likewise added to `oso_values`.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from sqlalchemy import (BigInteger, Integer, Text, and_, bindparam, column, exists, false, literal, null, or_,
                        select, true, union, union_all, values)

from ..expression import Expression
from ..variable import Variable
from .errors import UnboundedResultError, UnsupportedPolicyError
from .schema import ARG_COLUMNS, MAX_ARITY, PRIMITIVE_TYPES, arg_id, facts_table, typed_parts, values_table
from .sql_conditions import Scope, isa_type, joined, stored_constant, stored_integer, stored_type_condition
from .symbolic import SET_ROW, Evaluation, Solution

ACTOR_PARAM = "actor_vid"
RESOURCE_PARAM = "resource_vid"


class Context:
    """What every scope of one statement shares: the policy's signatures, the sources of facts
    and values (with the request's context facts), and the compiled row sets."""

    def __init__(self, kb: Any, environment: str, evaluation: Evaluation, context_facts: Sequence[tuple] = ()) -> None:
        self.kb = kb
        self.env = bindparam("env", environment, type_=Text)
        self.evaluation = evaluation
        self._ctes: dict = {}
        self._parts: dict = {}
        self._compiling: list = []
        self._ctx_facts = None
        self._ctx_values = None
        self._ctx_predicates: set = set()
        self.params: dict = {}     # symbol -> (bind expression, type): the statement's inputs
        if context_facts:
            self._context(context_facts)

    # Context facts -------------------------------------------------------------------------------

    def _context(self, facts: Sequence[tuple]) -> None:
        rows, seen, value_rows = [], set(), []
        for fact in facts:
            predicate, args = fact[0], fact[1:]
            if len(args) > MAX_ARITY or not args:
                continue
            ids = [arg_id(a) for a in args] + [0] * (MAX_ARITY - len(args))
            rows.append((predicate, len(args), *ids))
            self._ctx_predicates.add((predicate, len(args)))
            for a in args:
                vid = arg_id(a)
                if vid not in seen:
                    seen.add(vid)
                    value_rows.append((vid, *typed_parts(a)))
        if not rows:
            return
        self._ctx_facts = values(column("predicate", Text), column("arity", Integer),
                                 *(column(c, BigInteger) for c in ARG_COLUMNS),
                                 name="ctx_facts").data(rows).cte("ctx_facts")
        self._ctx_values = values(column("vid", BigInteger), column("type", Text), column("id", Text),
                                  name="ctx_values").data(value_rows).cte("ctx_values")

    def fact_source(self, predicate: str, arity: int) -> tuple:
        """A FROM item with columns a0..a4 for the facts of `predicate`/`arity`, and its conditions."""
        f = facts_table
        if (predicate, arity) not in self._ctx_predicates:
            alias = f.alias()
            # The unused argument columns are 0 in every stored fact of this arity: saying so
            # changes no answer, and PostgreSQL puts them in the primary-key scan's index
            # condition (the benchmark's authorize ran ~6% faster at 1M facts).
            unused = [alias.c[a] == literal(0, BigInteger) for a in ARG_COLUMNS[arity:]]
            return alias, [alias.c.env == self.env, alias.c.predicate == literal(predicate, Text),
                           alias.c.arity == literal(arity, Integer), *unused]
        c = self._ctx_facts.c
        stored = select(*(f.c[a] for a in ARG_COLUMNS)).where(
            f.c.env == self.env, f.c.predicate == literal(predicate, Text), f.c.arity == literal(arity, Integer))
        given = select(*(c[a] for a in ARG_COLUMNS)).where(
            c.predicate == literal(predicate, Text), c.arity == literal(arity, Integer))
        return union_all(stored, given).subquery(), []

    def values_source(self) -> Any:
        if self._ctx_values is None:
            return values_table
        v = values_table
        return union_all(select(v.c.vid, v.c.type, v.c.id),
                         select(self._ctx_values.c.vid, self._ctx_values.c.type, self._ctx_values.c.id)).subquery()

    # How values are SQL (a subclass renders them otherwise: oso_core.facts.local_sql) ------------

    def constant_sql(self, term: Any) -> Any:
        """A constant of the policy or the request as SQL (its value id); None for one no
        fact can hold (a float, a list)."""
        return stored_constant(term)

    def type_condition(self, expr: Any, members: list) -> Any:
        """The condition: the value `expr` has one of the types `members`."""
        return stored_type_condition(self.values_source(), expr, members)

    def integer_sql(self, scope: Scope, expr: Any) -> Any:
        """The integer the value `expr` stands for (NULL if it is not an Integer)."""
        return stored_integer(scope, self.values_source(), expr)

    def no_rows(self) -> Any:
        """A SELECT of one value column and no rows."""
        return _no_rows()

    def statement_params(self, actor_type: str, resource_type: Optional[str]) -> dict:
        """symbol -> (SQL expression, type) of the statement's inputs: bind parameters here."""
        return params_for(actor_type, resource_type)

    # Types ---------------------------------------------------------------------------------------

    def signatures(self, predicate: str, arity: int) -> list:
        return [s for s in self.kb.fact_signatures.get(predicate, ()) if len(s) == arity]

    def tag_members(self, tag: str) -> set:
        if tag in ("Actor", "Resource") and tag not in self.kb.constants:
            return set(self.kb.unions.get(tag, ()))
        return {tag}

    def type_isa(self, type_name: str, tag: str) -> bool:
        return isa_type(self.kb, type_name, tag)

    def value_isa(self, term: Any, tag: str) -> bool:
        try:
            type_name = typed_parts(term)[0]
        except TypeError:
            return False
        return isa_type(self.kb, type_name, tag)

    # Row sets ------------------------------------------------------------------------------------

    def set_type(self, name: str) -> str:
        return self.evaluation.sets[name].type_name

    def set_cte(self, name: str) -> Any:
        cte = self._ctes.get(name)
        if cte is not None:
            return cte
        if name in self._compiling:
            raise UnsupportedPolicyError(
                f"The SQL compiler cannot translate mutually recursive rules ({' -> '.join(self._compiling + [name])})")
        self._compiling.append(name)
        try:
            cte = self._ctes[name] = self._compile_set(name)
        finally:
            self._compiling.remove(name)
        return cte

    def set_parts(self, name: str) -> tuple:
        """The set's non-recursive solutions (SELECT vid), its recursive ones as edges
        (SELECT src, dst: dst is in the set if src is), and the conditions of its solutions that
        leave the row unconstrained (while one holds, every value of the type is in the set)."""
        parts = self._parts.get(name)
        if parts is not None:
            return parts
        row_set = self.evaluation.sets[name]
        base, steps, unbounded = [], [], []
        for solution in row_set.solutions:
            own = [c for c in solution.constraints if _is_inset(c, name)]
            if any(_mentions_set(c, name) for c in solution.constraints if not _is_inset(c, name)):
                raise UnsupportedPolicyError(f"The SQL compiler cannot translate {row_set.description}: "
                                             "the rule refers to itself under `not` or `or`")
            if len(own) > 1:
                raise UnsupportedPolicyError(f"The SQL compiler cannot translate {row_set.description}: "
                                             "the rule refers to itself more than once in one body")
            rest = [c for c in solution.constraints if not _is_inset(c, name)]
            scope = self.solution_scope(solution, rest)
            if scope is None:
                continue
            bound = solution.bindings[SET_ROW]
            if not own and isinstance(bound, Variable) and scope.lookup(bound) is None:
                unbounded.append(scope.condition())
                continue
            row = _output(scope, bound, row_set.description)
            if not own:
                base.append(scope.select(row.label("vid")))
                continue
            src = scope.term_sql(own[0].args[0])
            if src is None:
                raise UnboundedResultError(f"{row_set.description} holds for unbounded values")
            steps.append(scope.select(src.label("src"), row.label("dst")))
        parts = self._parts[name] = (base, steps, or_(*unbounded) if unbounded else None)
        return parts

    def set_unbounded(self, name: str) -> Any:
        """The condition under which set `name` holds for every value of its type, or None."""
        return self.set_parts(name)[2]

    def _compile_set(self, name: str) -> Any:
        base, steps, _unbounded = self.set_parts(name)
        anchor = _anchor(base) if base else self.no_rows()
        if not steps:
            return anchor.cte(name)
        cte = anchor.cte(name, recursive=True)
        edges = (union_all(*steps) if len(steps) > 1 else steps[0]).subquery()
        return cte.union(select(edges.c.dst).select_from(cte.join(edges, edges.c.src == cte.c.vid)))

    def reaches_base(self, name: str, needed: list) -> Any:
        """EXISTS: some value of `needed` (SELECT vid) is in set `name`, walking the set's edges
        backwards from those values to a base row. authorize uses this instead of the set's
        CTE: it visits the ancestors of one resource, not everything the actor can reach."""
        base, steps, unbounded = self.set_parts(name)
        start = _anchor(needed)
        back = start.cte(f"{name}_back", recursive=True)
        if steps:
            edges = (union_all(*steps) if len(steps) > 1 else steps[0]).subquery()
            back = back.union(select(edges.c.src).select_from(back.join(edges, edges.c.dst == back.c.vid)))
        found = false()
        if base:
            rows = (union_all(*base) if len(base) > 1 else base[0]).subquery()
            found = exists(select(literal(1)).select_from(back.join(rows, rows.c.vid == back.c.vid)))
        if unbounded is not None:   # every value is in the set: a needed value exists
            found = or_(found, and_(unbounded, exists(select(literal(1)).select_from(back))))
        return found

    # Solutions -----------------------------------------------------------------------------------

    def solution_scope(self, solution: Solution, constraints: Optional[list] = None,
                       checked: Optional[tuple] = None) -> Optional["StatementScope"]:
        """The scope of one solution with the statement's parameters bound; None when a
        parameter's binding rules the solution out. `checked` (symbol, type): the statement
        checks that symbol's type itself (list's row, joined to oso_values by type)."""
        scope = StatementScope(self)
        if checked is not None and isinstance(solution.bindings.get(checked[0]), Variable):
            scope.checked[solution.bindings[checked[0]]] = checked[1]
        for symbol, (expr, type_name) in self.params.items():
            bound = solution.bindings.get(symbol)
            if isinstance(bound, Variable):
                scope.bind_param(bound, expr, type_name)
            else:
                value = None if isinstance(bound, Expression) else self.constant_sql(bound)
                if value is None:
                    return None
                scope.where.append(expr == value)
        scope.add_all(list(solution.constraints if constraints is None else constraints))
        return scope


class StatementScope(Scope):
    def select(self, *columns: Any) -> Any:
        query = select(*columns)
        if self.froms:
            query = query.select_from(joined(self.froms))
        return query.where(and_(true(), *self.where))

    def condition(self) -> Any:
        where = and_(true(), *self.where)
        if not self.froms:
            return where
        return exists(select(literal(1)).select_from(joined(self.froms)).where(where))


def _output(scope: Scope, bound: Any, what: str) -> Any:
    if isinstance(bound, Variable):
        expr = scope.lookup(bound)
        if expr is None:
            raise UnboundedResultError(f"{what} holds for every value: the result is not a finite set")
        return expr
    value = None if isinstance(bound, Expression) else scope.ctx.constant_sql(bound)
    if value is None:
        raise UnsupportedPolicyError(f"{what} binds the result to {bound!r}, which no fact can hold")
    return value


def _anchor(parts: list) -> Any:
    """The UNION of SELECTs (vid) as one plain SELECT: a recursive CTE's anchor must be one,
    since SQLAlchemy 2.1 refuses `union()` on a CTE over a compound select."""
    if len(parts) == 1:
        return parts[0]
    rows = union(*parts).subquery()
    return select(rows.c.vid)


def _is_inset(c: Any, name: str) -> bool:
    return isinstance(c, Expression) and c.operator == "InSet" and c.args[1] == name


def _mentions_set(t: Any, name: str) -> bool:
    if isinstance(t, Expression):
        return _is_inset(t, name) or any(_mentions_set(a, name) for a in t.args)
    return False


# Statements -------------------------------------------------------------------------------------

def params_for(actor_type: str, resource_type: Optional[str]) -> dict:
    params = {"actor": (bindparam(ACTOR_PARAM, type_=BigInteger), actor_type)}
    if resource_type is not None:
        params["resource"] = (bindparam(RESOURCE_PARAM, type_=BigInteger), resource_type)
    return params


def authorize_statement(ctx: Context, actor_type: str, resource_type: str) -> Any:
    """SELECT one boolean: does any solution hold for the bound actor and resource?"""
    conditions, needed = [], {}
    ctx.params = ctx.statement_params(actor_type, resource_type)
    for solution in ctx.evaluation.solutions:
        walk = _walkable(solution)
        if walk is not None:
            # The solution needs one value to be in a recursive set: collect the values it
            # needs (they depend on the parameters only) and walk the set backwards from them.
            inset, rest = walk
            scope = ctx.solution_scope(solution, rest)
            if scope is None:
                continue
            value = scope.term_sql(inset.args[0])
            if value is not None:
                needed.setdefault(inset.args[1], []).append(scope.select(value.label("vid")))
                continue
        scope = ctx.solution_scope(solution)
        if scope is not None:
            conditions.append(scope.condition())
    for name, wanted in needed.items():
        conditions.append(ctx.reaches_base(name, wanted))
    return select(or_(false(), *conditions).label("allowed"))


def _walkable(solution: Solution) -> Optional[tuple]:
    """(the InSet, the other constraints) when the solution's only set reference is one InSet."""
    insets = [c for c in solution.constraints if isinstance(c, Expression) and c.operator == "InSet"]
    if len(insets) != 1:
        return None
    rest = [c for c in solution.constraints if c is not insets[0]]
    if any(_mentions_set(c, insets[0].args[1]) or _mentions_any_set(c) for c in rest):
        return None
    return insets[0], rest


def _mentions_any_set(t: Any) -> bool:
    if isinstance(t, Expression):
        return t.operator == "InSet" or any(_mentions_any_set(a) for a in t.args)
    return False


def _no_rows() -> Any:
    return select(literal(0, BigInteger).label("vid")).where(false())


def list_statement(ctx: Context, actor_type: str, resource_type: str) -> Any:
    """SELECT (id, unbounded): the distinct ids of the resources of `resource_type` some
    solution allows, and a row with `unbounded` 1 if a solution that allows every resource of
    the type holds (e.g. for a global admin): the caller raises UnboundedResultError then."""
    by_vid, parts = [], []
    ctx.params = params_for(actor_type, None)
    for solution in ctx.evaluation.solutions:
        scope = ctx.solution_scope(solution, checked=("resource", resource_type))
        if scope is None:
            continue
        bound = solution.bindings["resource"]
        if not isinstance(bound, Variable):
            type_name, id_text = typed_parts(bound)
            if type_name == resource_type:
                parts.append(scope.select(literal(id_text, Text).label("id"), _BOUNDED))
        elif scope.lookup(bound) is None:
            parts.append(scope.select(null().cast(Text).label("id"), _UNBOUNDED))
        else:
            by_vid.append(scope.select(scope.lookup(bound).label("vid")))
    if by_vid:
        rows = (union(*by_vid) if len(by_vid) > 1 else by_vid[0]).subquery()
        v = ctx.values_source().alias()
        parts.append(select(v.c.id.label("id"), _BOUNDED).select_from(rows.join(v, v.c.vid == rows.c.vid))
                     .where(v.c.type == literal(resource_type, Text)))
    return _union(parts, "id")


def actions_statement(ctx: Context, actor_type: str, resource_type: str) -> Any:
    """SELECT (action, unbounded): the distinct action strings some solution allows on the
    bound resource, and an `unbounded` row if a solution allowing any action holds."""
    parts = []
    ctx.params = params_for(actor_type, resource_type)
    for solution in ctx.evaluation.solutions:
        scope = ctx.solution_scope(solution)
        if scope is None:
            continue
        bound = solution.bindings["action"]
        if not isinstance(bound, Variable):
            if isinstance(bound, str):
                parts.append(scope.select(literal(bound, Text).label("action"), _BOUNDED))
            continue
        expr = scope.lookup(bound)
        if expr is None:
            parts.append(scope.select(null().cast(Text).label("action"), _UNBOUNDED))
            continue
        v = ctx.values_source().alias()
        scope.froms.append(v)
        scope.where.extend([v.c.vid == expr, v.c.type == literal(PRIMITIVE_TYPES[0], Text)])
        parts.append(scope.select(v.c.id.label("action"), _BOUNDED))
    return _union(parts, "action")


_BOUNDED = literal(0, Integer).label("unbounded")
_UNBOUNDED = literal(1, Integer).label("unbounded")


def _union(parts: list, name: str) -> Any:
    if not parts:
        return select(literal("", Text).label(name), _BOUNDED).where(false())
    return union(*parts) if len(parts) > 1 else parts[0]
