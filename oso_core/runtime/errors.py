"""Runtime errors raised inside the solver and how they become legacy oso's exceptions.

Solver code raises `EvalError`; each rule call it passes through adds a trace frame, and the
query boundary turns it into the public class with legacy's message layout:
`<trace>\\n\\nType error: <msg> at line L, column C:\\n\\t001: ...`.
"""

from __future__ import annotations

from typing import Any, Optional

import oso_core.exceptions as exc
from ..frontend.source import Span


class Fail(Exception):
    """Internal: this goal fails (e.g. a dictionary has no such key). Never escapes a goal."""


class EvalError(Exception):
    """Internal error with its kind, message, source span and the rule-call trace so far."""

    def __init__(self, cls: type, message: str, span: Optional[Span] = None, *,
                 traced: bool = False, prefix: str = "") -> None:
        super().__init__(message)
        self.cls = cls
        self.message = message
        self.span = span
        self.traced = traced          # legacy prints a stack trace for type/application errors
        self.prefix = prefix          # "Type error: ", "Application error: ", "Not supported: "
        self.frames: list[tuple[str, Optional[str]]] = []

    def add_frame(self, goal_text: str, where: Optional[str]) -> None:
        self.frames.append((goal_text, where))

    def enter_rule(self, rule_name: str) -> None:
        """The error passes out of a rule body: its first frame is the failing term in that rule."""
        if not self.frames and self.span is not None:
            self.frames.append((self.span.text, where(self.span, rule_name)))

    def to_public(self) -> exc.OsoError:
        text = self.prefix + self.message
        if self.span is not None:
            text += self.span.context()
        details: dict[str, Any] = {"msg": self.prefix + self.message}
        if self.span is not None:
            details.update(self.span.location())
        if self.traced:
            lines = ["trace (most recent evaluation last):"]
            if not self.frames and self.span is not None:
                self.frames.append((self.span.text, where(self.span, None)))
            depth = len(self.frames)
            for goal_text, location in reversed(self.frames):
                depth -= 1
                lines.append(f"  {depth:03}: {goal_text}" + (f"\n    {location}" if location else ""))
            trace = "\n".join(lines) + "\n"
            details["stack_trace"] = trace
            text = f"{trace}\n{text}"
        return self.cls(text, details)


STACK_OVERFLOW = "Goal stack overflow! MAX_GOALS = 10000"  # legacy's text, kept for compatibility


def where(span: Optional[Span], rule_name: Optional[str]) -> str:
    """`in rule f at line L, column C` / `in query at line L, column C` for a trace frame."""
    scope = f"in rule {rule_name}" if rule_name else "in query"
    if span is None:
        return scope
    line, col = span.source.line_col(span.start)
    return f"{scope} at line {line}, column {col}"


def type_error(message: str, span: Optional[Span]) -> EvalError:
    return EvalError(exc.PolarTypeError, message, span, traced=True, prefix="Type error: ")


def application_error(message: str, span: Optional[Span]) -> EvalError:
    return EvalError(exc.PolarRuntimeError, message, span, traced=True, prefix="Application error: ")


def unsupported(message: str, span: Optional[Span]) -> EvalError:
    return EvalError(exc.UnsupportedError, message, span, prefix="Not supported: ")


def runtime_error(message: str, span: Optional[Span] = None, cls: type = exc.PolarRuntimeError) -> EvalError:
    return EvalError(cls, message, span)
