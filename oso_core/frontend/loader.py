"""The load pipeline: sources -> parsed items -> checks and desugaring -> a validated Program.

Follows legacy oso 0.27.3 (polar-language.md §10.1). Per source, in order: file bookkeeping,
parse, then per item: rules are singleton- and precedence-checked and their head expressions
hoisted (one traversal each; legacy's full rewrite is made only for rules a message prints, see
rewrite.py), rule types rewritten, inline queries queued, resource blocks checked and registered.
After all sources: stop if anything unrecoverable happened; desugar shorthand rules; stop again;
make the resource-block rule types; check rules against rule types, then calls to undefined
rules; add the policy-level warnings. The first error in that order is raised, carrying every
warning.
"""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING, Iterable, Optional

from ..exceptions import OsoError, ParserError, ValidationError
from .class_registry import ClassRegistry
from .checks import (RuleScanner, missing_has_permission_warning, no_allow_warning, report_rule_facts,
                     undefined_rule_calls)
from .diagnostics import Diagnostics, validation_error
from .parser import parse_program
from .resource_blocks import BlockRegistry, check_structure, generated_rule_calls
from .rewrite import Gensym, LegacyRewriter, LegacyRule, hoist_head
from .rule_types import RuleTypeChecker, TypeEntry, as_rule, default_type_entries
from .source import Source
from .syntax import FactDeclaration, InlineQuery, PatternTerm, ResourceBlock, Rule, RuleType, Sym

if TYPE_CHECKING:
    from .cloud_load import CloudLoad
    from .policy_test_ast import PolicyTestBlocks

__all__ = ["Program", "LoadedFiles", "load_program", "diagnose_program"]

IGNORE_NO_ALLOW_WARNING_ENV = "POLAR_IGNORE_NO_ALLOW_WARNING"


class Program:
    """A successfully loaded policy.

    * `rules`: the written rules in source order (head expressions hoisted), then the rules
      generated from resource-block shorthand rules.
    * `rule_types`: by rule name, the built-in rule types, then the declared ones, then the ones
      generated from resource blocks.
    * `inline_queries`: in source order (they are run last to first).
    * `actors`: classes with an `actor` block (members of the `Actor` union, and of `Resource`);
      `resources`: classes with an `actor` or `resource` block (members of `Resource`).
    * `warnings`: warning texts, without the `[warning] ` prefix, in legacy's order.
    * `fact_signatures`: fact predicate name -> its declared argument-type tuples (one per
      `declare`, in source order; several form a union); in the cloud dialect also the inferred
      ones (docs/cloud-dialect.md).
    * `blocks`: per actor/resource block type (and `global` in the cloud dialect), its declared
      roles, permissions and relations (`BlockRegistry.summary` / `CloudBlocks.summary`).
    * `dialect`: "legacy" or "cloud"; `policy_tests`: the cloud dialect's test blocks (None for legacy);
      `uses_current_unix_time`: does some rule read `@current_unix_time`?
      `entity_literal_types`: the types of the entity literals in rules (`User{"root"}`).
    """

    __slots__ = ("rules", "rule_types", "inline_queries", "actors", "resources", "warnings", "fact_signatures",
                 "blocks", "dialect", "policy_tests", "uses_current_unix_time", "entity_literal_types")

    def __init__(self, rules: list[Rule], rule_types: dict[str, list[RuleType]], inline_queries: list[InlineQuery],
                 actors: tuple[str, ...], resources: tuple[str, ...], warnings: list[str],
                 fact_signatures: Optional[dict[str, list[tuple[str, ...]]]] = None,
                 blocks: Optional[dict[str, dict]] = None) -> None:
        self.rules = rules
        self.rule_types = rule_types
        self.inline_queries = inline_queries
        self.actors = actors
        self.resources = resources
        self.warnings = warnings
        self.fact_signatures = fact_signatures if fact_signatures is not None else {}
        self.dialect = "legacy"
        self.policy_tests: Optional[PolicyTestBlocks] = None  # set by a cloud-dialect load
        self.uses_current_unix_time = False
        self.entity_literal_types: frozenset[str] = frozenset()
        self.blocks = blocks if blocks is not None else {}


