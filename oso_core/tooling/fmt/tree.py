"""Tokens -> a concrete syntax tree that keeps every token the formatter prints.

Only text the loader's parser accepted gets here, so this parser follows the grammar
(oso_core/frontend/grammar.lark) just closely enough to find the structure the layout needs:
items, resource-block productions, the operator chains and the bracketed lists. Parentheses are
kept as written. Separators the grammar tolerates but the layout drops (a trailing comma, `,,`)
hand their comments to the neighbouring tokens, so no comment is lost.
"""

from __future__ import annotations

from typing import Callable, Union

from .tokens import END, KEYWORDS, NAME, NUMBER, STRING, Token, move_comments_forward

# Binary operators by precedence (higher binds tighter), as grammar.lark's ladder e1 ... e9.
_BINARY = {
    "or": 1, "and": 2,
    "=": 4, ":=": 4,
    "==": 5, "!=": 5, "<=": 5, ">=": 5, "<": 5, ">": 5,
    "+": 6, "-": 6,
    "*": 7, "/": 7, "mod": 7, "rem": 7,
    "in": 8, "matches": 8,
}
_NOT_PRECEDENCE = 3
# Words that may stand before `(` as an operator call or a built-in: `print(x)`, `.(a, b)`.
_CALL_WORDS = frozenset(("print", "debug", "forall", "in", "new", "."))
_WORDS = KEYWORDS | {NAME}


class Node:
    """A construct: `kind` names it, `parts` are its tokens and sub-nodes in source order.

    Kinds: `or`/`and` (operands and operator tokens alternating), `not`, `binop`, `dot`
    (receiver, `.`, field), `paren`, `call` (name token, `seq`), `seq` (open bracket, items and
    commas alternating, close bracket), `list`/`dict` (a `seq`), `pattern` (class name, `seq`),
    `field` (key, `:`, value), `spec` (parameter, `:`, pattern), `rest` (`*`, name), `number`
    (sign, digits), `new` (`new`, call); items `rule`, `fact`, `type`, `query`, `block`; block
    productions `decl` and `shorthand`; `policy` (items, then the END token).
    """

    __slots__ = ("kind", "parts")

    def __init__(self, kind: str, parts: list[Part]) -> None:
        self.kind = kind
        self.parts = parts

    def __repr__(self) -> str:
        return f"Node({self.kind}, {self.parts})"


Part = Union[Token, Node]


