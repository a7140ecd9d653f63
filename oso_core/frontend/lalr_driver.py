"""The parser proper: drives the LALR table over the tokens and calls the AST builders.

This is what a Lark transformer would be, without Lark at parse time: the table comes from Lark
once (parse_table.py), tokens from tokenizer.py, and every reduction of a rule with a builder
calls it (ast_builders.py), so nodes are built directly instead of from a parse tree (Lark's
lexer and tree building cost several microseconds per token). Runs of single-symbol reductions
are memoized per table state, and whole top-level items usually replay a recorded shape
(item_shapes.py). Errors are raised by parse_errors.ParseErrors.
"""

from __future__ import annotations

from typing import Any, Optional

from .ast_builders import make_builders
from .item_shapes import COMPILE_AFTER, cloud_item_shapes, compile_shape, item_shapes, remember_shape, replay
from .parse_errors import VALUE_CHECKS, ParseErrors
from .parse_table import BUILD, CHECK, Tables, get_tables
from .source import Source
from .syntax import CallTerm, Op
from .tokenizer import END, T_LPAR, T_NAME, T_SEMI, Tokens

__all__ = ["Parse"]


class Parse:
    """One parse of one source."""

    def __init__(self, source: Source, cloud: bool = False) -> None:
        self.cloud = cloud  # the Oso Cloud dialect (grammar_cloud.lark) instead of legacy
        self.tokens = Tokens(source, cloud)
        # ids of the operations written in operator-call form, for the kind checks.
        opcalls: set[int] = set()
        self.errors = ParseErrors(self.tokens, opcalls)
        if cloud:
            # Imported on the first cloud parse: a legacy-only process never pays for it.
            from .cloud_builders import make_cloud_builders

            self.builders = make_cloud_builders(self.tokens, opcalls, self.errors)
        else:
            self.builders = make_builders(self.tokens, opcalls, self.errors.duplicate_key)

    def run(self, start: str) -> Any:
        """Parse the whole source from grammar start symbol `start` ("program" or "query")."""
        tables = get_tables(self.cloud)
        actions = tables.actions
        unit_base = tables.unit_base
        hook_base = tables.hook_base
        item_id = tables.item_id
        rule_len = tables.rule_len
        rule_lhs = tables.rule_lhs
        memo = tables.unit_memo
        end_state = tables.end_states[start]
        make = self.builders
        builders = [make[arg] if kind == BUILD else None
                    for kind, arg in zip(tables.rule_kind, tables.rule_arg)]
        rules = [(n, lhs, h) for n, lhs, h in zip(rule_len, rule_lhs, builders)]
        tokens = self.tokens
        ttypes = tokens.types
        tstarts = tokens.starts
        tends = tokens.ends
        errors = self.errors
        shapes = cloud_item_shapes if self.cloud else item_shapes

        states = [tables.start_states[start]]
        values: list = []  # AST nodes, builder data, or for tokens the token's index
        starts: list = []  # where each stack entry's text begins
        i = 0
        t = ttypes[0]
        state = states[0]
        # While an item is parsed for the first time in its shape: its builder reductions.
        record: Optional[list] = None
        record_from = record_to = 0
        record_key: Any = None
        while True:
            code = actions[state][t]
            if code is None:
                errors.syntax_error(i)
            if code >= 0:
                if code >= unit_base:
                    if code < hook_base:
                        # A run of single-symbol pass-through / check reductions depends only
                        # on the state below, the top state and the lookahead: memoize where it
                        # ends.
                        below = states[-2]
                        key = below << 20 | state << 8 | t
                        hit = memo.get(key)
                        if hit is None:
                            hit = memo[key] = self._unit_run(tables, below, state, t)
                        state, checks = hit
                        if checks:
                            node = values[-1]
                            tp = type(node)
                            for chk in checks:
                                # Only operations and calls can fail a value check, and calls
                                # never fail a logical one: skip the full check for the rest.
                                if tp is Op or (tp is CallTerm) is (chk in VALUE_CHECKS):
                                    errors.check(node, starts[-1], chk)
                        states[-1] = state
                        if state == end_state and t == END:
                            return values[-1]
                        continue
                    # The first token of a top-level item. Rules, rule types and inline queries
                    # end at the first `;`, and the parser's actions depend only on token types,
                    # so an item whose token types were seen before replays its reductions.
                    code -= hook_base
                    if t != T_NAME or ttypes[i + 1] == T_LPAR:
                        try:
                            last = ttypes.index(T_SEMI, i)
                        except ValueError:
                            last = -1
                        if last > 0:
                            key = (state, tuple(ttypes[i:last + 1]))
                            shape = shapes.get(key)
                            if shape is not None:
                                shape.uses += 1
                                if shape.fn is not None:
                                    item = shape.fn(i, tstarts, tends, builders)
                                else:
                                    if shape.uses >= COMPILE_AFTER:
                                        shape.fn = compile_shape(shape.program, rule_len)
                                    item = replay(shape.program, i, rules, tstarts, tends)
                                states.append(actions[state][item_id])
                                values.append(item)
                                starts.append(tstarts[i])
                                state = states[-1]
                                i = last + 1
                                t = ttypes[i]
                                continue
                            record = []
                            record_from, record_to, record_key = i, last + 1, key
                # A shift.
                states.append(code)
                values.append(i)
                starts.append(tstarts[i])
                state = code
                i += 1
                t = ttypes[i]
                continue
            r = ~code
            n, lhs, build = rules[r]
            if record is not None:
                record.append((r, i - record_from))
                if lhs == item_id:
                    if i == record_to:
                        remember_shape(record_key, tuple(record), shapes)
                    record = None
            if n == 1:  # the most common shape: the value and its start stay in place
                values[-1] = build(values[-1], starts[-1], tends[i - 1])
                state = states[-1] = actions[states[-2]][lhs]
            else:
                if n:
                    args = values[-n:]
                    del values[-n:]
                    begin = starts[-n]
                    del starts[-n:]
                    del states[-n:]
                    end = tends[i - 1]
                else:
                    args = []
                    begin = end = tends[i - 1] if i else tstarts[0]
                values.append(build(args, begin, end))
                starts.append(begin)
                state = actions[states[-1]][lhs]
                states.append(state)
            if state == end_state and t == END:
                return values[-1]

    @staticmethod
    def _unit_run(tables: Tables, below: int, state: int, t: int) -> tuple:
        actions = tables.actions
        checks = []
        while True:
            code = actions[state][t]
            if code is None or not tables.unit_base <= code < tables.hook_base:
                break
            r = code - tables.unit_base
            if tables.rule_kind[r] == CHECK:
                checks.append(tables.rule_arg[r])
            state = actions[below][tables.rule_lhs[r]]
        return state, tuple(checks)
