"""--at NAME=VALUE,... : split at top-level commas, each value a constant expression."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import AutodiffError, UsageError

_NAME = re.compile(r"[^\W\d]\w*\Z")


def split_top_level(text: str, sep: str = ",") -> list[tuple[int, str]]:
    """Pieces of text between separators outside brackets, each with its offset."""
    pieces, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == sep and depth == 0:
            pieces.append((start, text[start:i]))
            start = i + 1
    pieces.append((start, text[start:]))
    return pieces


def constant(text: str) -> float:
    """The value of a constant expression such as pi/4 or -2 or 1e-3."""
    from .api import compile

    graph = compile(text, ())
    return float(graph.forward())


def parse_at(specs: Iterable[str]) -> dict[str, float]:
    """{"a": 3.0, "b": 2.0} from ["a=3,b=2"]; later specs override earlier ones."""
    values: dict[str, float] = {}
    for spec in specs:
        for offset, piece in split_top_level(spec):
            if not piece.strip():
                continue
            name, eq, rhs = piece.partition("=")
            name = name.strip()
            at = offset + len(piece) - len(piece.lstrip())
            if not eq:
                raise UsageError(f"--at expects NAME=VALUE, got {piece.strip()!r}", spec,
                                 (at, offset + len(piece)), hint="for example --at a=3,b=2")
            if not _NAME.match(name):
                raise UsageError(f"--at: {name!r} is not a valid name", spec,
                                 (at, at + max(1, len(name))),
                                 hint="names are letters, digits and _, not starting with a digit")
            start = offset + len(piece) - len(rhs)
            try:
                values[name] = constant(rhs)
            except AutodiffError as err:
                span = err.span or (0, len(rhs))
                raise UsageError(f"--at {name}: {err.message}", spec,
                                 (start + span[0], start + span[1]), hint=err.hint) from None
    return values
