"""`python -m oso_core check [options] PATHS...`: validate and lint policy files.

The files are loaded together as one load, through the loader itself
(`oso_core.frontend.loader.diagnose_program`), so every syntax, rule-type and resource-block
problem is reported exactly as `Oso.load_files` would raise it (all of them, not just the first).
Then the lints of `oso_core.tooling.lint` run. Output: one line per diagnostic,
`FILE:LINE:COLUMN: error|warning: message [code]`, sorted by file and position.

Host classes: with `--module M` the classes M defines are registered and the policy is checked
against them exactly as loading would. Without modules, every class name the policy uses is
assumed to be a registered class (a placeholder class is registered for it). When a rule type
then fails only because a placeholder is not a subclass of an actor/resource class or of a rule
type's class (`has_permission(admin: Admin, ...)` where Admin may well subclass User), `check`
assumes it is one, reports that as an `unverified-rule-type` warning, and loads again.

Exit status: 0 clean (warnings allowed unless `--strict`), 1 problems, 2 usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..exceptions import OsoError, ParserError
from ..frontend.checks import (
    AMBIGUOUS_PRECEDENCE_WARNING,
    MISSING_HAS_PERMISSION_WARNING,
    NO_ALLOW_WARNING,
    misspelling_hint,
    walk,
)
from ..frontend.diagnostics import Diagnostics
from ..frontend.loader import diagnose_program
from ..frontend.parser import parse_program
from ..frontend.rule_types import RESOURCE_UNION, UNIONS
from ..frontend.source import Source, Span
from ..frontend.syntax import (
    CallTerm,
    Declaration,
    Item,
    Op,
    PatternTerm,
    ResourceBlock,
    Rule,
    RuleType,
    Sym,
)
from ..host import Host, new_host
from .lint import (
    ERROR,
    WARNING,
    Diagnostic,
    PolicyIndex,
    lint_calls,
    lint_contradictions,
    lint_declarations,
    lint_reachability,
    lint_unknown_classes,
    span_location,
)

__all__ = ["Diagnostic", "check_paths", "check_sources", "collect_policy_files", "main"]

# Loader error kinds (`error.details["kind"]`) -> diagnostic codes.
_ERROR_CODES = {
    "SingletonVariable": "singleton-variable",
    "InvalidRule": "rule-type",
    "InvalidRuleType": "invalid-rule-type",
    "MissingRequiredRule": "missing-rule",
    "ResourceBlock": "resource-block",
    "UnregisteredClass": "unregistered-class",
    "UndefinedRuleCall": "undefined-rule",
    "FileLoading": "duplicate-file",
}

# The `at line L, column C[ of file F]:` excerpt legacy appends to located messages.
_CONTEXT = re.compile(r" at line \d+, column \d+(?: of file [^\n]*)?:\n\t(?:[^\n]*\n\t *\^)?\n\Z")

# `Rule specializer Admin on parameter 1 must be a member of ...`: failures the real class
# hierarchy could turn into matches.
_HIERARCHY_FAILURE = re.compile(
    r"Rule specializer (\S+) on parameter \d+ (?:must be a member of|must match) rule type specializer (\w+)")

# `# oso-check: ignore` or `# oso-check: ignore[code, code]`
_SUPPRESS = re.compile(r"#\s*oso-check:\s*ignore(?:\[([^\]]*)\])?")

POLICY_SUFFIX = ".polar"


class UsageError(Exception):
    """A problem with the command line or the files it names (exit status 2)."""


# Checking ---------------------------------------------------------------------------------------

def check_sources(sources: Sequence[Source], host: Host | None = None, *, entry_points: Iterable[str] = (),
                  disabled: Iterable[str] = ()) -> list[Diagnostic]:
    """Every diagnostic for `sources` loaded together, sorted by file and position.

    `host`: the registered classes (exactly as loading would see them); None assumes every class
    name the policy uses is registered (see the module docstring). `entry_points`: rule names the
    application queries directly (not `unreachable-rule`). `disabled`: codes not to report;
    warnings can also be silenced in the policy with `# oso-check: ignore[code]`.
    """
    named = [s for s in sources if s.filename is not None]
    fallback = (named[0].filename if named else "<policy>", 1, 1)
    items: list[Item] = []
    parsed = True
    for source in sources:
        try:
            items += parse_program(source)
        except ParserError:
            parsed = False  # the load below reports it
    index = PolicyIndex(items)
    found: list[Diagnostic] = []
    if host is None:
        host, diagnostics = _load_with_placeholders(sources, items, index, fallback, found)
    else:
        _, diagnostics = diagnose_program(list(sources), host)
    for is_error, item, span in diagnostics.entries():
        if is_error:
            assert isinstance(item, OsoError)
            found.append(_error_diagnostic(item, index, fallback))
        else:
            assert isinstance(item, str)
            found.append(_warning_diagnostic(item, span, index, fallback))

    # Lints need the whole policy: after a syntax or resource-block structure error (where the
    # load stops too) items are missing or malformed, and "unused" would lie.
    if parsed and not diagnostics.unrecoverable:
        loader_reported = {(d.file, d.line, d.column) for d in found if d.code == "unknown-specializer"}
        found += lint_unknown_classes(index, fallback, host.is_class_name, loader_reported)
        found += lint_declarations(index, fallback)
        found += lint_calls(index, fallback)
        found += lint_contradictions(index, fallback, host.constants)
        found += lint_reachability(index, fallback, entry_points)

    skip = set(disabled)
    texts = {s.filename: s.text for s in named}
    found = [d for d in found if d.code not in skip and not (d.severity == WARNING and _suppressed(d, texts))]
    return sorted(set(found), key=Diagnostic.sort_key)


def _class_names(items: list[Item]) -> list[str]:
    """The names the policy uses as classes: block types, relation types, specializer and
    `matches` tags, `new` classes and capitalized receivers of lookups (`Roles.ADMIN`). Tags
    that look like a misspelled built-in (`string`) are left out, so the loader still warns."""
    names: dict[str, None] = {}
    for item in items:
        if isinstance(item, ResourceBlock):
            names[item.resource.value] = None
            for production in item.productions:
                if isinstance(production, Declaration) and isinstance(production.value, dict):
                    names.update(dict.fromkeys(t.value for t in production.value.values()))
        elif isinstance(item, (Rule, RuleType)):
            roots = [p.term for p in item.params] + [p.specializer for p in item.params if p.specializer]
            if isinstance(item, Rule):
                roots.append(item.body)
            for root in roots:
                for node in walk(root):
                    if isinstance(node, PatternTerm) and node.tag and misspelling_hint(node.tag) is None:
                        names[node.tag] = None
                    elif isinstance(node, Op) and (
                            (node.op == "Dot" and isinstance(node.args[0], Sym) and node.args[0].name[:1].isupper())
                            or (node.op == "New" and isinstance(node.args[0], CallTerm))):
                        names[node.args[0].name] = None  # `Roles.ADMIN`, `new Widget(...)`
    return [name for name in names if name not in UNIONS]


def _placeholder_host(names: list[str], bases: dict[str, str]) -> Host:
    """A host with a placeholder class for each name it lacks; `bases`: name -> base class name."""
    host = new_host()

    def register(name: str, seen: tuple[str, ...] = ()) -> None:
        if name in host.constants or name in seen:
            return
        base_name = bases.get(name)
        base: tuple[type, ...] = ()
        if base_name is not None:
            register(base_name, seen + (name,))
            if host.is_class_name(base_name):
                base = (host.get_class(base_name),)
        namespace = {"__doc__": "placeholder registered by `check`", "_oso_check_placeholder": True}
        try:
            cls = type(name, base, namespace)
        except TypeError:  # a base that cannot be subclassed (bool)
            cls = type(name, (), namespace)
        try:
            host.register_class(cls, name)
        except OsoError:  # a name that cannot be registered is left to the loader to report
            pass

    for name in names:
        register(name)
    return host


def _load_with_placeholders(sources: Sequence[Source], items: list[Item], index: PolicyIndex,
                            fallback: tuple[str, int, int], found: list[Diagnostic]) -> tuple[Host, Diagnostics]:
    """Load with placeholder classes. When a rule type fails only because a placeholder class is
    not a subclass of an actor/resource class or of a rule type's class, assume it is one (a
    warning in `found`) and load again, so the failures that do not depend on classes show."""
    names = _class_names(items)
    bases: dict[str, str] = {}
    while True:
        host = _placeholder_host(names, bases)
        _, diagnostics = diagnose_program(list(sources), host)
        assumption = _hierarchy_assumption(diagnostics, host, index, bases)
        if assumption is None:
            return host, diagnostics
        error, name, base = assumption
        bases[name] = base
        details = error.details or {}
        where = (details["file"], details["line"], details["column"]) if details.get("file") else fallback
        found.append(Diagnostic(*where, WARNING, "unverified-rule-type",
                                f"class {name} is not known to check; assuming it is a subclass of {base}, as "
                                "this rule requires (pass --module to check against the real classes)",
                                error.message or ""))


def _hierarchy_assumption(diagnostics: Diagnostics, host: Host, index: PolicyIndex,
                          bases: dict[str, str]) -> tuple[OsoError, str, str] | None:
    """(error, placeholder class, base class that would make the rule match) for the first
    rule-type error that only the class hierarchy of a placeholder causes, else None."""
    for is_error, item, _ in diagnostics.entries():
        if not is_error or not isinstance(item, OsoError) or (item.details or {}).get("kind") != "InvalidRule":
            continue
        for match in _HIERARCHY_FAILURE.finditer(item.message or ""):
            name, wanted = match.group(1), match.group(2)
            value = host.constants.get(name)
            if name in bases or not getattr(value, "_oso_check_placeholder", False):
                continue
            if wanted in UNIONS:
                blocks = [b for b in index.blocks if wanted == RESOURCE_UNION or
                          (b.keyword is not None and b.keyword.value == "actor")]
                base = blocks[0].resource.value if blocks else None
            else:
                base = wanted if host.is_class_name(wanted) else None
            if base is not None and base != name:
                return item, name, base
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error_diagnostic(error: OsoError, index: PolicyIndex, fallback: tuple[str, int, int]) -> Diagnostic:
    details = error.details or {}
    full = error.message or str(error)
    message = _one_line(_CONTEXT.sub("", full))
    kind = details.get("kind")
    code = "syntax-error" if isinstance(error, ParserError) else _ERROR_CODES.get(kind, "invalid-policy")
    if details.get("file") is not None and details.get("line") is not None:
        where = (details["file"], details["line"], details["column"])
    elif kind == "MissingRequiredRule" and "has_role(" in message:
        where = _first_declaration(index, "roles", fallback)
    else:
        where = fallback
    detail = full if full.strip() != message else ""
    return Diagnostic(*where, ERROR, code, message, detail)


def _warning_diagnostic(text: str, span: Span | None, index: PolicyIndex,
                        fallback: tuple[str, int, int]) -> Diagnostic:
    message = _one_line(_CONTEXT.sub("", text))
    where = span_location(span, fallback)
    if text.startswith("Unknown specializer"):
        code = "unknown-specializer"
    elif text.startswith(AMBIGUOUS_PRECEDENCE_WARNING):
        code = "ambiguous-precedence"
    elif text == NO_ALLOW_WARNING:
        code = "no-allow-rule"
        message = "the policy has no allow, allow_field or allow_request rule, so nothing is allowed"
    elif text == MISSING_HAS_PERMISSION_WARNING:
        code = "missing-has-permission"
        message = ("the policy has resource blocks but never calls has_permission, so their permissions "
                   "have no effect (call has_permission in an allow rule)")
        if index.blocks:
            where = span_location(index.blocks[0].span, fallback)
    else:
        code = "policy-warning"
    return Diagnostic(*where, WARNING, code, message, text if _one_line(text) != message else "")


def _first_declaration(index: PolicyIndex, name: str, fallback: tuple[str, int, int]) -> tuple[str, int, int]:
    for block in index.blocks:
        for production in block.productions:
            if isinstance(production, Declaration) and production.name.value == name:
                return span_location(production.name.span, fallback)
    return fallback


def _suppressed(diagnostic: Diagnostic, texts: dict[str, str]) -> bool:
    """Is there a `# oso-check: ignore[...]` for it on its line, or alone on the line above?"""
    text = texts.get(diagnostic.file)
    if text is None:
        return False
    lines = text.split("\n")
    candidates = []
    if diagnostic.line <= len(lines):
        candidates.append(lines[diagnostic.line - 1])
    if 2 <= diagnostic.line <= len(lines) + 1 and lines[diagnostic.line - 2].lstrip().startswith("#"):
        candidates.append(lines[diagnostic.line - 2])
    for line in candidates:
        match = _SUPPRESS.search(line)
        if match is not None:
            codes = match.group(1)
            if codes is None or diagnostic.code in {c.strip() for c in codes.split(",")}:
                return True
    return False


# Files and modules ----------------------------------------------------------------------------------

def collect_policy_files(paths: Iterable[str]) -> list[Path]:
    """The policy files named by `paths`: files as given, directories searched for `*.polar`."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*" + POLICY_SUFFIX) if p.is_file())
        elif path.is_file():
            if path.suffix != POLICY_SUFFIX:
                raise UsageError(f"Polar files must have .polar extension. Offending file: {name}")
            files.append(path)
        else:
            raise UsageError(f"Could not find file: {name}")
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return list(unique.values())


