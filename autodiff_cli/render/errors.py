"""Errors for people: the message, the source line with a caret under the span, a hint.

printable() is the one gate through which text that a user typed reaches a terminal: every
renderer passes source text, messages and hints through it."""

from __future__ import annotations

import unicodedata

from ..errors import AutodiffError, AutodiffWarning, Problem, column_of, line_of


def printable(text: str, newlines: bool = False) -> str:
    """Text safe for a terminal: a character that could move the cursor, recolour the
    screen or reorder what follows (ESC and every other control or format character,
    line and paragraph separators, bidirectional overrides) is shown as '?', a tab or
    carriage return as a space. With newlines, line breaks stay line breaks."""
    if text.isprintable():
        return text
    keep = "\n" if newlines else ""
    return "".join(c if c.isprintable() or c in keep else " " if c in " \t\r" else "?"
                   for c in text)


def cells(text: str) -> int:
    """Terminal columns text takes: 2 for a wide (East Asian) character, 0 for a combining
    mark, 1 for the rest."""
    if text.isascii():
        return len(text)
    return sum(_cell(c) for c in text)


def _cell(c: str) -> int:
    if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def format_error(err: AutodiffError) -> str:
    blocks = [_problem(err.source, p, located=i == 0 and err.says_where)
              for i, p in enumerate(err.problems)]
    if err.hint:
        blocks.append(_hint(err.hint))
    return "\n".join(blocks)


def _hint(hint: str) -> str:
    """A hint is prose: wrapped between words at the page's width (COLUMNS)."""
    from . import _width
    from .table import wrap

    return "\n".join(wrap(f"hint: {printable(hint)}", _width()))


def format_warning(warning: AutodiffWarning) -> str:
    shown = _problem(warning.source, Problem(warning.message, warning.span), False,
                     "warning")
    return shown + (f"\n{_hint(warning.hint)}" if warning.hint else "")


def _problem(source: str, problem: Problem, located: bool, label: str = "error") -> str:
    message = printable(problem.message)
    if problem.span is None or not source:
        return f"{label}: {message}"
    start, end = problem.span
    start = min(start, len(source))
    line_no, col = line_of(source, start), column_of(source, start)
    lines = source.split("\n")
    text = lines[line_no - 1] if line_no - 1 < len(lines) else ""
    where = f"line {line_no}, column {col}" if len(lines) > 1 else f"column {col}"
    width = max(1, min(end, start + len(text) - col + 1) - start)
    head, shown, offset = _window(text, col - 1)
    shown = printable(shown)
    caret = " " * cells(shown[:offset]) + "^" * max(1, cells(shown[offset:offset + width]))
    where = "" if located else f" ({where})"
    return f"{label}: {message}{where}\n  {head}{shown}\n  {' ' * len(head)}{caret}"


def _window(text: str, index: int, width: int = 72) -> tuple[str, str, int]:
    """A slice of a long line around index, with the caret's offset in it."""
    if len(text) <= width:
        return "", text, index
    lo = max(0, index - width // 2)
    return ("..." if lo else ""), text[lo:lo + width], index - lo
