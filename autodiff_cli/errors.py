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
    says_where = False  # the message itself names the columns

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


class AutodiffWarning(UserWarning):
    """Something that works but may not be what was meant (an ambiguous reading, a value
    nobody uses): the command still succeeds; the CLI shows it on stderr (not with -q)."""

    def __init__(self, message: str, source: str = "", span: Span | None = None,
                 hint: str = "") -> None:
        super().__init__(message)
        self.message, self.source, self.span, self.hint = message, source, span, hint


def warn(message: str, source: str = "", span: Span | None = None, hint: str = "") -> None:
    import warnings

    warnings.warn(AutodiffWarning(message, source, span, hint), stacklevel=3)


def column_of(source: str, offset: int) -> int:
    line_start = source.rfind("\n", 0, offset) + 1
    return offset - line_start + 1


def line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def columns(source: str, span: Span) -> str:
    """Where a span is, for a message: "column 3", "columns 14-18", "line 2, columns 1-5"."""
    start, end = span
    first, last = column_of(source, start), column_of(source, max(start, end - 1))
    cols = f"column {first}" if last <= first else f"columns {first}-{last}"
    line = line_of(source, start)
    return cols if "\n" not in source else f"line {line}, {cols}"


class ShapeError(MathError):
    """Shapes that do not fit; the message names both shapes and the op's columns."""

    kind = "shape"
    says_where = True


class LimitError(UsageError):
    """An input larger than the documented limits (autodiff_cli/limits.py)."""

    kind = "limit"
