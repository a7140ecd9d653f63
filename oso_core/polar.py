"""`Polar`: load policies, register classes and constants, and query the knowledge base."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Generator, Iterable, Optional, Sequence, Union

import oso_core.exceptions as exc
from .exceptions import InlineQueryFailedError, PolarRuntimeError
from .frontend.dialect import check_dialect, detect_dialect
from .frontend.source import Source
from .host import Host, new_host
from .partial import TypeConstraint
from .predicate import Predicate
from .variable import Variable
from .runtime.driver import NEEDS_CONVERSION, first_solution, prepare_predicate, prepare_term, run_query
from .runtime.async_bridge import iterate_async, run_async
from .runtime.fact_source import FactSource
from .runtime.knowledge import KnowledgeBase
from .runtime.knowledge import traced_kb
from .runtime.memory_facts import ChainedFacts, MemoryFacts
from .tool_hooks import tool

if TYPE_CHECKING:
    from .frontend.policy_test_ast import PolicyTestBlocks

MULTIPLE_LOAD_MESSAGE = "Cannot load additional Polar code -- all Polar code must be loaded at the same time."
LOAD_FILE_DEPRECATION = (
    "`Oso.load_file` has been deprecated in favor of `Oso.load_files` as of the 0.20 release.\n\n"
    "Please see changelog for migration instructions: "
    "https://docs.osohq.com/project/changelogs/2021-09-15.html")


class Polar:
    """The policy engine: a knowledge base of rules plus the registered host classes."""

    def __init__(self) -> None:
        self.host: Host = new_host()
        self.host.relation_fetcher = _fetch_related
        self._program: Any = None
        self._kb = KnowledgeBase(None, self.host)
        self._load_lock = threading.RLock()
        from .frontend.loader import LoadedFiles
        self._loaded_files = LoadedFiles()

    # Loading ---------------------------------------------------------------------------------

    # `dialect`: "legacy" (oso 0.27 Polar), "cloud" (Oso Cloud Polar) or None: detected from
    # the text (oso_core/frontend/dialect.py, docs/cloud-dialect.md).

    def load_files(self, filenames: Optional[Iterable[Union[str, Path]]] = None,
                   dialect: Optional[str] = None) -> None:
        """Load policy files, all in one load; then check the inline queries."""
        check_dialect(dialect)
        if not filenames:
            return
        self._load(read_policy_files(filenames), dialect=dialect)

    def load_file(self, filename: Union[str, Path], dialect: Optional[str] = None) -> None:
        """Deprecated: load one file (prints legacy's deprecation notice to stderr)."""
        check_dialect(dialect)
        print(LOAD_FILE_DEPRECATION, file=sys.stderr)
        self.load_files([filename], dialect)

    def load_str(self, string: str, dialect: Optional[str] = None) -> None:
        """Load policy text (no file name)."""
        check_dialect(dialect)
        self._load([Source(string, None)], dialect=dialect)

    def reload_files(self, filenames: Iterable[Union[str, Path]], dialect: Optional[str] = None) -> None:
        """Replace the loaded policy with these files atomically.

        The new policy is parsed and validated first; queries running meanwhile, and all queries
        if validation fails, keep using the old policy. (Not in legacy oso, where a reload is
        `clear_rules()` followed by `load_files()` and queries in between see no rules.)
        """
        check_dialect(dialect)
        self._load(read_policy_files(filenames), replace=True, dialect=dialect)

    def reload_str(self, string: str, dialect: Optional[str] = None) -> None:
        """Replace the loaded policy with this text atomically (see `reload_files`)."""
        check_dialect(dialect)
        self._load([Source(string, None)], replace=True, dialect=dialect)

    def _load(self, sources: list[Source], replace: bool = False, dialect: Optional[str] = None) -> None:
        from .frontend.loader import LoadedFiles, load_program

        if dialect is None:
            dialect = detect_dialect(sources)

        with self._load_lock:
            if replace:
                files = LoadedFiles()
            else:
                if self._kb.has_rules:
                    raise PolarRuntimeError(MULTIPLE_LOAD_MESSAGE)
                files = self._loaded_files
            try:
                program = load_program(sources, self.host, files, dialect)
            except exc.OsoError as error:
                print_warnings(getattr(error, "warnings", ()))
                if not replace:
                    self._clear()
                raise
            print_warnings(program.warnings)
            self._program = program
            self._kb = KnowledgeBase(program, self.host)
            if replace:
                self._loaded_files = files
        self.check_inline_queries()

    def check_inline_queries(self) -> None:
        """Run the loaded `?=` queries, last first; the first without a result raises."""
        program = self._program
        if program is None:
            return
        for inline in reversed(program.inline_queries):
            prepared = prepare_term(traced_kb(self._current_kb()), inline.term)
            if next(run_query(prepared), None) is None:
                span = inline.term.span
                text = span.text if span is not None else str(inline.term)
                location = span.source.short_context(span.start) if span is not None else ""
                raise InlineQueryFailedError(f"{text}{location}")

    def clear_rules(self) -> None:
        """Remove rules, rule types, inline queries, resource blocks and file bookkeeping."""
        with self._load_lock:
            self._clear()

    def _clear(self) -> None:
        self._program = None
        self._kb = KnowledgeBase(None, self.host)
        self._loaded_files.clear()

    # Registration ----------------------------------------------------------------------------

    def register_class(self, cls: type, *, name: Optional[str] = None, fields: Optional[dict] = None,
                       **legacy: Any) -> None:
        """Make `cls` usable in policies as `name` (default: its `__name__`)."""
        if legacy:
            self._legacy_registration(cls, legacy)
        with self._load_lock:
            self.host.register_class(cls, name, fields)
            self._refresh_kb()

    def _legacy_registration(self, cls: type, options: dict) -> None:
        unknown = set(options) - {"build_query", "exec_query", "combine_query"}
        if unknown:
            raise TypeError(f"register_class() got an unexpected keyword argument '{sorted(unknown)[0]}'")
        self.host.legacy_query_functions[cls] = dict(options)

    def register_constant(self, value: Any, name: str) -> None:
        """Make `value` available in policies as `name` (note the argument order)."""
        with self._load_lock:
            self.host.register_constant(value, name)
            self._refresh_kb()

    def get_class(self, name: str) -> type:
        return self.host.get_class(name)

    def _refresh_kb(self) -> KnowledgeBase:
        kb = self._kb
        if kb.version != self.host.version:
            kb = self._kb = KnowledgeBase(self._program, self.host)
        return kb

    def _current_kb(self) -> KnowledgeBase:
        kb = self._kb
        if kb.version != self.host.version:
            with self._load_lock:
                kb = self._refresh_kb()
        return kb

    # Facts (docs/facts.md) -------------------------------------------------------------------

    def attach_facts(self, source: Optional[FactSource]) -> None:
        """Answer the policy's fact predicates (`declare`) from `source` (any `FactSource`,
        e.g. `MemoryFacts` or the fact store); None detaches it."""
        with self._load_lock:
            self.host.fact_source = source
            self._kb = self._kb.with_facts(source)

    def fact_signatures(self) -> dict[str, list[tuple[str, ...]]]:
        """The loaded policy's fact predicates: name -> the argument-type tuples it accepts
        (several `declare`s of one name form a union)."""
        return {name: list(sigs) for name, sigs in self._current_kb().fact_signatures.items()}

    def dialect(self) -> str:
        """The dialect of the loaded policy ("legacy" when nothing is loaded); queries parse in it."""
        return self._current_kb().dialect

    def uses_current_unix_time(self) -> bool:
        """Does a rule of the loaded policy read `@current_unix_time`? (Then a decision depends
        on the time of the query: a cached SQL plan must not bake the time in.)"""
        return self._current_kb().uses_current_unix_time

    def entity_literal_types(self) -> frozenset[str]:
        """The types of the entity literals (`User{"root"}`) in the loaded policy's rules."""
        return self._current_kb().entity_literal_types

    def policy_tests(self) -> PolicyTestBlocks:
        """The `test` blocks and fixtures of the loaded cloud-dialect policy (none for legacy)."""
        program = self._program
        if program is not None and program.policy_tests is not None:
            return program.policy_tests
        # Imported here: its dataclasses cost ~3 ms of `import oso_core`, and only the cloud
        # dialect has test blocks.
        from .frontend.policy_test_ast import PolicyTestBlocks

        return PolicyTestBlocks()
    def resource_blocks(self) -> dict[str, dict]:
        """The loaded policy's actor and resource blocks: `{"actors": [actor block types],
        "blocks": {type: {"roles": [...], "permissions": [...], "relations": {name: type}}}}`
        (declaration order; every block type, actors included, is in "blocks")."""
        program = self._program
        if program is None:
            return {"actors": [], "blocks": {}}
        return {"actors": list(program.actors),
                "blocks": {name: {"roles": list(b["roles"]), "permissions": list(b["permissions"]),
                                  "relations": dict(b["relations"])} for name, b in program.blocks.items()}}

    # Querying --------------------------------------------------------------------------------

    def query(self, query: Any, *, bindings: Optional[dict] = None,
              accept_expression: bool = False, debug: Any = False,
              context_facts: Optional[Iterable[Sequence[Any]]] = None) -> Generator[dict, None, None]:
        """Each result of a query (Polar text or a Predicate), lazily.

        `debug=True` (or a `oso_core.tooling.debugger.Debugger`) runs the query in the debugger,
        stopped before its first step; see docs/debugging.md. Results are the same.
        `context_facts`: facts `(predicate, *args)` that hold for this query only, in addition
        to the attached fact source (docs/facts.md)."""
        kb = self._current_kb()
        if context_facts:
            kb = kb.with_facts(ChainedFacts(kb.fact_source, MemoryFacts(context_facts)))
        kb = traced_kb(kb)
        debugger = None
        if debug:
            kb, debugger = tool("debugger")(kb, debug)
        if isinstance(query, str):
            from .frontend.parser import parse_query
            prepared = prepare_term(kb, parse_query(query, kb.dialect == "cloud"))
        elif isinstance(query, Predicate):
            prepared = prepare_predicate(kb, query.name, list(query.args))
        else:
            raise exc.InvalidQueryTypeError()
        if debugger is not None:
            debugger.query_vars = prepared.qvars
        yield from run_query(prepared, bindings=bindings, accept_expression=accept_expression, observer=debugger)

    def query_rule(self, name: str, *args: Any, **kwargs: Any) -> Generator[dict, None, None]:
        """Each result of the rule call `name(*args)`; kwargs: `bindings`, `accept_expression`."""
        return self.query(Predicate(name, args), **kwargs)

    def query_rule_once(self, name: str, *args: Any, **kwargs: Any) -> bool:
        """Does `name(*args)` have at least one result?"""
        if kwargs:
            return next(self.query_rule(name, *args, **kwargs), None) is not None
        return self._holds(name, list(args))

    def _holds(self, name: str, args: list) -> bool:
        """Does `name(args)` hold? Arguments that are terms as they are skip the conversion and
        result machinery of `query` (the `is_allowed` hot path)."""
        for a in args:
            if type(a) in NEEDS_CONVERSION:
                return next(self.query(Predicate(name, args)), None) is not None
        return first_solution(self._current_kb(), name, args)

    # Async querying (docs/async.md) -------------------------------------------------------------

    def query_async(self, query: Any, **kwargs: Any) -> AsyncIterator[dict]:
        """`query` for async code: an async generator of the same results, produced lazily,
        awaiting awaitable host values (attributes, method results, iterator steps) in the event
        loop where the policy reads them. Close it (`contextlib.aclosing`) when leaving early."""
        return iterate_async(lambda: self.query(query, **kwargs))

    def query_rule_async(self, name: str, *args: Any, **kwargs: Any) -> AsyncIterator[dict]:
        """`query_rule` for async code: an async generator of its results (see `query_async`)."""
        return iterate_async(lambda: self.query_rule(name, *args, **kwargs))

    async def query_rule_once_async(self, name: str, *args: Any, **kwargs: Any) -> bool:
        """`query_rule_once` for async code: does `name(*args)` have a result?"""
        return await run_async(self.query_rule_once, name, *args, **kwargs)

    def repl(self, files: Optional[list] = None) -> None:
        """Interactive query loop (`query> `) over the loaded policy (`oso_core.repl`, reached
        through the facade's tool hooks: see docs/architecture.md)."""
        tool("repl")(self, files or [])

    # Data filtering plumbing (see oso_core.data) -------------------------------------------------

    def partial_query(self, actor: Any, action: Any, resource_cls: type) -> list:
        """Results of `allow(actor, action, resource)` with `resource` an unbound `resource_cls`
        row: `[{"bindings": {"resource": Expression or value}}]` (data-filtering plumbing)."""
        name = self.host.class_name(resource_cls)
        if name is None:
            raise exc.UnregisteredClassError(f"Cannot filter {resource_cls!r}: register it with `register_class` first.")
        resource = Variable("resource")
        return [{"bindings": {"resource": r["bindings"]["resource"]}} for r in self.query_rule(
            "allow", actor, action, resource, bindings={"resource": TypeConstraint(resource, name)},
            accept_expression=True)]

    def is_new_data_filtering_configured(self) -> bool:
        return self.host.adapter is not None




def _fetch_related(host: Host, obj: Any, field: str, relation: Any) -> Any:
    """The host's `RelationFetcher`: the data-filtering layer reads a declared Relation field
    through the adapter. Imported on first use so `import oso_core` stays small."""
    from .filtering.fetch import fetch_related
    return fetch_related(host, obj, field, relation)


def read_policy_files(filenames: Iterable[Union[str, Path]]) -> list[Source]:
    sources = []
    for filename in filenames:
        path = Path(filename)
        if path.suffix != ".polar":
            raise exc.PolarFileExtensionError(str(filename))
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise exc.PolarFileNotFoundError(str(filename)) from None
        sources.append(Source(text, str(filename)))
    return sources


def print_warnings(warnings: Iterable[str]) -> None:
    for w in warnings:
        print(f"[warning] {w}")
