"""Arrays for people and for scripts: a labelled table, plain rows, JSON data.

A scalar stays a plain number everywhere; an array is written as
  JSON   {"shape": [4, 3], "data": [[...], ...]}  (nested lists, full precision)
  plain  a header line "NAME (4x3)", then one line per row, numbers separated by spaces
  table  a table titled "NAME (4x3)", rows and columns numbered from 0; big arrays
         show their first and last rows and columns around a "⋯".
  cell   a small array (at most 4x4) inside another table: rows of numbers in brackets.
Arrays of three or more dimensions are written as rows of their last axis.
numpy is imported only when an array is there (it is then imported already).
"""

from __future__ import annotations

from typing import Any

from .numbers import exact, human
from .table import Block, Table

EDGE_ROWS = 5  # rows shown at each end of a tall array
EDGE_COLS = 3  # columns shown at each end of a wide one
SMALL_SIDE = 4  # vectors and matrices up to 4x4 (16 entries) print their values in a cell


def is_array(x: Any) -> bool:
    return not isinstance(x, (int, float))


def shape_text(x: Any) -> str:
    """(4x3), (4), or scalar: the notation of error messages."""
    if not is_array(x):
        return "scalar"
    from ..arrays import shape_text as text

    return text(x)


def to_json(x: Any) -> Any:
    """A number, or {"shape": [...], "data": nested lists}."""
    if not is_array(x):
        return x
    if x.ndim == 0:
        return float(x)
    return {"shape": list(x.shape), "data": x.tolist()}


def is_small(x: Any) -> bool:
    """Whether x is a vector or matrix small enough to print inside a table cell."""
    if not is_array(x):
        return False
    shape = x.shape
    return 1 <= len(shape) <= 2 and all(1 <= n <= SMALL_SIDE for n in shape)


_LEFT, _RIGHT = ("⎡", "⎢", "⎣"), ("⎤", "⎥", "⎦")


def matrix_lines(x: Any) -> list[str]:
    """A small array as lines of text: [1  2  3] for a vector or a single row, a bracketed
    block for a matrix, columns aligned on the right."""
    cells = [[human(v + 0.0) for v in row] for row in _rows(x).tolist()]  # never -0
    widths = [max(len(row[c]) for row in cells) for c in range(len(cells[0]))]
    body = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    if len(body) == 1:
        return [f"[{body[0]}]"]
    sides = [0] + [1] * (len(body) - 2) + [2]
    return [f"{_LEFT[s]}{line}{_RIGHT[s]}" for s, line in zip(sides, body, strict=True)]


def _rows(x: Any) -> Any:
    """x as a 2-D array of rows: a vector is one row."""
    import numpy as np

    a = np.asarray(x, dtype=float)
    return a.reshape(1, -1) if a.ndim <= 1 else a.reshape(-1, a.shape[-1])


def to_plain(name: str, x: Any, note: str = "") -> list[str]:
    """["name number"] for a scalar; a header and one line per row for an array."""
    if not is_array(x):
        return [f"{name} {exact(x)}"]
    header = f"{name} {shape_text(x)}" + (f" {note}" if note else "")
    return [header, *(" ".join(exact(v) for v in row) for row in _rows(x).tolist())]


def _shown(n: int, edge: int) -> list[int | None]:
    """Indices to show of n, None where the middle is left out."""
    if n <= 2 * edge + 1:
        return list(range(n))
    return [*range(edge), None, *range(n - edge, n)]


def matrix_table(title: str, x: Any) -> list[Block]:
    """A table of an array, its rows and columns numbered (row labels i or i,j,...)."""
    import numpy as np

    a = np.asarray(x, dtype=float)
    rows = _rows(a)
    lead = a.shape[:-1] if a.ndim > 1 else ()
    cols = _shown(rows.shape[1], EDGE_COLS)
    body: list[tuple[str, ...]] = []
    for r in _shown(rows.shape[0], EDGE_ROWS):
        if r is None:
            body.append(("⋮", *("⋮" if c is not None else "⋱" for c in cols)))
            continue
        label = ",".join(map(str, np.unravel_index(r, lead))) if lead else ""
        body.append((label, *("⋯" if c is None else human(float(rows[r, c])) for c in cols)))
    table = Table(("", *("⋯" if c is None else str(c) for c in cols)),
                  ("left", *("right",) * len(cols)), body, pad_edge=False)
    parts: list[Block] = [f"{title} {shape_text(x)}", table]
    if rows.shape[0] > 2 * EDGE_ROWS + 1 or rows.shape[1] > 2 * EDGE_COLS + 1:
        parts.append("(corners only: --format plain or json prints every entry)")
    return parts