class LoadedFiles:
    """Which policy files (name and content) have been loaded, to reject loading one twice."""

    def __init__(self) -> None:
        self._content_by_name: dict[str, str] = {}
        self._name_by_content: dict[str, str] = {}

    def add(self, source: Source) -> None:
        """Record a named source; a ValidationError if it repeats a loaded file's name or content."""
        name, text = source.filename, source.text
        assert name is not None
        other = self._name_by_content.get(text)
        if name in self._content_by_name:
            if other == name:
                problem = f"File {name} has already been loaded."
            else:
                problem = f"A file with the name {name}, but different contents has already been loaded."
        elif other is not None:
            problem = f"A file with the same contents as {name} named {other} has already been loaded."
        else:
            self._content_by_name[name] = text
            self._name_by_content[text] = name
            return
        if text:
            where = source.context(0)
        else:  # legacy shows no excerpt line for an empty file
            where = f" at line 1, column 1 of file {name}:\n\t\n"
        details = {"kind": "FileLoading", "loc": 0, "line": 1, "column": 1, "file": name}
        raise ValidationError(f"Problem loading file: {problem}{where}", details)

    def names(self) -> list[str]:
        """The loaded file names, in load order."""
        return list(self._content_by_name)

    def clear(self) -> None:
        self._content_by_name.clear()
        self._name_by_content.clear()

    def _state(self) -> tuple[dict[str, str], dict[str, str]]:
        return dict(self._content_by_name), dict(self._name_by_content)

    def _restore(self, state: tuple[dict[str, str], dict[str, str]]) -> None:
        self._content_by_name, self._name_by_content = state


def load_program(sources: list[Source], host: ClassRegistry, loaded_files: LoadedFiles,
                 dialect: str = "legacy") -> Program:
    """Parse, check and desugar one load's sources (polar-language.md §10) in `dialect`
    ("legacy", or "cloud": docs/cloud-dialect.md).

    Raises the first error legacy would raise, with the load's warnings as `error.warnings`;
    `loaded_files` is then left as it was. Nothing else outside the returned Program changes.
    """
    saved = loaded_files._state()
    # A load allocates many small objects that reference counting alone frees or keeps; pausing
    # the cyclic garbage collector meanwhile saves the collections they would trigger (as the
    # parser does).
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _Load(host, loaded_files, dialect).run(sources)
    except BaseException:
        loaded_files._restore(saved)
        raise
    finally:
        if paused:
            gc.enable()


def diagnose_program(sources: list[Source], host: ClassRegistry, dialect: str = "legacy"
                     ) -> tuple[Optional[Program], Diagnostics]:
    """Load `sources` as `load_program` does, for tools (`python -m oso_core check`): instead of
    raising the first error, return every error and warning collected up to where the load
    stops, with the Program when there is no error. No loaded-files state is kept."""
    load = _Load(host, LoadedFiles(), dialect)
    try:
        return load.run(sources), load.diagnostics
    except OsoError:  # already recorded in load.diagnostics
        return None, load.diagnostics


