"""Errors for people: the message, the source line with a caret under the span, a hint."""

from __future__ import annotations

from ..errors import AutodiffError, Problem, column_of, line_of


def printable(text: str) -> str:
    """Text safe for a terminal: control characters shown as '?', one column each."""
    return "".join(c if c.isprintable() or c == " " else "?" for c in text)


def format_error(err: AutodiffError) -> str:
    blocks = [_problem(err.source, p, located=i == 0 and err.says_where)
              for i, p in enumerate(err.problems)]
    if err.hint:
        blocks.append(f"hint: {printable(err.hint)}")
    return "\n".join(blocks)


def _problem(source: str, problem: Problem, located: bool) -> str:
    message = printable(problem.message)
    if problem.span is None or not source:
        return f"error: {message}"
    start, end = problem.span
    start = min(start, len(source))
    line_no, col = line_of(source, start), column_of(source, start)
    lines = source.split("\n")
    text = lines[line_no - 1] if line_no - 1 < len(lines) else ""
    where = f"line {line_no}, column {col}" if len(lines) > 1 else f"column {col}"
    width = max(1, min(end, start + len(text) - col + 1) - start)
    head, shown, offset = _window(text, col - 1)
    caret = " " * (offset) + "^" * max(1, min(width, len(shown) - offset))
    where = "" if located else f" ({where})"
    return f"error: {message}{where}\n  {head}{printable(shown)}\n  {' ' * len(head)}{caret}"


def _window(text: str, index: int, width: int = 72) -> tuple[str, str, int]:
    """A slice of a long line around index, with the caret's offset in it."""
    if len(text) <= width:
        return "", text, index
    lo = max(0, index - width // 2)
    return ("..." if lo else ""), text[lo:lo + width], index - lo
