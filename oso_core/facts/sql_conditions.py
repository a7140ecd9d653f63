"""One conjunction of partial-evaluation constraints as FROM items and WHERE conditions.

A `Scope` compiles the constraints of one solution (or of the inside of a `not`): each `Fact`
is an alias of the fact table (or of its union with the request's context facts), each
variable is bound at its first occurrence (a fact column, a set's column, a parameter) and
compared at later ones; `InSet` joins a set's common table expression; `not` becomes NOT EXISTS;
comparisons of integers read the values table. Values are always bind parameters.
"""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import BigInteger, Text, and_, case, cast, exists, false, literal, not_, or_, select, true

from ..expression import Expression, Pattern
from ..runtime.entities import value_isa
from ..values import Value
from ..variable import Variable
from .errors import UnsupportedPolicyError
from .schema import ARG_COLUMNS, INTEGER, MAX_ARITY, PRIMITIVE_TYPES, arg_id, typed_parts
from .symbolic import ASSUMED

_COMPARISONS = {"Eq": "==", "Neq": "!=", "Lt": "<", "Leq": "<=", "Gt": ">", "Geq": ">=", "Unify": "=="}
_BINDING_FIRST = ("Fact", "InSet", ASSUMED)


class Scope:
    """The FROM items, conditions and variable bindings of one conjunction."""

    def __init__(self, ctx: Any, parent: Optional["Scope"] = None) -> None:
        self.ctx = ctx
        self.parent = parent
        self.exprs: dict = {}      # variable name -> SQL expression of its value id
        self.types: dict = {}      # variable name -> type known statically (parameters)
        self.pinned: dict = {}     # variable name -> set of types its bound positions allow
        self.froms: list = []
        self.where: list = []
        self.checked: dict = {}    # variable name -> type the enclosing statement checks
        self.params: set = set()   # ids of parameter expressions (rebound to their first column)

    # Variables ---------------------------------------------------------------------------------

    def lookup(self, name: str) -> Any:
        s: Optional[Scope] = self
        while s is not None:
            if name in s.exprs:
                return s.exprs[name]
            s = s.parent
        return None

    def static_type(self, name: str) -> Optional[str]:
        s: Optional[Scope] = self
        while s is not None:
            if name in s.types:
                return s.types[name]
            s = s.parent
        return None

    def pinned_types(self, name: str) -> Optional[set]:
        s: Optional[Scope] = self
        found: Optional[set] = None
        while s is not None:
            if name in s.pinned:
                found = s.pinned[name] if found is None else found & s.pinned[name]
            s = s.parent
        return found

    def _checked(self, name: str) -> Optional[str]:
        s: Optional[Scope] = self
        while s is not None:
            if name in s.checked:
                return s.checked[name]
            s = s.parent
        return None

    def bind_param(self, name: str, expr: Any, type_name: str) -> None:
        """`name` is a parameter: its value id is `expr`, its type known."""
        if self.lookup(name) is None:
            self.exprs[name] = expr
            self.params.add(id(expr))
        else:
            self.where.append(self.lookup(name) == expr)
        self.types[name] = type_name

    def _is_param(self, expr: Any) -> bool:
        s: Optional[Scope] = self
        while s is not None:
            if id(expr) in s.params:
                return True
            s = s.parent
        return False

    def _occurs(self, term: Any, column: Any, types: set) -> None:
        """`term` is the value at `column`, a position whose values have one of `types`."""
        if isinstance(term, Variable):
            bound = self.lookup(term)
            if bound is None:
                self.exprs[term] = column
            else:
                self.where.append(column == bound)
                if self._is_param(bound):
                    # Later occurrences join this column, not the parameter: one join graph.
                    self.exprs[term] = column
            if types:
                self.pinned[term] = self.pinned.get(term, types) & types
        else:
            value = self.ctx.constant_sql(term)
            self.where.append(false() if value is None else column == value)

    def term_sql(self, term: Any) -> Any:
        if isinstance(term, Variable):
            return self.lookup(term)
        return self.ctx.constant_sql(term)

    # Constraints -------------------------------------------------------------------------------

    def add_all(self, constraints: list) -> None:
        flat = _flatten(constraints)
        # Binding constraints first (facts, sets), then equalities that bind what is left,
        # then everything that only reads bound variables.
        binding = [c for c in flat if c.operator in _BINDING_FIRST and not self._conditional_set(c)]
        for c in binding:
            self._binding(c)
        rest = [c for c in flat if not any(c is b for b in binding)]
        progress = True
        while progress:
            progress = False
            for c in list(rest):
                if c.operator in ("Unify", "Eq") and self._binds_by_equality(c):
                    rest.remove(c)
                    progress = True
        for c in rest:
            self.where.append(self._condition(c))

    def _conditional_set(self, c: Expression) -> bool:
        """An InSet of a set that holds for every value under some condition: a condition on an
        already bound value (IN the set's rows, OR that condition), not a join."""
        return c.operator == "InSet" and self.ctx.set_unbounded(c.args[1]) is not None

    def _in_conditional_set(self, term: Any, name: str) -> Any:
        expr = self.term_sql(term)
        if expr is None:
            raise UnsupportedPolicyError(f"The SQL compiler cannot translate {name} for an unbound {term}: "
                                         "the set holds for every value under a condition")
        cte = self.ctx.set_cte(name)
        return or_(expr.in_(select(cte.c.vid)),
                   and_(self.ctx.set_unbounded(name), self._isa(term, Pattern(self.ctx.set_type(name), {}))))

    def _binding(self, c: Expression) -> None:
        if c.operator == ASSUMED:
            # A ground call: an EXISTS of its own, joined to nothing else.
            self.where.append(self._child_condition([c.args[1]]))
        elif c.operator == "Fact":
            self._fact(c.args)
        else:
            term, name = c.args
            cte = self.ctx.set_cte(name).alias()
            self.froms.append(cte)
            self._occurs(term, cte.c.vid, {self.ctx.set_type(name)})

    def _fact(self, fact_args: list) -> None:
        predicate, args = fact_args[0], list(fact_args[1:])
        signatures = self.ctx.signatures(predicate, len(args))
        if not signatures or len(args) > MAX_ARITY:
            self.where.append(false())   # no stored fact can have this shape
            return
        source, conditions = self.ctx.fact_source(predicate, len(args))
        self.froms.append(source)
        self.where.extend(conditions)
        for i, arg in enumerate(args):
            self._occurs(arg, source.c[ARG_COLUMNS[i]], {sig[i] for sig in signatures})

    def _binds_by_equality(self, c: Expression) -> bool:
        left, right = c.args
        for var, other in ((left, right), (right, left)):
            if isinstance(var, Variable) and self.lookup(var) is None:
                value = self.term_sql(other)
                if value is not None:
                    self.exprs[var] = value
                    if not isinstance(other, Variable):
                        self.types[var] = typed_parts(other)[0] if _storable(other) else None
                        self.exprs[("constant", var)] = other
                    return True
        return False

    def _condition(self, c: Expression) -> Any:
        op = c.operator
        if op == "Isa":
            return self._isa(c.args[0], c.args[1])
        if op in _COMPARISONS:
            return self._compare(op, c.args[0], c.args[1])
        if op == "Not":
            return not_(self._child_condition([c.args[0]]))
        if op == "Or":
            return or_(*(self._child_condition([a]) for a in c.args))
        if op == "In":
            return self._in(c.args[0], c.args[1])
        if op == "InSet":
            return self._in_conditional_set(c.args[0], c.args[1])
        raise UnsupportedPolicyError(f"The SQL compiler cannot translate the constraint {c}")

    def _child_condition(self, constraints: list) -> Any:
        child = Scope(self.ctx, self)
        child.add_all(constraints)
        condition = and_(true(), *child.where)
        if not child.froms:
            return condition
        return exists(select(literal(1)).select_from(joined(child.froms)).where(condition))

    def _isa(self, term: Any, pattern: Any) -> Any:
        if not isinstance(pattern, Pattern) or pattern.fields or pattern.tag is None:
            raise UnsupportedPolicyError(f"The SQL compiler cannot translate the type check {term} matches {pattern}")
        tag = pattern.tag
        if not isinstance(term, Variable):
            return true() if self.ctx.value_isa(term, tag) else false()
        if self._checked(term) == tag:
            return true()
        known = self.static_type(term)
        if known is not None:
            return true() if self.ctx.type_isa(known, tag) else false()
        members = self.ctx.tag_members(tag)
        pinned = self.pinned_types(term)
        if pinned is not None and pinned and all(t in members for t in pinned):
            return true()
        expr = self.lookup(term)
        if expr is None:
            return true()    # an existential value with no other condition: some value has the type
        return self.ctx.type_condition(expr, sorted(members))

    def _compare(self, op: str, left: Any, right: Any) -> Any:
        symbol = _COMPARISONS[op]
        if symbol in ("==", "!="):
            a, b = self.term_sql(left), self.term_sql(right)
            if a is None or b is None:
                if (isinstance(left, Variable) and a is None) or (isinstance(right, Variable) and b is None):
                    raise UnsupportedPolicyError(f"The SQL compiler cannot compare an unbound variable: {left} {symbol} {right}")
                return false() if symbol == "==" else true()   # an unstorable constant equals no stored value
            return a == b if symbol == "==" else a != b
        a, b = self._integer(left), self._integer(right)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[symbol]

    def _integer(self, term: Any) -> Any:
        if isinstance(term, Variable) and self.lookup(("constant", term)) is not None:
            term = self.lookup(("constant", term))   # bound to a constant by `x = 5`
        if isinstance(term, Variable):
            expr = self.lookup(term)
            if expr is None:
                raise UnsupportedPolicyError(f"The SQL compiler cannot compare the unbound variable {term}")
            return self.ctx.integer_sql(self, expr)
        if isinstance(term, int) and not isinstance(term, bool):
            return literal(term, BigInteger)
        raise UnsupportedPolicyError(f"The SQL compiler compares integers only, not {term!r}")

    def _in(self, item: Any, collection: Any) -> Any:
        if not isinstance(collection, list) or any(isinstance(x, (Variable, Expression)) for x in collection):
            raise UnsupportedPolicyError(f"The SQL compiler cannot translate {item} in {collection}")
        expr = self.term_sql(item)
        if expr is None:
            raise UnsupportedPolicyError(f"The SQL compiler cannot translate {item} in {collection} for an unbound {item}")
        ids = [value for value in (self.ctx.constant_sql(x) for x in collection) if value is not None]
        return expr.in_(ids) if ids else false()