def read_sources(files: Iterable[Path]) -> list[Source]:
    sources = []
    for file in files:
        try:
            sources.append(Source(file.read_bytes().decode("utf-8"), str(file)))
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"Could not read {file}: {error}") from None
    return sources


def host_for_modules(modules: Iterable[str]) -> Host | None:
    """A host with the classes each module defines registered; None when no module is given."""
    from .repl_cli import register_module_classes

    names = list(modules)
    if not names:
        return None
    host = new_host()
    if "" not in sys.path:  # like `python -m`, find modules in the working directory
        sys.path.insert(0, "")
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception as error:  # any import failure is a usage problem here
            raise UsageError(f"Could not import module {name}: {error}") from error
        try:
            register_module_classes(host, module)
        except OsoError as error:
            raise UsageError(f"Could not register the classes of {name}: {error.message}") from error
    return host


def check_paths(paths: Iterable[str], modules: Iterable[str] = (), *, entry_points: Iterable[str] = (),
                disabled: Iterable[str] = ()) -> list[Diagnostic]:
    """`check_sources` for policy files and directories (raises UsageError for bad paths/modules)."""
    files = collect_policy_files(paths)
    if not files:
        raise UsageError("no policy files found")
    return check_sources(read_sources(files), host_for_modules(modules), entry_points=entry_points,
                         disabled=disabled)


