"""Local authorization: decisions compiled to PostgreSQL over the CALLER's own tables.

The same symbolic evaluation and SQL compiler as the store's decisions (`symbolic`,
`sql_compiler`, `sql_conditions`), with another representation of values: a value is the text
`Type/id` (its key), so that rows of the caller's tables and facts held by the store compare
alike. Each fact predicate a decision reads is a common table expression `oso_fN(a0, ...)`:
  * for each data binding of the predicate (`local_bindings`), the caller's query, its columns
    turned into keys (`'Org/' || CAST(c1 AS TEXT)`), and its fixed arguments as key literals;
  * UNION ALL the facts of the store that no binding covers, and the request's context facts,
    inlined as VALUES. Only stored facts that can matter are read: each fact call of the
    evaluation is looked up with its constants and the request's actor/resource filled in.
Every value from the request, the store or the policy is a literal quoted by `quote_literal`.
The SQL is returned as a string (docs/server-local-authorization.md has the shapes).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from sqlalchemy import BigInteger, Text, case, cast, column, false, func, literal, literal_column, null, or_, \
    select, table, union
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from ..expression import Expression
from ..values import Value
from ..variable import Variable
from .errors import UnboundedResultError, UnsupportedPolicyError
from .local_bindings import INTEGER_SQL_TYPES, InvalidBindingsError, LocalBindings, binding_type_matches
from .schema import ARG_COLUMNS, INTEGER, MAX_ARITY, STRING, typed_parts
from .sql_compiler import Context, authorize_statement
from .sql_literals import quote_literal
from .symbolic import Evaluation

#: Looks up stored facts: (predicate, pattern with None wildcards) -> argument tuples.
FactFetcher = Callable[[str, tuple], list]

_SEPARATOR = "/"      # between a key's type and id: no type name contains it
_DIALECT = postgresql.dialect(paramstyle="named")   # a paramstyle that leaves `%` alone
_INTEGER_ID_PATTERN = "^-?[0-9]{1,18}$"
_UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def text_literal(text: str) -> Any:
    """A SQL string literal (quoted here, never a bind parameter)."""
    return literal_column(quote_literal(text), Text)


def _int(n: int) -> Any:
    return literal_column(str(int(n)))


class LocalContext(Context):
    """A compiler context whose values are `Type/id` keys and whose facts are read from the
    caller's bound queries and from inlined VALUES."""

    def __init__(self, kb: Any, evaluation: Evaluation, bindings: LocalBindings, fetch: FactFetcher,
                 inputs: dict, context_facts: Sequence[tuple] = ()) -> None:
        """`inputs`: symbol -> Value of the request (actor, resource), used to read only the
        stored facts that can matter; `context_facts`: validated `(predicate, *args)` tuples."""
        super().__init__(kb, "", evaluation)
        self.bindings = bindings
        self.inputs = inputs
        self._sources: dict = {}          # (predicate, arity) -> CTE name, in first-use order
        self._rows: dict = {}             # (predicate, arity) -> list of key tuples (VALUES rows)
        check_bindings(kb, bindings)
        self._load_stored(fetch)
        for fact in context_facts:
            self._add_row(fact[0], tuple(typed_parts(a) for a in fact[1:]))

    # Values ------------------------------------------------------------------------------------

    def key(self, type_name: str, id_text: str) -> str:
        """The key of a value, its id normalized as the caller's database prints it."""
        return f"{type_name}{_SEPARATOR}{self.bindings.canonical_id(type_name, id_text)}"

    def constant_sql(self, term: Any) -> Any:
        if isinstance(term, Expression):
            raise UnsupportedPolicyError(f"The SQL compiler cannot translate the term {term}")
        if isinstance(term, Variable) or not isinstance(term, (Value, str, int, bool)):
            return None
        return text_literal(self.key(*typed_parts(term)))

    def type_condition(self, expr: Any, members: list) -> Any:
        return key_type(expr).in_([text_literal(t) for t in members])

    def integer_sql(self, scope: Any, expr: Any) -> Any:
        prefix = INTEGER + _SEPARATOR
        return case((key_type(expr) == text_literal(INTEGER),
                     cast(func.substr(expr, _int(len(prefix) + 1)), BigInteger)), else_=None)

    def no_rows(self) -> Any:
        return select(null().cast(Text).label("vid")).where(false())

    def statement_params(self, actor_type: str, resource_type: Optional[str]) -> dict:
        params = {}
        for symbol, value in self.inputs.items():
            params[symbol] = (text_literal(self.key(value.type, value.id)), value.type)
        return params

    def values_source(self) -> Any:
        raise UnsupportedPolicyError("local authorization has no values table: this decision needs one")

    # Facts -------------------------------------------------------------------------------------

    def fact_source(self, predicate: str, arity: int) -> tuple:
        name = self._sources.get((predicate, arity))
        if name is None:
            name = self._sources[(predicate, arity)] = f"oso_f{len(self._sources) + 1}"
        return table(name, *(column(a, Text) for a in ARG_COLUMNS[:arity])).alias(), []

    def _load_stored(self, fetch: FactFetcher) -> None:
        """Inline the stored facts the evaluation's fact calls can match and no binding covers."""
        patterns: dict = {}
        for solution in _all_solutions(self.evaluation):
            known = {v: self.inputs[s] for s, v in solution.bindings.items()
                     if s in self.inputs and isinstance(v, Variable)}
            for fact in _fact_calls(solution.constraints):
                predicate, args = fact.args[0], fact.args[1:]
                if len(args) > MAX_ARITY or not args:
                    continue
                pattern = tuple(known.get(a) if isinstance(a, Variable) else a for a in args)
                if any(not isinstance(a, (Value, str, int, bool)) for a in pattern if a is not None):
                    continue   # a constant no fact can hold: nothing to read
                patterns.setdefault((predicate, len(args)), set()).add(pattern)
        for (predicate, arity), wanted in patterns.items():
            wildcard = (None,) * arity
            for pattern in ([wildcard] if wildcard in wanted else sorted(wanted, key=repr)):
                for args in fetch(predicate, pattern):
                    parts = tuple(typed_parts(a) for a in args)
                    if not self.bindings.covers(predicate, parts):
                        self._add_row(predicate, parts)

    def _add_row(self, predicate: str, parts: tuple) -> None:
        keys = tuple(self.key(t, i) for t, i in parts)
        rows = self._rows.setdefault((predicate, len(parts)), [])
        if keys not in rows:
            rows.append(keys)

    def render_ctes(self) -> list:
        """The `name(a0, ...) AS (...)` definitions of the fact sources used so far."""
        out = []
        for (predicate, arity), name in self._sources.items():
            names = [f"a{i}" for i in range(arity)]
            parts = [_binding_select(self, b, names) for b in self.bindings.for_predicate(predicate, arity)]
            rows = self._rows.get((predicate, arity))
            if rows:
                values = ",\n    ".join("(" + ", ".join(quote_literal(k) for k in row) + ")" for row in rows)
                parts.append(f"SELECT {', '.join(names)} FROM (VALUES\n    {values}) AS oso_v({', '.join(names)})")
            if not parts:
                parts.append("SELECT " + ", ".join(f"CAST(NULL AS TEXT) AS {n}" for n in names) + " WHERE false")
            body = "\n  UNION ALL\n  ".join(parts)
            out.append(f"{name}({', '.join(names)}) AS NOT MATERIALIZED (\n  {body}\n)")
        return out

    def sql(self, statement: Any) -> str:
        """The statement as PostgreSQL text, with the fact sources' definitions in front."""
        _refuse_string_binds(statement)
        compiled = str(statement.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
        ctes = self.render_ctes()
        if not ctes:
            return compiled
        head = ",\n".join(ctes)
        for prefix in ("WITH RECURSIVE ", "WITH "):
            if compiled.startswith(prefix):
                return f"WITH RECURSIVE {head},\n{compiled[len(prefix):]}"
        return f"WITH {head}\n{compiled}"


def _binding_select(ctx: LocalContext, binding: Any, names: list) -> str:
    columns, filled = [], 0
    for type_name, fixed, name in zip(binding.types, binding.fixed, names):
        if fixed is None:
            columns.append(f"{quote_literal(type_name + _SEPARATOR)} || CAST(oso_b.c{filled} AS TEXT) AS {name}")
            filled += 1
        else:
            columns.append(f"{quote_literal(ctx.key(type_name, fixed))} AS {name}")
    aliases = f"({', '.join(f'c{i}' for i in range(filled))})" if filled else ""
    return f"SELECT {', '.join(columns)} FROM (\n    {binding.query}\n  ) AS oso_b{aliases}"


def key_type(expr: Any) -> Any:
    """The type part of a key expression."""
    return func.split_part(expr, text_literal(_SEPARATOR), _int(1))


def key_id(expr: Any, type_name: str) -> Any:
    """The id part of a key expression known to be of `type_name`."""
    return func.substr(expr, _int(len(type_name) + len(_SEPARATOR) + 1))


def check_bindings(kb: Any, bindings: LocalBindings) -> None:
    """Each binding must fit a fact signature of the policy (InvalidBindingsError naming it)."""
    from .sql_conditions import isa_type
    for b in bindings.facts:
        declared = [s for s in kb.fact_signatures.get(b.predicate, ()) if len(s) == len(b.types)]
        if not any(all(binding_type_matches(t, d, lambda x, y: isa_type(kb, x, y)) for t, d in zip(b.types, sig))
                   for sig in declared):
            shown = "; ".join(f"{b.predicate}({', '.join(s)})" for s in declared) or "none"
            raise InvalidBindingsError(f"facts key {b.key!r}: the policy has no fact {b.predicate} with these "
                                       f"argument types (its {b.predicate} facts: {shown})")


def _all_solutions(evaluation: Evaluation) -> list:
    out = list(evaluation.solutions)
    for row_set in evaluation.sets.values():
        out.extend(row_set.solutions)
    return out


def _fact_calls(terms: Any) -> list:
    out = []
    for t in terms:
        if isinstance(t, Expression):
            if t.operator == "Fact":
                out.append(t)
            else:
                out.extend(_fact_calls(t.args))
        elif isinstance(t, (list, tuple)):
            out.extend(_fact_calls(t))
    return out


def _refuse_string_binds(statement: Any) -> None:
    """Every string in the SQL must go through quote_literal: a bound string would be rendered
    by SQLAlchemy's own literal processor instead."""
    for element in visitors.iterate(statement):
        if isinstance(element, BindParameter) and not isinstance(element.value, (int, bool, type(None))):
            raise UnsupportedPolicyError(f"internal: a non-integer bind parameter {element.key!r} in local SQL")


# Decisions ----------------------------------------------------------------------------------------

def authorize_sql(ctx: LocalContext, actor_type: str, resource_type: str) -> str:
    """A query of one row and one boolean column `allowed`."""
    return ctx.sql(authorize_statement(ctx, actor_type, resource_type))


def list_fragment(ctx: LocalContext, resource_type: str, column_sql: str) -> str:
    """A boolean condition over `column_sql`: the resource with that id is allowed."""
    keys, unbounded = [], []
    ctx.params = ctx.statement_params("", None)
    for solution in ctx.evaluation.solutions:
        scope = ctx.solution_scope(solution, checked=("resource", resource_type))
        if scope is None:
            continue
        bound = solution.bindings["resource"]
        if not isinstance(bound, Variable):
            if typed_parts(bound)[0] == resource_type:
                keys.append(scope.select(ctx.constant_sql(bound).label("vid")))
        elif scope.lookup(bound) is None:
            unbounded.append(scope.condition())   # every resource of the type, under this condition
        else:
            keys.append(scope.select(scope.lookup(bound).label("vid")))
    conditions = []
    if keys:
        rows = (union(*keys) if len(keys) > 1 else keys[0]).subquery("oso_rows")
        ids = select(typed_id(ctx, key_id(rows.c.vid, resource_type), resource_type).label("id")) \
            .where(key_type(rows.c.vid) == text_literal(resource_type))
        conditions.append(f"{column_sql} IN ({ctx.sql(ids)})")
    if unbounded:
        conditions.append(f"EXISTS ({ctx.sql(select(literal(1)).where(or_(*unbounded)))})")
    if not conditions:
        return "false"
    return conditions[0] if len(conditions) == 1 else "(" + " OR ".join(conditions) + ")"


def typed_id(ctx: LocalContext, id_text: Any, type_name: str) -> Any:
    """The id text as the SQL type of the type's ids (`sql_types`); NULL when it is not one."""
    sql_type = ctx.bindings.sql_types.get(type_name)
    if sql_type in INTEGER_SQL_TYPES:
        return case((id_text.op("~")(text_literal(_INTEGER_ID_PATTERN)), cast(id_text, BigInteger)), else_=None)
    if sql_type == "uuid":
        return case((id_text.op("~")(text_literal(_UUID_PATTERN)), cast(id_text, postgresql.UUID)), else_=None)
    return id_text


def actions_sql(ctx: LocalContext, actor_type: str, resource_type: str) -> str:
    """A query with one row per allowed action, in one column `action` (sorted, distinct)."""
    parts = []
    ctx.params = ctx.statement_params(actor_type, resource_type)
    for solution in ctx.evaluation.solutions:
        scope = ctx.solution_scope(solution)
        if scope is None:
            continue
        bound = solution.bindings["action"]
        if not isinstance(bound, Variable):
            if isinstance(bound, str):
                parts.append(scope.select(text_literal(bound).label("action")))
            continue
        expr = scope.lookup(bound)
        if expr is None:
            raise UnboundedResultError("A rule allows every action under some condition: actions_local cannot "
                                       "return that set as rows")
        scope.where.append(key_type(expr) == text_literal(STRING))
        parts.append(scope.select(key_id(expr, STRING).label("action")))
    if not parts:
        return ctx.sql(select(null().cast(Text).label("action")).where(false()))
    rows = (union(*parts) if len(parts) > 1 else parts[0]).subquery("oso_actions")
    return ctx.sql(select(rows.c.action).order_by(rows.c.action))


__all__ = ["LocalContext", "authorize_sql", "list_fragment", "actions_sql", "text_literal", "key_type", "key_id",
           "typed_id", "check_bindings", "FactFetcher"]
