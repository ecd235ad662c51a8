"""The one table system. A renderer returns a report as a list of blocks: `Table`s and `Prose`
(a line or paragraph of text). `lay_out` sets them on a page of a given width for a pipe or a
file, without importing rich (which costs more start-up than the whole computation); `to_rich`
gives the same blocks to rich for a terminal, with box art and colour.

Nothing is ever cut or split: a table wider than the page is cut into column groups (the
columns that name a row repeated in each), and where one column beside them does not fit,
each row becomes a list of its own (header, cell); prose wraps between words, a program
between its statements, a long expression after an operator. No line ends in a space."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple


class Styled(str):
    """A cell or a text with a style for a terminal ("bold red"); a plain str elsewhere."""

    style: str = ""


def styled(text: str, style: str) -> str:
    out = Styled(text)
    out.style = style
    return out


class Table(NamedTuple):  # not a dataclass: making one costs start-up time
    headers: tuple[str, ...]
    justify: tuple[str, ...]  # "left" or "right", per column
    rows: Sequence[tuple[str, ...]]
    title: str = ""
    caption: str = ""
    above: tuple[str, ...] = ()  # lines of text printed before the table
    pad_edge: bool = True  # a space before the first column and after the last
    key: int = 1  # leading columns that name a row: repeated beside each column group


class Prose(NamedTuple):
    """Text to wrap at the page's width: "words" between words (continuation lines indented
    two more than the first), "parts" between the '; '-separated parts of a program (one
    part per line, under the first, once it does not fit), "none" never (a sparkline, a
    drawing)."""

    text: str
    style: str = ""
    wrap: str = "words"
    spans: tuple[tuple[int, int, str], ...] = ()  # (start, end, style) for a terminal


Block = Table | Prose | str  # a str is Prose(str)
GAP = 2  # rich's padding: a space after a column and one before the next


def blocks_of(report: Any) -> list[Block]:
    return list(report) if isinstance(report, list) else [report]


# -- a page without rich --------------------------------------------------------------------

def lay_out(report: Block | Sequence[Block], width: int, encoding: str | None = None) -> str:
    """The text of the blocks on a page `width` columns wide; with an encoding that is not
    UTF, every text made encodable first (∂ -> d), so that columns stay aligned."""
    from . import encodable
    from .errors import printable

    def clean(text: str) -> str:
        text = printable(text)
        return text if encoding is None else encodable(text, encoding)

    lines: list[str] = []
    for block in blocks_of(report):
        if isinstance(block, Table):  # cleaned first: widths are measured on what is shown
            block = block._replace(
                headers=tuple(map(clean, block.headers)),
                rows=[tuple(map(clean, row)) for row in block.rows],
                title=clean(block.title), caption=clean(block.caption),
                above=tuple(map(clean, block.above)))
            for part in fit(block, width):
                if isinstance(part, Prose):
                    lines += wrap(part.text, width, part.wrap)
                else:
                    lines += _table_lines(part, width)
        else:
            prose = block if isinstance(block, Prose) else Prose(block)
            for line in printable(prose.text, newlines=True).split("\n"):
                lines += wrap(clean(line), width, prose.wrap)
    return "".join(line.rstrip() + "\n" for line in lines)


def wrap(text: str, width: int, how: str = "words") -> list[str]:
    """One line of text as lines of at most width columns where it can be broken: never
    inside a word or a number."""
    if how == "none" or cells(text) <= width:
        return [text]
    indent = text[:len(text) - len(text.lstrip(" "))]
    if how == "parts" and "; " in text:
        label, sep, rest = text.partition(": ")
        if not sep or " " in label:
            label, rest = "", text
        head = f"{indent}{label}{sep}" if label else indent
        under = " " * cells(head)
        parts = rest.strip().split("; ")
        out: list[str] = []
        for i, part in enumerate(parts):
            part += ";" if i < len(parts) - 1 else ""
            out += wrap((head if i == 0 else under) + part, width)
        return out
    under = indent + "  "
    out, line = [], ""
    for piece in _pieces(text, width - len(under)):
        if line.strip() and cells((line + piece).rstrip()) > width:
            out.append(line.rstrip())
            line = under + piece.lstrip()
        else:
            line += piece
    return [*out, line.rstrip()]


BREAK = re.compile(r"(?<![0-9.][eE])[-+](?=.)|[*/^,;)=](?=.)")  # not inside 1e-5


def _pieces(text: str, room: int) -> list[str]:
    """text cut after each space, and a word too long for a line also after its operators
    (never inside a name or a number): the places a line may break."""
    out = []
    for word in re.findall(r"\S+\s*|\s+", text):
        if cells(word.rstrip()) <= room:
            out.append(word)
            continue
        start = 0
        for m in BREAK.finditer(word):
            out.append(word[start:m.end()])
            start = m.end()
        out.append(word[start:])
    return [p for p in out if p]


def _table_lines(t: Table, width: int) -> list[str]:
    widths = _widths(t)
    left = [" "] * len(widths)
    right = [" "] * len(widths)
    if not t.pad_edge:
        left[0] = right[-1] = ""
    lines = [*(line for text in t.above for line in wrap(text, width))]
    if t.title:
        lines += wrap(t.title, width)
    for row in (t.headers, *t.rows):
        lines.append("".join(
            a + _pad(cell.rstrip() if j == "right" else cell, w, j) + b
            for cell, w, j, a, b in zip(row, widths, t.justify, left, right, strict=True)))
    if t.caption:
        lines += wrap(t.caption, width)
    return lines


def _pad(cell: str, w: int, justify: str) -> str:
    room = " " * max(0, w - cells(cell))
    return room + cell if justify == "right" else cell + room


def _widths(t: Table) -> list[int]:
    widths = [max(map(cells, column)) for column in zip(t.headers, *t.rows, strict=True)]
    if len(widths) == 1 and not t.pad_edge:  # rich gives a column at least one cell
        widths[0] = max(1, widths[0])
    return widths


def table_width(t: Table) -> int:
    widths = _widths(t)
    return sum(widths) + GAP * (len(widths) - 1) + (2 if t.pad_edge else 0)


# -- tables wider than the page -------------------------------------------------------------

def fit(t: Table, width: int) -> list[Table | Prose]:
    """The table as it fits `width`: itself, or its columns in groups beside its key
    columns, or (where not even one column fits beside them) a list per row."""
    if table_width(t) <= width:
        return [t]
    if t.pad_edge:  # first give up the margins
        return fit(t._replace(pad_edge=False), width)
    key = list(range(min(t.key, len(t.headers) - 1)))
    if not key:
        return [t]
    columns = list(range(len(key), len(t.headers)))
    groups: list[list[int]] = []
    for j in columns:
        trial = [*key, *(groups[-1][len(key):] if groups else []), j]
        if groups and table_width(_columns(t, trial)) <= width:
            groups[-1].append(j)
        else:
            groups.append([*key, j])
    if any(table_width(_columns(t, g)) > width for g in groups):
        return _records(t)
    size = -(-len(columns) // len(groups))  # as many columns in each group as can be
    even = [[*key, *columns[i:i + size]] for i in range(0, len(columns), size)]
    if len(even) == len(groups) and all(table_width(_columns(t, g)) <= width for g in even):
        groups = even
    out: list[Table | Prose] = []
    for i, group in enumerate(groups):
        part = _columns(t, group)
        out.append(part._replace(title=t.title if i == 0 else "",
                                 above=t.above if i == 0 else (),
                                 caption=t.caption if i == len(groups) - 1 else ""))
        if i < len(groups) - 1:
            out.append(Prose(""))
    return out


def _columns(t: Table, keep: Iterable[int]) -> Table:
    keep = list(keep)
    return t._replace(headers=tuple(t.headers[j] for j in keep),
                      justify=tuple(t.justify[j] for j in keep),
                      rows=[tuple(row[j] for j in keep) for row in t.rows])


def _records(t: Table) -> list[Table | Prose]:
    """Each row as its first cell, then its other cells under their headers, indented."""
    out: list[Table | Prose] = [Prose(line) for line in (*t.above, t.title) if line]
    room = max(map(cells, t.headers[1:]))
    if not t.rows:  # only the headers, and they do not fit side by side
        out.append(Prose("  ".join(h for h in t.headers if h)))
    for row in t.rows:
        out.append(Prose(f"{t.headers[0]} {row[0]}".strip()))
        out += [Prose(f"  {h}{' ' * (room - cells(h))}  {c}")
                for h, c in zip(t.headers[1:], row[1:], strict=True)]
    if t.caption:
        out.append(Prose(t.caption))
    return out


def cells(text: str) -> int:
    from .errors import cells as count

    return count(text)


# -- a terminal, through rich ---------------------------------------------------------------

def to_rich(report: Block | Sequence[Block], fancy: bool, width: int = 10**6) -> Any:
    """The blocks for rich: box art and a bold header for a terminal, neither otherwise;
    tables fitted to `width` less the box's edges."""
    from rich import box
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    def text(s: str, style: str = "") -> Any:
        return Text(s, style=(getattr(s, "style", "") or style) if fancy else "")

    def table(t: Table) -> Any:
        out = RichTable(title=text(t.title), title_justify="left",
                        caption=text(t.caption), caption_justify="left",
                        box=box.SIMPLE_HEAD if fancy else None, show_edge=fancy,
                        header_style="bold" if fancy else "", pad_edge=t.pad_edge)
        for header, justify in zip(t.headers, t.justify, strict=True):
            out.add_column(text(header), justify=justify)  # type: ignore[arg-type]
        for row in t.rows:
            out.add_row(*(text(cell) for cell in row))
        return Group(*(text(line) for line in t.above), out) if t.above else out

    parts: list[Any] = []
    for block in blocks_of(report):
        if isinstance(block, Table):
            for part in fit(block, width - (2 if fancy else 0)):
                parts.append(table(part) if isinstance(part, Table) else
                             text(part.text, part.style))
        elif isinstance(block, Prose):
            out = Text(block.text, style=block.style if fancy else "",
                       no_wrap=block.wrap == "none", overflow="ignore" if block.wrap == "none"
                       else None)
            for start, end, style in block.spans if fancy else ():
                out.stylize(style, start, end)
            parts.append(out)
        else:
            parts.append(text(block))
    return parts[0] if len(parts) == 1 else Group(*parts)