def _split(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


# Command line -------------------------------------------------------------------------------------

def main(argv: list | None = None) -> int:
    """Run `check`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m oso_core check",
        description="Validate Polar policy files as loading does, then lint them. Output lines: "
                    "FILE:LINE:COLUMN: error|warning: message [code].")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="policy files, or directories searched for *.polar; all are loaded together")
    parser.add_argument("--module", "-m", action="append", default=[], metavar="MODULE",
                        help="import MODULE and register the classes it defines (repeatable); without "
                             "modules every class name the policy uses is assumed to exist")
    parser.add_argument("--entry-point", action="append", default=[], metavar="RULE",
                        help="a rule the application queries directly, so not unreachable (repeatable, or "
                             "comma-separated)")
    parser.add_argument("--disable", action="append", default=[], metavar="CODE",
                        help="do not report diagnostics with this code (repeatable, or comma-separated)")
    parser.add_argument("--strict", "--warnings-as-errors", action="store_true", dest="strict",
                        help="exit with status 1 on warnings too")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    options = parser.parse_args(argv)
    disabled = _split(options.disable)
    try:
        diagnostics = check_paths(options.paths, options.module, entry_points=_split(options.entry_point),
                                  disabled=disabled)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    errors = sum(d.severity == ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors
    if options.format == "json":
        print(json.dumps({"diagnostics": [d.to_json() for d in diagnostics], "errors": errors,
                          "warnings": warnings}, indent=2))
    else:
        for diagnostic in diagnostics:
            print(diagnostic.format())
        if diagnostics:  # the summary goes to stderr, so stdout stays one diagnostic per line
            print(f"{errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors or (options.strict and warnings) else 0
