"""Completion: in a string, the roles, permissions and relations (of the enclosing resource
block first); elsewhere rules, classes (registered, built-in, resource blocks) and keywords.

The context is read from the text, not the parse, since the text being typed rarely parses;
names come from the last text of each document that parsed.
"""

from __future__ import annotations

import re

from lsprotocol import types

from ...host import new_host
from ..lint import PERMISSION, RELATION, ROLE, PolicyIndex
from .classes import ClassInfo
from .documents import Document

KEYWORDS = ("if", "and", "or", "not", "matches", "in", "new", "forall", "cut", "print", "type", "actor",
            "resource", "on", "true", "false")
BLOCK_KEYWORDS = ("roles", "permissions", "relations", "if", "on")
BUILTIN_RULES = ("allow", "allow_field", "allow_request", "has_permission", "has_role", "has_relation")

_HEADER = re.compile(r"\b(?:actor|resource)\s+([A-Za-z_][A-Za-z0-9_:]*)\s*\{")
_ITEM_KIND = {ROLE: types.CompletionItemKind.EnumMember, PERMISSION: types.CompletionItemKind.Value,
              RELATION: types.CompletionItemKind.Field}


def enclosing_block(text: str, offset: int) -> str | None:
    """The resource of the block the offset is in (by braces after its header), else None."""
    resource = None
    for match in _HEADER.finditer(text, 0, offset):
        depth = 1
        for char in text[match.end():offset]:
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 0:
                break
        if depth > 0:
            resource = match.group(1)
    return resource


def in_string(text: str, offset: int) -> bool:
    """Is the offset inside a string literal (an odd number of unescaped quotes before it on its line)?"""
    line = text[text.rfind("\n", 0, offset) + 1:offset]
    line = re.sub(r"#.*", "", re.sub(r'"(?:[^"\\]|\\.)*"', '""', line))
    return line.count('"') % 2 == 1


def complete(group: list[Document], document: Document, offset: int,
             classes: dict[str, ClassInfo]) -> types.CompletionList:
    """The completion items at `offset` of `document`, with the names of the documents loaded together."""
    policy = PolicyIndex(item for d in group for item in d.last_parsed)
    text = document.text
    items: list[types.CompletionItem] = []
    block = enclosing_block(text, offset)
    if in_string(text, offset):
        for resource, table in sorted(policy.declared.items()):
            for name, (kind, type_name) in sorted(table.items()):
                detail = f"{kind} of {resource}" + (f" ({type_name})" if type_name else "")
                # The enclosing block's names sort first.
                rank = "0" if resource == block else "1"
                items.append(types.CompletionItem(label=name, kind=_ITEM_KIND[kind], detail=detail,
                                                  sort_text=f"{rank}{name}"))
        return types.CompletionList(is_incomplete=False, items=_unique(items))
    if block is not None:
        items += [types.CompletionItem(label=k, kind=types.CompletionItemKind.Keyword) for k in BLOCK_KEYWORDS]
        return types.CompletionList(is_incomplete=False, items=items)
    rules = sorted({r.name for r in policy.rules} | {t.name for t in policy.rule_types} | set(BUILTIN_RULES))
    items += [types.CompletionItem(label=name, kind=types.CompletionItemKind.Function, detail="rule") for name in rules]
    class_names = dict.fromkeys(sorted(classes))
    class_names.update(dict.fromkeys(b.resource.value for b in policy.blocks))
    for name in class_names:
        info = classes.get(name)
        items.append(types.CompletionItem(label=name, kind=types.CompletionItemKind.Class,
                                          detail=info.qualname if info else "resource block"))
    items += [types.CompletionItem(label=name, kind=types.CompletionItemKind.Class, detail="built-in class")
              for name in new_host().constants if name[:1].isupper() and name not in class_names]
    items += [types.CompletionItem(label=k, kind=types.CompletionItemKind.Keyword) for k in KEYWORDS]
    return types.CompletionList(is_incomplete=False, items=items)


def _unique(items: list[types.CompletionItem]) -> list[types.CompletionItem]:
    """One item per name (the best-ranked one, a name declared by several resources says so)."""
    by_label: dict[str, types.CompletionItem] = {}
    for item in sorted(items, key=lambda i: i.sort_text or ""):
        known = by_label.get(item.label)
        if known is None:
            by_label[item.label] = item
        elif item.detail and known.detail and item.detail not in known.detail:
            known.detail += f", {item.detail}"
    return list(by_label.values())
