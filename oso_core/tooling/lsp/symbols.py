"""Document symbols (the outline): resource blocks with their roles, permissions, relations and
shorthand rules; rules (name/arity); rule types; inline queries."""

from __future__ import annotations

from lsprotocol import types

from ...frontend.source import Span
from ...frontend.syntax import Declaration, InlineQuery, ResourceBlock, Rule, RuleType, ShorthandRule
from .documents import Document

_DECLARATION_KINDS = {"roles": types.SymbolKind.EnumMember, "permissions": types.SymbolKind.Constant,
                      "relations": types.SymbolKind.Field}


def _statement_end(document: Document, span: Span, inner_end: int) -> int:
    """The end of the statement a span starts: through its `;` (rule spans cover the head only)."""
    semicolon = document.text.find(";", max(span.end, inner_end))
    return span.end if semicolon == -1 else semicolon + 1


def _symbol(document: Document, name: str, kind: types.SymbolKind, start: int, end: int, selection: Span | None,
            detail: str | None = None, children: list[types.DocumentSymbol] | None = None) -> types.DocumentSymbol:
    selected = document.lines.range(selection.start, selection.end) if selection else document.lines.range(start, end)
    return types.DocumentSymbol(name=name, kind=kind, range=document.lines.range(start, end),
                                selection_range=selected, detail=detail, children=children)


def _block(document: Document, block: ResourceBlock) -> types.DocumentSymbol:
    children = []
    for production in block.productions:
        if production.span is None:
            continue
        if isinstance(production, Declaration):
            kind = _DECLARATION_KINDS.get(production.name.value, types.SymbolKind.Variable)
            names = list(production.value) if isinstance(production.value, (list, dict)) else []
            for name in names:
                if name.span is not None:
                    children.append(_symbol(document, name.value, kind, name.span.start, name.span.end, name.span,
                                            detail=production.name.value[:-1]))
        elif isinstance(production, ShorthandRule):
            children.append(_symbol(document, production.span.text.rstrip(";"), types.SymbolKind.Event,
                                    production.span.start, production.span.end, production.head.span))
    keyword = block.keyword.value if block.keyword else ""
    assert block.span is not None
    return _symbol(document, block.resource.value, types.SymbolKind.Class, block.span.start, block.span.end,
                   block.resource.span, detail=keyword, children=children)


def document_symbols(document: Document) -> list[types.DocumentSymbol]:
    """The outline of one document (empty while it does not parse)."""
    found = []
    for item in document.items:
        if item.span is None:
            continue
        if isinstance(item, ResourceBlock):
            found.append(_block(document, item))
        elif isinstance(item, Rule):
            body_end = item.body.span.end if item.body.span else item.span.end
            found.append(_symbol(document, f"{item.name}/{len(item.params)}", types.SymbolKind.Function,
                                 item.span.start, _statement_end(document, item.span, body_end), item.span,
                                 detail=item.head_str()))
        elif isinstance(item, RuleType):
            found.append(_symbol(document, f"type {item.name}/{len(item.params)}", types.SymbolKind.Interface,
                                 item.span.start, _statement_end(document, item.span, item.span.end), item.span,
                                 detail=f"type {item}"))
        elif isinstance(item, InlineQuery):
            found.append(_symbol(document, f"?= {item.term}", types.SymbolKind.Event, item.span.start,
                                 item.span.end, item.span))
    return found
