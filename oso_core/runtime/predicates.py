"""Compiled rules and predicates: rule selection, specificity ordering and rule application.

Selecting the rules for a call is cached per *key*: for each argument position either the
literal value (where some rule has a literal parameter) or the argument's class. For a key, the
class specializers and literal parameters of every rule are decided once, and the applicable
rules are sorted most-specific-first once; a call then only binds parameters and runs bodies.
Calls whose applicability needs runtime checks (unbound arguments, field patterns, repeated
parameters, list/dict parameters) take the exact legacy path: check every candidate, sort the
applicable ones with the arguments' MROs, then run them.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, Optional

import oso_core.exceptions as exc
from ..expression import Expression
from ..frontend.syntax import PatternTerm, Rule, Sym
from ..values import Value
from .entities import value_isa
from .compiler import CONST, DET, BodyCompiler, CallSite
from .exists import exists_goal
from .heads import full_head
from .selection_key import general_key, key_function
from .errors import STACK_OVERFLOW, EvalError, runtime_error
from .operations import undo
from .scope import Scope
from .terms import PRIMITIVES, SPECIAL, UNBOUND, Var, deref

UNIONS = ("Actor", "Resource")
FRESH, LITERAL, TERM = 0, 1, 2
_LITERAL_TYPES = (str, int, float, bool)
_CACHE_LIMIT = 4096
_COMPILE_LOCK = threading.RLock()


class ParamInfo:
    __slots__ = ("kind", "slot", "value", "spec", "spec_kind", "tag", "nfields", "spec_text")

    def __init__(self) -> None:
        self.kind = FRESH
        self.slot = 0
        self.value: Any = None
        self.spec: Optional[tuple] = None     # compiled pattern (CONST/FUNC, ...)
        self.spec_kind: Optional[str] = None  # "class", "union", "dict", "value"
        self.tag: Optional[str] = None
        self.nfields = 0
        self.spec_text = ""


class CompiledRule:
    """One rule, compiled: parameter analysis, head binding and body."""

    __slots__ = ("rule", "index", "arity", "params", "template", "direct", "fast_ok",
                 "body_det", "body", "full_head", "fast_slots", "has_union", "names", "exists", "extra", "compiler")

    def __init__(self, rule: Rule, index: int, kb: Any) -> None:
        self.rule = rule
        self.index = index
        self.arity = len(rule.params)
        scope = Scope(kb.constants)
        for p in rule.params:
            scope.visit_term(p.term)
            if p.specializer is not None:
                scope.visit_term(p.specializer)
        scope.visit_goal(rule.body)
        bc = BodyCompiler(scope, kb, rule.name)
        self.params = [self._param(bc, scope, p) for p in rule.params]
        self.has_union = any(pi.spec_kind == "union" for pi in self.params)
        # A head is "fast" when, once class specializers and literals are decided by the
        # selection key, binding it is only storing arguments into slots.
        self.fast_ok = all(
            pi.kind == FRESH and pi.spec_kind in (None, "class", "union") and pi.nfields == 0
            or pi.kind == LITERAL and pi.spec is None
            for pi in self.params)
        self.fast_slots = tuple((i, pi.slot) for i, pi in enumerate(self.params) if pi.kind == FRESH)
        self.direct = self.fast_ok and self.fast_slots == tuple((i, i + 1) for i in range(self.arity))
        kind, body = bc.goal(rule.body)
        self.body_det = kind == DET
        self.body = body
        # The body for `holds` (existence only; see exists.py), compiled on its first use:
        # never for instrumented snapshots, and never for rules only solved with generators.
        self.exists: Optional[Callable] = None
        self.compiler = bc
        self.template = [0] + [UNBOUND] * (scope.size - 1)
        self.extra = self.template[self.arity + 1:]  # slots after the parameters (direct heads)
        self.names = scope.names  # variable name of each env slot (debugger, explain)
        self.full_head: Callable = self._first_head   # generated when first needed

    def _first_head(self, q: Any, env: list, args: list) -> bool:
        """Generate the full head (heads.py), keep it, and run it. Most rules are only ever
        called with the fast head; generating reads the compiler without changing it."""
        head = self.full_head = full_head(self.compiler, self.params)
        return head(q, env, args)

    def compile_exists(self) -> Callable:
        """The existence body, compiled once (under a lock: compiling mutates the compiler)."""
        with _COMPILE_LOCK:
            if self.exists is None:
                bc = self.compiler
                exists = exists_goal(bc, self.rule.body, top=True)
                missing = bc.scope.size - len(self.template)
                if missing > 0:   # slots of `_` met again: environments made from now on have them
                    self.template = self.template + [UNBOUND] * missing
                    self.extra = self.template[self.arity + 1:]
                self.exists = exists
        return self.exists

    @staticmethod
    def _param(bc: BodyCompiler, scope: Scope, p: Any) -> ParamInfo:
        pi = ParamInfo()
        term = p.term
        if isinstance(term, Sym) and scope.is_variable(term) and scope.is_first(term):
            pi.kind = FRESH
            pi.slot = scope.anonymous_slot() if term.name == "_" else scope.slots[term.name]
        else:
            compiled = bc.value(term)
            if compiled[0] == CONST and type(compiled[1]) in _LITERAL_TYPES:
                pi.kind = LITERAL
                pi.value = compiled[1]
            else:
                pi.kind = TERM
                pi.value = compiled
        spec = p.specializer
        if spec is not None:
            pi.spec = bc.spec_pattern(spec)
            pi.spec_text = str(spec)
            if isinstance(spec, PatternTerm):
                pi.nfields = len(spec.fields)
                if spec.tag is None:
                    pi.spec_kind = "dict"
                elif spec.tag in UNIONS and spec.tag not in bc.scope.constants:
                    pi.spec_kind = "union"
                    pi.tag = spec.tag
                else:
                    pi.spec_kind = "class"
                    pi.tag = spec.tag
            else:
                pi.spec_kind = "value"
        return pi


class CompiledPredicate:
    """All rules of one name and arity, with the per-key selection cache."""

    __slots__ = ("name", "arity", "kb", "source_rules", "rules", "cache", "positions", "undefined", "plain",
                 "keyfn")

    def __init__(self, name: str, arity: int, rules: list, kb: Any, undefined: bool) -> None:
        self.name = name
        self.arity = arity
        self.kb = kb
        self.source_rules = rules
        self.rules: Optional[list[CompiledRule]] = None
        self.cache: dict = {}
        self.positions: tuple = ()
        self.keyfn: Any = None
        self.undefined = undefined
        # Rules of a plain snapshot have existence bodies (`holds`); undefined ones raise in `solve`.
        self.plain = not undefined and not getattr(kb, "instrumented", False)

    def _compile(self) -> list[CompiledRule]:
        rules = [CompiledRule(r, i, self.kb) for i, r in enumerate(self.source_rules)]
        # Per argument position: 0 ignore, 1 key on class, 2 key on literal value or class.
        positions = []
        for i in range(self.arity):
            mode = 0
            for r in rules:
                pi = r.params[i]
                if pi.kind == LITERAL:
                    mode = 2
                    break
                if pi.kind != FRESH or pi.spec is not None:
                    mode = 1
            positions.append(mode)
        self.positions = tuple(positions)
        self.keyfn = key_function(self.positions)
        self.rules = rules
        return rules

    # Selection ------------------------------------------------------------------------------

    def key(self, args: list) -> tuple:
        return general_key(self.positions, args)

    def select(self, q: Any, args: list, key: Optional[tuple] = None) -> list:
        if self.rules is None:
            self._compile()
        if key is None:
            key = self.keyfn(args)
        entry = self.cache.get(key)
        if entry is None:
            entry = self._fill(q, key, args)
        if entry.__class__ is tuple:  # (candidates, trivially ordered, prebuilt) needing the exact path
            # Data filtering ORs every result together, so rule order is irrelevant there and
            # the applicability pre-pass (a second run of every head) is skipped; so is it for
            # one candidate (see select_exact).
            if entry[1] or q.tabling is not None or len(entry[0]) == 1:
                if entry[2] is not None:
                    return entry[2]
                return [(r, False, _union_multiplicity(q, r, args)) for r in entry[0]]
            return self.select_exact(q, args, entry[0])
        return entry

    def _fill(self, q: Any, key: tuple, args: list) -> Any:
        candidates = []
        all_fast = not any(type(a) is Var for a in args)
        for rule in self.rules:
            verdict = self._static_check(q, rule, args)
            if verdict is None:
                continue
            fast, mult = verdict
            all_fast = all_fast and fast
            candidates.append((rule, mult))
        if all_fast:
            ordered = insertion_sort([r for r, _ in candidates], args, q)
            mults = {id(r): m for r, m in candidates}
            entry: Any = [(r, True, mults[id(r)]) for r in ordered]
        else:
            rules = [r for r, _ in candidates]
            # Identical specializers everywhere: sorting cannot reorder, so no pre-pass is needed.
            same = len({tuple(p.spec_text for p in r.params) for r in rules}) <= 1
            # Without union specializers every multiplicity is 1: the selection is a constant.
            prebuilt = None if any(r.has_union for r in rules) else [(r, False, 1) for r in rules]
            entry = (rules, same, prebuilt)
        if len(self.cache) >= _CACHE_LIMIT:
            self.cache.clear()
        self.cache[key] = entry
        return entry

    def _static_check(self, q: Any, rule: CompiledRule, args: list) -> Optional[tuple]:
        """(fast, multiplicity) if the rule may apply to arguments of this key, None if not."""
        fast = rule.fast_ok
        mult = 1
        for pi, a in zip(rule.params, args):
            t = type(a)
            if pi.kind == LITERAL:
                if t in _LITERAL_TYPES:
                    if not _literal_equal(pi.value, a):
                        return None
                else:
                    fast = False
            elif pi.kind == TERM:
                fast = False
            if pi.spec_kind == "class" or pi.spec_kind == "union":
                cls = a.__class__
                if t is Var or t is Expression:
                    fast = False
                    continue
                if t is Value:
                    if not value_isa(q.kb, a, pi.tag):
                        return None
                    if pi.nfields:
                        fast = False
                    continue
                if pi.spec_kind == "union":
                    count = sum(1 for m in q.union_members(pi.tag) if issubclass(cls, q.host_class(m, None)))
                    if count == 0:
                        return None
                    mult *= count
                elif not issubclass(cls, q.host_class(pi.tag, None)):
                    return None
                if pi.nfields:
                    fast = False
            elif pi.spec_kind is not None:
                fast = False
        return fast, mult

    def select_exact(self, q: Any, args: list, candidates: list) -> list:
        """Legacy selection: applicability checked by binding each head, then sorted.

        With one candidate the order is trivial and its head is checked when it runs, so the
        separate applicability pass (which would repeat host calls) is skipped.
        """
        if len(candidates) == 1:
            rule = candidates[0]
            return [(rule, False, _union_multiplicity(q, rule, args))]
        applicable = []
        trail = q.trail
        for rule in candidates:
            env = rule.template.copy()
            mark = len(trail)
            try:
                ok = rule.full_head(q, env, args)
            finally:
                undo(q, mark)
            if ok:
                applicable.append(rule)
        ordered = insertion_sort(applicable, args, q)
        return [(r, False, _union_multiplicity(q, r, args)) for r in ordered]

    # Solving --------------------------------------------------------------------------------

    def solve(self, q: Any, args: list, site: Optional[CallSite]) -> Iterator[None]:
        """Each solution of `name(args)`, bindings in place while suspended."""
        if self.undefined:
            raise runtime_error(f"Query for undefined rule `{self.name}`")
        if q.tabling is not None and q.tabling.is_recursive(self):
            return q.tabling.call(q, self, args, site)
        if q.tracer is not None and q.tracer.observes_calls:
            return self._solve_observed(q, args, site)
        return self._solve(q, args, site)

    def holds(self, q: Any, args: list, site: Optional[CallSite]) -> bool:
        """Does `name(args)` have a solution? `_solve`'s search without generators (exists.py):
        True leaves the first solution's bindings in place; False leaves the trail as it was."""
        if q.tabling is not None or q.tracer is not None or not self.plain:
            for _ in self.solve(q, args, site):
                return True
            return False
        q.calls += 1
        if q.calls & 1023 == 0:
            q.check_time()
        q.depth += 1
        if q.depth > q.max_depth and q.depth > q.refresh_max_depth():
            q.depth -= 1
            raise runtime_error(STACK_OVERFLOW, None, exc.StackOverflowError)
        trail = q.trail
        keyfn = self.keyfn
        key = None if keyfn is None else keyfn(args)
        selected = self.cache.get(key)
        if selected is None or selected.__class__ is tuple:
            selected = self.select(q, args, key)
        try:
            for rule, fast, mult in selected:
                exists = rule.exists
                if exists is None:   # before the environment: compiling may add slots
                    exists = rule.compile_exists()
                mark = len(trail)
                if fast:
                    if rule.direct:
                        env = [0, *args, *rule.extra]
                    else:
                        env = rule.template.copy()
                        for i, s in rule.fast_slots:
                            env[s] = args[i]
                    ok = True
                else:
                    env = rule.template.copy()
                    ok = rule.full_head(q, env, args)
                if q.tracer is not None:   # a debugger attached by `debug()` meanwhile
                    q.tracer.rule(q, self, rule, env, ok)
                if ok:
                    if mult == 1:
                        if exists(q, env):
                            return True
                    else:
                        body_mark = len(trail)
                        for _ in range(mult):
                            if exists(q, env):
                                return True
                            if len(trail) > body_mark:   # a body may leave a failed attempt's bindings
                                undo(q, body_mark)
                            if env[0]:
                                break
                if len(trail) > mark:
                    undo(q, mark)
                if env[0]:
                    break
            return False
        except EvalError as e:
            e.enter_rule(self.name)
            if site is not None:
                e.add_frame(site.text, site.where)
            raise
        finally:
            q.depth -= 1

    def solve_untabled(self, q: Any, args: list, site: Optional[CallSite]) -> Iterator[None]:
        """`solve` for a call the tabling layer decided to evaluate inline."""
        if q.tracer is not None and q.tracer.observes_calls:
            return self._solve_observed(q, args, site)
        return self._solve(q, args, site)

    def _solve_observed(self, q: Any, args: list, site: Optional[CallSite]) -> Iterator[None]:
        """`_solve` reporting the call to `q.tracer` (a `tracing.Observer`): entered, each
        solution, each retry after one, errors, and the end (`active` False when the caller
        dropped the call while it was suspended on a solution)."""
        obs = q.tracer
        selected = list(self.select(q, args))
        token = obs.enter(q, self, args, site, selected)
        active = True
        try:
            for _ in self._solve(q, args, site, selected):
                obs.solution(q, self, token)
                active = False
                yield
                active = True
                obs.retry(q, self, token)
        except EvalError as e:
            obs.error(q, self, token, e)
            raise
        finally:
            obs.exit(q, self, token, active)

    def _solve(self, q: Any, args: list, site: Optional[CallSite],
               selected: Optional[list] = None) -> Iterator[None]:
        q.calls += 1
        if q.calls & 1023 == 0:
            q.check_time()
        q.depth += 1
        if q.depth > q.max_depth and q.depth > q.refresh_max_depth():
            q.depth -= 1
            raise runtime_error(STACK_OVERFLOW, None, exc.StackOverflowError)
        trail = q.trail
        if selected is None:
            keyfn = self.keyfn
            key = None if keyfn is None else keyfn(args)
            selected = self.cache.get(key)
            if selected is None or selected.__class__ is tuple:
                selected = self.select(q, args, key)
        try:
            for rule, fast, mult in selected:
                mark = len(trail)
                if fast:
                    if rule.direct:
                        env = [0, *args, *rule.extra]
                    else:
                        env = rule.template.copy()
                        for i, s in rule.fast_slots:
                            env[s] = args[i]
                    ok = True
                else:
                    env = rule.template.copy()
                    ok = rule.full_head(q, env, args)
                if q.tracer is not None:
                    q.tracer.rule(q, self, rule, env, ok)
                if ok:
                    if mult == 1:   # the body's own undo is the rule's, below
                        if rule.body_det:
                            if rule.body(q, env):
                                yield
                        else:
                            yield from rule.body(q, env)
                    else:
                        body_mark = len(trail)
                        for _ in range(mult):
                            if rule.body_det:
                                if rule.body(q, env):
                                    yield
                                undo(q, body_mark)
                            else:
                                yield from rule.body(q, env)
                            if env[0]:
                                break
                if len(trail) > mark:
                    undo(q, mark)
                if env[0]:
                    break
        except EvalError as e:
            e.enter_rule(self.name)
            if site is not None:
                e.add_frame(site.text, site.where)
            raise
        finally:
            q.depth -= 1


