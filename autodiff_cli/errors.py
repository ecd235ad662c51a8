"""Errors that carry where in the source they happened; the CLI maps them to exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field

Span = tuple[int, int]  # [start, end) character offsets into the source


@dataclass(frozen=True)
class Problem:
    message: str
    span: Span | None = None


@dataclass
class AutodiffError(Exception):
    """Base error. `kind` is stable (JSON), `exit_code` is 1 for math, 2 for usage."""

    message: str
    source: str = ""
    span: Span | None = None
    hint: str = ""
    more: list[Problem] = field(default_factory=list)

    kind = "error"
    exit_code = 2

    def __str__(self) -> str:
        return self.message

    @property
    def column(self) -> int | None:
        """1-based column of the span's start on its line."""
        if self.span is None:
            return None
        return column_of(self.source, self.span[0])

    @property
    def problems(self) -> list[Problem]:
        return [Problem(self.message, self.span), *self.more]


class ParseError(AutodiffError):
    kind = "parse"


class NameError_(AutodiffError):
    kind = "name"


class ArityError(AutodiffError):
    kind = "arity"


class UsageError(AutodiffError):
    kind = "usage"


class MathError(AutodiffError):
    kind = "math"
    exit_code = 1


def column_of(source: str, offset: int) -> int:
    line_start = source.rfind("\n", 0, offset) + 1
    return offset - line_start + 1


def line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


class ShapeError(MathError):
    kind = "shape"
