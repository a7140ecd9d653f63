"""Go to definition, find references and rename, over the documents loaded together.

Definitions: a rule's heads (or its rule types when it has no written rule; for `has_role` /
`has_permission` / `has_relation` also the shorthand rules that generate it), a role's,
permission's or relation's declaration, a class's Python source (when the application's classes
are configured) or else its resource block.
"""

from __future__ import annotations

import re

from lsprotocol import types
from pygls import uris

from ...frontend.syntax import ShorthandRule
from .classes import ClassInfo
from .index import CLASS, DECLARATION, DECLARED_KINDS, DEFINITION, RULE, Occurrence, PolicyGroupIndex, Symbol

_GENERATED = {"has_role": "role", "has_permission": "permission", "has_relation": "relation"}
# A name `roles = [...]` and shorthand rules can carry: anything a Polar string holds unescaped.
_VALID_NAME = re.compile(r'[^"\\\n]+')


class RenameError(Exception):
    """A rename that cannot be done; the message says why."""


def _location(index: PolicyGroupIndex, occurrence: Occurrence) -> types.Location:
    document = index.documents[occurrence.uri]
    return types.Location(uri=occurrence.uri, range=document.lines.range(occurrence.start, occurrence.end))


def _shorthand_locations(index: PolicyGroupIndex, kind: str) -> list[types.Location]:
    """The shorthand rules whose head is a `kind` (they generate has_role/has_permission rules)."""
    found = []
    for resource, rule in index.policy.shorthand_rules():
        if index.kind_in(resource, rule.head.value) == kind:
            found.append(_span_location(index, rule))
    return [f for f in found if f is not None]


def _span_location(index: PolicyGroupIndex, rule: ShorthandRule) -> types.Location | None:
    uri = index.uri_of(rule.span)
    if uri is None or rule.span is None:
        return None
    return types.Location(uri=uri, range=index.documents[uri].lines.range(rule.span.start, rule.span.end))


def definition(index: PolicyGroupIndex, uri: str, offset: int,
               classes: dict[str, ClassInfo]) -> list[types.Location]:
    """Where the name under the cursor is defined (empty when it is not a known name)."""
    occurrence = index.at(uri, offset)
    if occurrence is None:
        return []
    symbol = occurrence.symbol
    if symbol.kind == CLASS:
        info = classes.get(symbol.name)
        if info is not None and info.file is not None and info.line is not None:
            target = uris.from_fs_path(info.file)
            if target is not None:
                line = types.Position(line=info.line - 1, character=0)
                return [types.Location(uri=target, range=types.Range(start=line, end=line))]
    occurrences = index.of(symbol)
    found = [_location(index, o) for o in occurrences if o.use == DEFINITION]
    if symbol.kind == RULE and symbol.name in _GENERATED:
        found += _shorthand_locations(index, _GENERATED[symbol.name])
    if not found:
        found = [_location(index, o) for o in occurrences if o.use == DECLARATION]
    return found


def references(index: PolicyGroupIndex, uri: str, offset: int, include_declaration: bool) -> list[types.Location]:
    """Every occurrence of the name under the cursor."""
    occurrence = index.at(uri, offset)
    if occurrence is None:
        return []
    return [_location(index, o) for o in index.of(occurrence.symbol)
            if include_declaration or o.use not in (DEFINITION, DECLARATION)]


def _renamable(index: PolicyGroupIndex, uri: str, offset: int) -> Occurrence:
    occurrence = index.at(uri, offset)
    if occurrence is None or occurrence.symbol.kind not in DECLARED_KINDS:
        raise RenameError("only roles, permissions and relations can be renamed")
    if not any(o.use == DEFINITION for o in index.of(occurrence.symbol)):
        raise RenameError(f'{occurrence.symbol.kind} "{occurrence.symbol.name}" is not declared in a resource block')
    return occurrence


def prepare_rename(index: PolicyGroupIndex, uri: str, offset: int) -> types.Range | None:
    """The range of the renamable name under the cursor, or None."""
    try:
        occurrence = _renamable(index, uri, offset)
    except RenameError:
        return None
    return _location(index, occurrence).range


def rename(index: PolicyGroupIndex, uri: str, offset: int, new_name: str) -> types.WorkspaceEdit:
    """Rename a role, permission or relation everywhere it is declared or used (raises RenameError)."""
    occurrence = _renamable(index, uri, offset)
    if not _VALID_NAME.fullmatch(new_name):
        raise RenameError(f"{new_name!r} is not a valid {occurrence.symbol.kind} name")
    symbol = occurrence.symbol
    # Every declaration of this name the occurrence may mean: a literal of unknown resource
    # means the name in every resource that declares it.
    targets = {o.symbol for o in index.of(symbol) if o.use == DEFINITION}
    changes: dict[str, list[types.TextEdit]] = {}
    for other in index.occurrences:
        if any(other.symbol.matches(t) and (other.symbol.resource is not None or _only(index, other.symbol, targets))
               for t in targets):
            edit = types.TextEdit(range=_location(index, other).range, new_text=new_name)
            changes.setdefault(other.uri, []).append(edit)
    return types.WorkspaceEdit(changes=changes)


def _only(index: PolicyGroupIndex, symbol: Symbol, targets: set[Symbol]) -> bool:
    """Does a literal of unknown resource name only declarations being renamed?"""
    declared = {o.symbol for o in index.of(symbol) if o.use == DEFINITION}
    return declared <= targets
