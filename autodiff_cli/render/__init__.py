"""Renderers: reports in, text out. They never compute."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

Format = str  # "table" | "json" | "plain"


def fancy(stream: TextIO) -> bool:
    """Colour and box art only for a terminal, and never with NO_COLOR set."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def emit(report: Any, fmt: Format, *, as_json: Callable[[Any], Any],
         as_plain: Callable[[Any], str], as_table: Callable[[Any, bool], Any],
         stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    if fmt == "json":
        import json

        out.write(json.dumps(as_json(report), ensure_ascii=False, allow_nan=False) + "\n")
    elif fmt == "plain":
        out.write(as_plain(report))
    else:
        print_table(as_table(report, fancy(out)), out)


def print_table(table: Any, out: TextIO) -> None:
    """A Table (render/table.py) or any rich renderable. A Table bound for a pipe or a file
    is laid out without importing rich, when that gives the same text."""
    from .table import Table, plain_text, to_rich

    if isinstance(table, Table):
        text = None if out.isatty() else plain_text(table, _width())
        if text is not None:
            out.write(text)
            return
        table = to_rich(table, fancy(out))
    print_rich(table, out)


def print_rich(renderable: Any, out: TextIO) -> None:
    from rich.console import Console

    color = fancy(out)
    console = Console(file=out, no_color=not color, color_system="auto" if color else None,
                      highlight=False, emoji=False, markup=False,
                      width=None if out.isatty() else _width())
    console.print(renderable)


def _width() -> int:
    try:
        return max(40, int(os.environ.get("COLUMNS", "100")))
    except ValueError:
        return 100
