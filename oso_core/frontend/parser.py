"""Polar source text -> AST (syntax.py), with legacy oso's parse errors: the entry points.

The grammar lives in grammar.lark; the parse is split by job:
- tokenizer.py: text -> token lists (and legacy's lexical errors, raised lazily);
- parse_table.py: the LALR(1) table Lark derives from the grammar, shipped as lalr_table.py;
- lalr_driver.py: drives that table over the tokens, calling the builders on reductions;
- ast_builders.py: one builder per grammar rule alias, making the AST nodes;
- item_shapes.py: replays (or runs compiled) the reductions of item shapes seen before;
- parse_errors.py: legacy's syntax, kind-check and duplicate-key errors with file:line:column.
This module caches parse results and is what the rest of oso_core imports.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from typing import Any

from .lalr_driver import Parse
from .parse_table import PACKAGED_TABLE_PATH, write_packaged_table
from .source import Source
from .syntax import Item, Node

__all__ = ["PACKAGED_TABLE_PATH", "parse_program", "parse_query", "write_packaged_table"]


_CACHE_SIZE = 64
_program_cache: "OrderedDict[tuple, list]" = OrderedDict()
_query_cache: "OrderedDict[tuple, Node]" = OrderedDict()
_cache_lock = threading.Lock()


def _parse(source: Source, start: str, cloud: bool = False) -> Any:
    # A parse allocates many small objects and no reference cycles; pausing the cyclic garbage
    # collector meanwhile saves about a fifth of the time.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return Parse(source, cloud).run(start)
    finally:
        if paused:
            gc.enable()


def parse_program(source: Source, cloud: bool = False) -> list[Item]:
    """Parse a whole policy source into its items (Rule, RuleType, InlineQuery, ResourceBlock).

    Raises the ParserError (or subclass) legacy oso raises for the first error in the source.
    Results are cached by (filename, text): a repeated parse returns the *same* list and nodes,
    so callers must treat the returned list and every AST node as immutable.
    `cloud`: parse the Oso Cloud dialect (grammar_cloud.lark), whose items also include
    cloud_syntax.CloudBlock and the test-block dataclasses.
    """
    key = (source.filename, source.text, cloud)
    with _cache_lock:
        hit = _program_cache.get(key)
        if hit is not None:
            _program_cache.move_to_end(key)
            return hit
    items = _parse(source, "program", cloud)
    with _cache_lock:
        _program_cache[key] = items
        if len(_program_cache) > _CACHE_SIZE:
            _program_cache.popitem(last=False)
    return items


def parse_query(text: str, cloud: bool = False) -> Node:
    """Parse one query term, the API's `query("...")` form (no trailing `;`), in the legacy or
    (`cloud`) the Oso Cloud dialect.

    Cached by text like parse_program; treat the result as immutable.
    """
    key = (text, cloud)
    with _cache_lock:
        hit = _query_cache.get(key)
        if hit is not None:
            _query_cache.move_to_end(key)
            return hit
    term = _parse(Source(text, None), "query", cloud)
    with _cache_lock:
        _query_cache[key] = term
        if len(_query_cache) > _CACHE_SIZE:
            _query_cache.popitem(last=False)
    return term