"""Renderers: reports in, text out. They never compute.

Everything the CLI prints goes out through write(): on a stream that cannot encode some
character (PYTHONIOENCODING=ascii, a legacy code page) our own symbols become ASCII (∂ -> d)
and the rest a backslash escape, instead of a crash. JSON goes through to_json(), which
escapes every character that could act on a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

Format = str  # "table" | "json" | "plain"

ECHO_LIMIT = 2_000  # characters of the source a table repeats above itself


def fancy(stream: TextIO) -> bool:
    """Colour and box art only for a terminal, and never with NO_COLOR set."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def emit(report: Any, fmt: Format, *, as_json: Callable[[Any], Any],
         as_plain: Callable[[Any], str], as_table: Callable[[Any, bool], Any],
         stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    if fmt == "json":
        write(to_json(as_json(report), ascii_only=not encodes_unicode(out)) + "\n", out)
    elif fmt == "plain":
        write(as_plain(report), out)
    else:
        print_table(as_table(report, fancy(out)), out)


def print_table(report: Any, out: TextIO) -> None:
    """A report as render/table.py's blocks (a Table, Prose, a str, or a list of them),
    laid out without rich for a pipe or a file and by rich for a terminal."""
    from .table import lay_out, to_rich

    if out.isatty():
        print_rich(to_rich(report, fancy(out), _terminal_width()), out)
        return
    encoding = None if encodes_unicode(out) else getattr(out, "encoding", None) or "ascii"
    write(lay_out(report, _width(), encoding), out)


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def page_width(out: TextIO | None = None) -> int:
    """The width a renderer fits its blocks to: the terminal's, or for a pipe or a file
    COLUMNS (100 when not set)."""
    out = out or sys.stdout
    return _terminal_width() if out.isatty() else _width()


def print_rich(renderable: Any, out: TextIO) -> None:
    """A rich renderable to a terminal (print_table lays out everything else)."""
    from rich.console import Console

    safe_for_terminal(renderable, None if encodes_unicode(out) else
                      getattr(out, "encoding", None) or "ascii")
    color = fancy(out)
    file: Any = out if encodes_unicode(out) else _Encodable(out)
    console = Console(file=file,
                      no_color=not color, color_system="auto" if color else None,
                      highlight=False, emoji=False, markup=False)
    console.print(renderable)


