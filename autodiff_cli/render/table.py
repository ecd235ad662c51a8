"""Tables as data. Renderers build a `Table`; rich lays it out for a terminal, and for a pipe
or a file `plain_text` lays it out by rich's own rules without importing rich (which costs
more start-up than the whole computation). Where those rules get involved (wrapping, wide or
combining characters, a table wider than the page) it declines and rich does the work, so the
text is always exactly what rich prints without colour and box."""

from __future__ import annotations

from typing import Any, NamedTuple


class Table(NamedTuple):  # not a dataclass: making one costs start-up time
    headers: tuple[str, ...]
    justify: tuple[str, ...]  # "left" or "right", per column
    rows: list[tuple[str, ...]]
    title: str = ""
    caption: str = ""
    above: tuple[str, ...] = ()  # lines of text printed before the table
    pad_edge: bool = True  # a space before the first column and after the last


def to_rich(table: Table, fancy: bool) -> Any:
    """The rich table: box art and a bold header for a terminal, neither otherwise."""
    from rich import box
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    out = RichTable(title=Text(table.title), title_justify="left",
                    caption=Text(table.caption), caption_justify="left",
                    box=box.SIMPLE_HEAD if fancy else None, show_edge=fancy,
                    header_style="bold" if fancy else "", pad_edge=table.pad_edge)
    for header, justify in zip(table.headers, table.justify, strict=True):
        out.add_column(Text(header), justify=justify)  # type: ignore[arg-type]
    for row in table.rows:
        out.add_row(*(Text(cell) for cell in row))
    return Group(*(Text(line) for line in table.above), out) if table.above else out


def plain_text(table: Table, width: int) -> str | None:
    """What rich prints for to_rich(table, fancy=False) on a page `width` columns wide, or
    None where only rich knows (see the module docstring)."""
    cells = [table.title, table.caption, *table.above, *table.headers,
             *(c for r in table.rows for c in r)]
    if not all(map(_one_cell_each, cells)) or any(len(line) > width for line in table.above):
        return None
    widths = [max(len(c) for c in column) for column in zip(table.headers, *table.rows,
                                                           strict=True)]
    left = [" "] * len(widths)
    right = [" "] * len(widths)
    if not table.pad_edge:
        left[0] = right[-1] = ""
    # rich gives every column at least one cell, padding included
    widths = [w if w or a or b else 1 for w, a, b in zip(widths, left, right, strict=True)]
    total = sum(widths) + sum(map(len, left)) + sum(map(len, right))
    if total > width or len(table.title) > total or len(table.caption) > total:
        return None
    lines = list(table.above)
    if table.title:
        lines.append(table.title.ljust(total))
    for row in (table.headers, *table.rows):
        lines.append("".join(
            a + (cell.ljust(w) if j == "left" else cell.rstrip().rjust(w)) + b
            for cell, w, j, a, b in zip(row, widths, table.justify, left, right, strict=True)))
    if table.caption:
        lines.append(table.caption.ljust(total))
    return "\n".join(lines) + "\n"


def _one_cell_each(text: str) -> bool:
    """Whether every character is printable, takes one terminal cell and cannot combine with
    its neighbours (Latin, Greek, Cyrillic letters, the mathematical operators), so that
    len() is the width rich measures and no line needs wrapping."""
    return text.isprintable() and all(
        c < "\u0300" or "\u0370" <= c < "\u0483" or "\u2200" <= c < "\u2300" or c in _NARROW
        for c in text)


_NARROW = "…ᵀ⎡⎢⎣⎤⎥⎦"  # an ellipsis, a transpose, a matrix's brackets: one cell each too