class FormatSyntaxError(Exception):
    """This parser and the loader's disagree about the text (a formatter bug)."""


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        # Two more END tokens, so that looking one past END needs no bounds check.
        self.tokens = tokens + tokens[-1:] * 2
        self.i = 0
        self.last = tokens[0]  # the last token kept in the tree

    # tokens ------------------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> str:
        return self.tokens[self.i + ahead].kind

    def take(self, kind: str = "") -> Token:
        token = self.tokens[self.i]
        if kind and token.kind != kind:
            raise FormatSyntaxError(f"expected {kind!r}, found {token.text!r}")
        self.i += 1
        self.last = token
        return token

    def drop(self) -> None:
        """Skip a token the layout leaves out, handing its comments to its neighbours."""
        token = self.tokens[self.i]
        self.i += 1
        if token.leading:  # comment lines before it: all its comments go before the next token
            move_comments_forward(token, self.tokens[self.i])
        else:
            self.last.trailing.extend(token.trailing)

    # items -------------------------------------------------------------------------------------

    def policy(self) -> Node:
        items: list[Part] = []
        while self.peek() != END:
            items.append(self.item())
        items.append(self.take(END))
        return Node("policy", items)

    def item(self) -> Node:
        kind = self.peek()
        if kind == "type":
            return Node("type", [self.take(), self.head(), self.take(";")])
        if kind == "?=":
            return Node("query", [self.take(), self.expr(), self.take(";")])
        if self.peek(1) == NAME and self.peek(2) == "(":   # `declare name(Type, ...);`
            return Node("declare", [self.take(NAME), self.head(), self.take(";")])
        if self.peek(1) == "(":
            head = self.head()
            if self.peek() == "if":
                return Node("rule", [head, self.take(), self.expr(), self.take(";")])
            return Node("fact", [head, self.take(";")])
        parts: list[Part] = [self.take(NAME)]
        if self.peek() == NAME:  # `resource Repo {`; without the keyword just `Repo {`
            parts.append(self.take())
        parts.append(self.take("{"))
        while self.peek() != "}":
            parts.append(self.production())
        parts.append(self.take("}"))
        return Node("block", parts)

    def head(self) -> Node:
        return Node("call", [self.take(NAME), self.seq("(", ")", self.param)])

    def param(self) -> Part:
        term = self.expr()
        if self.peek() == ":":
            return Node("spec", [term, self.take(), self.pattern()])
        return term

    def production(self) -> Node:
        if self.peek() == STRING:  # `"read" if "member";`, `"read" if "member" on "parent";`
            parts: list[Part] = []
            while self.peek() != ";":
                parts.append(self.take())
            parts.append(self.take())
            return Node("shorthand", parts)
        name, equals = self.take(), self.take("=")
        if self.peek() == "[":
            value = Node("list", [self.seq("[", "]", self.take)])
        else:
            value = Node("dict", [self.seq("{", "}", self.relation)])
        return Node("decl", [name, equals, value, self.take(";")])

    def relation(self) -> Part:
        if self.peek(1) == ":":
            return Node("field", [self.take(), self.take(), self.take()])
        return self.take()

    # expressions -------------------------------------------------------------------------------

    def expr(self, min_precedence: int = 1) -> Part:
        """An expression whose operators all bind at least as tightly as `min_precedence`."""
        if self.peek() == "not" and min_precedence <= _NOT_PRECEDENCE:
            left: Part = Node("not", [self.take(), self.expr(_NOT_PRECEDENCE + 1)])
        else:
            left = self.postfix()
        while True:
            op = self.peek()
            precedence = _BINARY.get(op)
            if precedence is None or precedence < min_precedence:
                return left
            if op in ("or", "and"):  # flattened chains: `a and b and c`
                parts = [left]
                while self.peek() == op:
                    parts += [self.take(), self.expr(precedence + 1)]
                left = Node(op, parts)
            elif op == "matches":
                left = Node("binop", [left, self.take(), self.pattern()])
            else:
                left = Node("binop", [left, self.take(), self.expr(precedence + 1)])

    def postfix(self) -> Part:
        base = self.primary()
        while self.peek() == ".":
            dot = self.take()
            if self.peek() == "(":  # `a.(var)`, `a.("key")`
                field: Part = Node("paren", [self.take(), self.take(), self.take(")")])
            elif self.peek(1) == "(":
                field = Node("call", [self.take(), self.seq("(", ")", self.argument)])
            else:
                field = self.take()
            base = Node("dot", [base, dot, field])
        return base

    def pattern(self) -> Part:
        """The bare pattern after `matches` or `:` (a class name, literal, dict, list, ...)."""
        return self.primary()

    def primary(self) -> Part:
        kind = self.peek()
        if kind in (NUMBER, STRING, "cut"):
            return self.take()
        if kind in ("+", "-"):
            return Node("number", [self.take(), self.take(NUMBER)])
        if kind == "(":
            return Node("paren", [self.take(), self.expr(), self.take(")")])
        if kind == "[":
            return Node("list", [self.seq("[", "]", self.element)])
        if kind == "{":
            return Node("dict", [self.seq("{", "}", self.argument)])
        if kind == "new" and self.peek(1) != "(":
            return Node("new", [self.take(), self.postfix_call()])
        if kind in _CALL_WORDS or (kind == NAME and self.peek(1) == "("):
            return self.postfix_call()
        if kind == NAME and self.peek(1) == "{":
            return Node("pattern", [self.take(), self.seq("{", "}", self.argument)])
        return self.take(NAME)

    def postfix_call(self) -> Node:
        return Node("call", [self.take(), self.seq("(", ")", self.argument)])

    def argument(self) -> Part:
        """A call argument or dictionary field: `key: value`, or a term."""
        if self.peek() in _WORDS and self.peek(1) == ":":
            return Node("field", [self.take(), self.take(), self.expr()])
        return self.expr()

    def element(self) -> Part:
        if self.peek() == "*":
            return Node("rest", [self.take(), self.take(NAME)])
        return self.expr()

    def seq(self, open_kind: str, close_kind: str, item: Callable[[], Part]) -> Node:
        """`open item, item, ... close` with exactly one comma between items and none after the last."""
        parts: list[Part] = [self.take(open_kind)]
        while True:
            while self.peek() == ",":
                self.drop()
            if self.peek() == close_kind:
                break
            parts.append(item())
            if self.peek() == close_kind:
                break
            after = self.i
            while self.tokens[after].kind == ",":
                after += 1
            if self.tokens[after].kind != close_kind:  # a comma between two items stays
                parts.append(self.take(","))
        parts.append(self.take(close_kind))
        return Node("seq", parts)


def parse_tree(tokens: list[Token]) -> Node:
    """The `policy` node of tokens from `tokens.tokenize` (of text the loader parses)."""
    return _Parser(tokens).policy()