class _Load:
    def __init__(self, host: ClassRegistry, loaded_files: LoadedFiles, dialect: str = "legacy") -> None:
        self.host = host
        self.cloud: Optional[CloudLoad] = None
        if dialect == "cloud":
            # Imported on the first cloud load: a legacy-only process never pays for it.
            from .cloud_load import CloudLoad

            self.cloud = CloudLoad()
        self.loaded_files = loaded_files
        self.diagnostics = Diagnostics()
        self.gensym = Gensym()  # one numbering of temporaries for the whole load, like legacy
        self.scanner = RuleScanner(host)
        self.rules: list[Rule] = []  # the written rules as handed to the runtime
        self.legacy_rules: list[LegacyRule] = []  # the same, as legacy holds them
        self.mentions_has_permission = False
        self.declared_types: list[tuple[RuleType, Rule]] = []
        self.inline_queries: list[InlineQuery] = []
        self.blocks = BlockRegistry(host)
        self.fact_signatures: dict[str, list[tuple[str, ...]]] = {}
        self.entity_types: set[str] = set()

    def run(self, sources: Iterable[Source]) -> Program:
        for source in sources:
            self._source(source)
        self._stop_if_unrecoverable()
        cloud = self.cloud
        if cloud is not None:
            generated = cloud.desugar(self.rules, self.fact_signatures, self.diagnostics)
            types: dict[str, list[TypeEntry]] = {}  # the cloud dialect has no built-in rule types
        else:
            generated = self.blocks.desugar(self.diagnostics)
            types = default_type_entries()
        self._stop_if_unrecoverable()

        for rule_type, legacy in self.declared_types:
            types.setdefault(rule_type.name, []).append(TypeEntry(rule_type, legacy))
        for rule_type, required in self.blocks.rule_types():
            types.setdefault(rule_type.name, []).append(TypeEntry(rule_type, as_rule(rule_type), required))

        legacy_rules = self.legacy_rules
        for rule in generated:  # legacy holds these unrewritten
            calls = generated_rule_calls(rule)
            legacy_rules.append(LegacyRule.as_is(rule, calls))
            self.mentions_has_permission = self.mentions_has_permission or "has_permission" in calls
        rule_names = {rule.name for rule in legacy_rules}
        actors, resources = (cloud.actors(), cloud.resources()) if cloud is not None else (
            tuple(self.blocks.actors), tuple(self.blocks.resources))
        if cloud is not None:
            for error in cloud.infer(self.rules + generated, rule_names, self.fact_signatures):
                self.diagnostics.error(error)
            for error in cloud.check_calls(self.rules + generated, self.fact_signatures):
                self.diagnostics.error(error)
        checker = RuleTypeChecker(self.host, actors, resources)
        error = checker.validate(legacy_rules, types)
        if error is not None:
            self.diagnostics.error(error)
        for error in undefined_rule_calls(legacy_rules, rule_names | set(self.fact_signatures)):
            self.diagnostics.error(error)

        if cloud is None:  # the cloud dialect has a default allow rule and no such warnings
            if IGNORE_NO_ALLOW_WARNING_ENV not in os.environ:
                warning = no_allow_warning(rule_names)
                if warning is not None:
                    self.diagnostics.warning(warning)
            warning = missing_has_permission_warning(self.mentions_has_permission, bool(self.blocks.resources))
            if warning is not None:
                self.diagnostics.warning(warning)
        else:
            cloud.check_tests(self.fact_signatures, rule_names, self.diagnostics)
        self._raise_first_error()

        program = Program(
            rules=self.rules + generated,
            rule_types={name: [entry.rule_type for entry in entries] for name, entries in types.items()},
            inline_queries=self.inline_queries,
            actors=actors,
            resources=resources,
            warnings=self.diagnostics.warnings(),
            fact_signatures=self.fact_signatures,
            blocks=cloud.blocks.summary() if cloud is not None else self.blocks.summary(),
        )
        if cloud is not None:
            program.dialect = "cloud"
            program.policy_tests = cloud.tests
            program.uses_current_unix_time = cloud.uses_current_unix_time(program.rules)
            program.entity_literal_types = cloud.entity_literal_types(program.rules)
        return program

    def _source(self, source: Source) -> None:
        try:
            if source.filename is not None:
                self.loaded_files.add(source)
            items = parse_program(source, self.cloud is not None)
        except (ParserError, ValidationError) as error:
            self.diagnostics.error(error, unrecoverable=True)
            return
        # Declarations first, so this source's rules may use their types as specializers.
        for item in items:
            if type(item) is FactDeclaration:
                self._fact_declaration(item)
        if self.cloud is not None:
            items = self.cloud.read_items(items, self.entity_types, self.diagnostics)
        for item in items:
            if type(item) is Rule:
                self._rule(item)
            elif type(item) is RuleType:
                self._rule_type(item)
            elif type(item) is FactDeclaration:
                pass
            elif type(item) is InlineQuery:
                self.inline_queries.append(item)
            else:
                assert type(item) is ResourceBlock
                parts = check_structure(item, self.diagnostics)
                if parts is not None:
                    self.blocks.add(parts, self.diagnostics)

    def _rule(self, rule: Rule) -> None:
        facts = self.scanner.scan(rule)
        report_rule_facts(facts, self.diagnostics, self.entity_types)
        # Legacy rewrites every rule now; only the numbering has to happen now (see LegacyRule).
        legacy = LegacyRule(rule, facts.calls, self.gensym.next, facts.head_temporaries > 0)
        self.gensym.next += facts.temporaries
        self.rules.append(hoist_head(rule, legacy.rewritten()) if facts.head_temporaries else rule)
        self.legacy_rules.append(legacy)
        self.mentions_has_permission = self.mentions_has_permission or facts.mentions_has_permission

    def _rule_type(self, rule_type: RuleType) -> None:
        legacy = LegacyRewriter(self.gensym).rule_type(rule_type)
        if legacy.body.args:  # something in the head had to be lifted into a body
            self.diagnostics.error(validation_error(
                "InvalidRuleType", f"Invalid rule type: {legacy}\n\tRule types cannot contain dot lookups.",
                rule_type.span))
        else:
            self.declared_types.append((rule_type, legacy))

    def _fact_declaration(self, decl: FactDeclaration) -> None:
        """Record `declare name(Type, ...)`; each parameter must be a bare type name."""
        if decl.keyword != "declare":
            self.diagnostics.error(validation_error(
                "InvalidDeclaration", f"Unknown item keyword `{decl.keyword}`: did you mean `declare`?", decl.span))
            return
        types = []
        for p in decl.params:
            term = p.specializer if p.specializer is not None else p.term
            name = term.tag if isinstance(term, PatternTerm) and not term.fields else (
                term.name if isinstance(term, Sym) else None)
            if name is None:
                self.diagnostics.error(validation_error(
                    "InvalidDeclaration",
                    f"Invalid declaration: {decl}\n\tEach argument of `declare` is a type name, got `{term}`.",
                    decl.span))
                return
            types.append(name)
        signature = tuple(types)
        self.entity_types.update(t for t in types if t not in ("String", "Integer", "Boolean"))
        known = self.fact_signatures.setdefault(decl.name, [])
        if signature not in known:
            known.append(signature)

    def _stop_if_unrecoverable(self) -> None:
        if self.diagnostics.unrecoverable:
            self._raise_first_error()

    def _raise_first_error(self) -> None:
        error: Optional[OsoError] = self.diagnostics.first_error()
        if error is not None:
            setattr(error, "warnings", self.diagnostics.warnings())  # read by the API, which prints them
            raise error