def safe_for_terminal(renderable: Any, encoding: str | None = None) -> Any:
    """The renderable, changed in place so that rich prints it without harm: every text in
    it (cells, headers, titles, tree labels) made printable (render/errors.printable: no
    escape sequence from user input reaches the terminal; rich itself strips only a few
    control codes, not ESC), and every table column that would cut its text with '…' made
    to fold it onto the next line instead, so no name or number is ever cut short. With an
    encoding that is not UTF, texts are also made encodable before rich lays them out
    (∂ -> d, θ -> \u03b8), so columns stay aligned."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    from rich.tree import Tree

    from .errors import printable

    def fix(text: str) -> str:
        text = printable(text, newlines=True)  # the same length: styles stay in place
        return text if encoding is None else encodable(text, encoding)

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            return fix(item)
        if isinstance(item, Text):
            item.plain = fix(item.plain)
        else:
            todo.append(item)
        return item

    todo: list[Any] = []
    clean(renderable)
    while todo:
        item = todo.pop()
        if isinstance(item, Group):
            item.renderables[:] = [clean(r) for r in item.renderables]
        elif isinstance(item, Tree):
            item.label = clean(item.label)
            todo.extend(item.children)
        elif isinstance(item, Table):
            item.title, item.caption = clean(item.title), clean(item.caption)
            for column in item.columns:
                if column.overflow == "ellipsis" and not column.no_wrap:
                    column.overflow = "fold"
                column.header, column.footer = clean(column.header), clean(column.footer)
                _clean_cells(column, clean)
    return renderable


def _clean_cells(column: Any, clean: Any) -> None:
    """Each cell of a rich Column through clean(). Rich has no public way to replace a
    cell; its cell list (Column._cells) is used while it is one, and otherwise the public
    Column.cells are cleaned where they are mutable (Text), so a different rich still
    renders, only with str cells as they came."""
    cells = getattr(column, "_cells", None)
    if isinstance(cells, list):
        cells[:] = [clean(cell) for cell in cells]
    else:
        for cell in column.cells:
            clean(cell)


def _width() -> int:
    try:
        return max(40, int(os.environ.get("COLUMNS", "100")))
    except ValueError:
        return 100


# -- user text ----------------------------------------------------------------------------

def source_text(text: str, limit: int = ECHO_LIMIT) -> str:
    """An expression or program as a report repeats it: printable (render/errors.printable),
    line breaks kept, and the middle of a very long one left out."""
    from .errors import printable

    text = text.strip()
    if len(text) > limit:
        half = limit // 2
        text = (f"{text[:half]} … ({len(text) - 2 * half:,} characters not shown) … "
                f"{text[-half:]}")
    return printable(text, newlines=True)


# -- JSON ---------------------------------------------------------------------------------

def to_json(data: Any, ascii_only: bool = False) -> str:
    """One line of JSON: no NaN or Infinity, which JSON does not have (a number that is not
    finite, such as a trace's local derivative at a domain edge that a zero factor
    cancels, is the string "inf", "-inf" or "nan"), and no character a terminal would act
    on (C1 controls, bidirectional overrides, line separators: JSON escapes only the C0
    controls itself) but as a \\u escape."""
    import json

    try:
        text = json.dumps(data, ensure_ascii=ascii_only, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(data), ensure_ascii=ascii_only, allow_nan=False)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _finite(data: Any) -> Any:
    """A copy of JSON data with each float that is not finite as its name: iterative, for
    reports of any size."""
    import math

    def plain(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return str(x)
        return x.copy() if isinstance(x, (dict, list)) else x

    top = plain(data)
    stack = [top]
    while stack:
        box = stack.pop()
        if isinstance(box, (dict, list)):
            keys = box.keys() if isinstance(box, dict) else range(len(box))
            for key in keys:
                box[key] = plain(box[key])
                stack.append(box[key])
    return top


def _escape(c: str) -> str:
    n = ord(c)
    if n < 0x10000:
        return f"\\u{n:04x}"
    n -= 0x10000
    return f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}"


# -- streams that cannot encode everything ------------------------------------------------

ASCII = str.maketrans({
    "∂": "d", "…": "...", "⋮": ":", "⋯": "...", "⋱": "\\", "·": "*", "→": "->", "←": "<-",
    "✓": "ok", "✗": "x", "≤": "<=", "≥": ">=", "−": "-", "—": "-", "–": "-", "⁰": "^0",
    "¹": "^1", "²": "^2", "³": "^3", "⁴": "^4", "⁵": "^5", "⁶": "^6", "⁷": "^7", "⁸": "^8",
    "⁹": "^9", "⎡": "[", "⎢": "[", "⎣": "[", "⎤": "]", "⎥": "]", "⎦": "]", "ᵀ": "^T",
    "▁": "_", "▂": ".", "▃": "-", "▄": "~", "▅": "=", "▆": "+", "▇": "*", "█": "#",
})


def encodes_unicode(out: TextIO) -> bool:
    encoding = (getattr(out, "encoding", None) or "utf-8").lower().replace("-", "")
    return encoding.startswith("utf")


def encodable(text: str, encoding: str) -> str:
    """text with what encoding cannot hold replaced: our symbols by ASCII, the rest by
    backslash escapes."""
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.translate(ASCII).encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text.translate(ASCII).encode("ascii", "backslashreplace").decode("ascii")


def write(text: str, out: TextIO | None = None) -> None:
    """text to out (standard output by default), whatever out can encode."""
    out = out or sys.stdout
    if not encodes_unicode(out):
        text = encodable(text, getattr(out, "encoding", None) or "ascii")
    out.write(text)


class _Encodable:
    """A stream for rich that writes only what the underlying stream can encode."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.encoding = getattr(out, "encoding", None) or "ascii"

    def write(self, text: str) -> int:
        return self._out.write(encodable(text, self.encoding))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)