def _literal_equal(param: Any, arg: Any) -> bool:
    tp = type(param)
    ta = type(arg)
    if tp is bool or ta is bool:
        return tp is ta and param == arg
    return param == arg


def _union_multiplicity(q: Any, rule: CompiledRule, args: list) -> int:
    if not rule.has_union:
        return 1
    mult = 1
    for pi, a in zip(rule.params, args):
        if pi.spec_kind == "union":
            a = deref(a)
            if type(a) is Var or type(a) is Expression or type(a) is Value:
                continue   # an entity is of one type: one member
            count = sum(1 for m in q.union_members(pi.tag) if isinstance(a, q.host_class(m, None)))
            mult *= max(count, 1)
    return mult


def insertion_sort(rules: list, args: list, q: Any) -> list:
    """Legacy ordering: stable insertion sort by "more specific for these arguments"."""
    out: list = []
    for rule in rules:
        out.append(rule)
        j = len(out) - 1
        while j > 0 and more_specific(out[j], out[j - 1], args, q):
            out[j], out[j - 1] = out[j - 1], out[j]
            j -= 1
    return out


def more_specific(a: CompiledRule, b: CompiledRule, args: list, q: Any) -> bool:
    for pa, pb, arg in zip(a.params, b.params, args):
        sa, sb = pa.spec_kind, pb.spec_kind
        if sa is None and sb is None:
            continue
        if sb is None:
            return True
        if sa is None:
            return False
        if pa.spec_text == pb.spec_text:
            continue
        if sa == "union" or sb == "union":
            if sa == "union" and sb == "union":
                continue
            return sb == "union"
        arg = deref(arg)
        is_instance = type(arg) not in PRIMITIVES and type(arg) not in SPECIAL
        if sa == "class" and sb == "class":
            if not is_instance:
                return False
            if pa.tag == pb.tag:
                return pa.nfields > pb.nfields
            mro = arg.__class__.__mro__
            try:
                ia = mro.index(q.host_class(pa.tag, None))
                ib = mro.index(q.host_class(pb.tag, None))
            except ValueError:
                return False
            return ia < ib
        if sa == "dict" and sb == "dict":
            return pa.nfields > pb.nfields
        if sa == "class" and sb == "dict":
            return True
        return False
    return False