def stored_constant(term: Any) -> Any:
    """A constant as the store's SQL sees it: its value id, None for one no fact can hold."""
    vid = _constant_id(term)
    return None if vid is None else literal(vid, BigInteger)


def stored_type_condition(values_source: Any, expr: Any, members: list) -> Any:
    """EXISTS: the value with id `expr` has one of the types `members` (read in oso_values)."""
    v = values_source.alias()
    return exists(select(literal(1)).select_from(v).where(v.c.vid == expr, v.c.type.in_([literal(t, Text) for t in members])))


def stored_integer(scope: Scope, values_source: Any, expr: Any) -> Any:
    """The integer the value with id `expr` stands for (NULL for another type), joining oso_values."""
    v = values_source.alias()
    scope.froms.append(v)
    scope.where.append(v.c.vid == expr)
    # CASE keeps the cast away from non-integer ids (PostgreSQL does not order conditions).
    return case((v.c.type == INTEGER, cast(v.c.id, BigInteger)), else_=None)


def joined(froms: list) -> Any:
    """The FROM items as one chain of inner joins on TRUE (the conditions stay in WHERE): the
    same query for the database, and no "cartesian product" warning from SQLAlchemy for items
    linked only through a parameter or not at all (two independent facts both required)."""
    result = froms[0]
    for item in froms[1:]:
        result = result.join(item, true())
    return result


def _flatten(constraints: list) -> list:
    out = []
    for c in constraints:
        if isinstance(c, Expression) and c.operator == "And":
            out.extend(_flatten(list(c.args)))
        elif isinstance(c, Expression):
            out.append(c)
        else:
            raise UnsupportedPolicyError(f"The SQL compiler cannot translate the constraint {c!r}")
    return out


def _storable(term: Any) -> bool:
    return isinstance(term, (Value, str, int, bool)) and not isinstance(term, Variable)


def _constant_id(term: Any) -> Optional[int]:
    """The value id of a constant argument, None for one no fact can hold (a float, a list)."""
    if isinstance(term, Expression):
        raise UnsupportedPolicyError(f"The SQL compiler cannot translate the term {term}")
    return arg_id(term) if _storable(term) else None


def isa_type(kb: Any, type_name: str, tag: str) -> bool:
    """Does a value of `type_name` match `tag` (a type, or the Actor/Resource union)?"""
    if type_name in PRIMITIVE_TYPES or tag in PRIMITIVE_TYPES:
        return type_name == tag
    return value_isa(kb, Value(type_name, ""), tag)
