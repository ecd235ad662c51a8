"""The hessian report: value, gradient and the matrix of second derivatives."""

from __future__ import annotations

from typing import Any

from ..higher import HessianResult
from ..words import mixed_symbol, partial_symbol
from . import source_text
from .numbers import exact, human


def hessian_json(r: HessianResult) -> dict[str, Any]:
    return {"expression": r.expression, "value": r.value, "at": dict(r.at),
            "gradient": dict(r.gradient),
            "hessian": {row: dict(cols) for row, cols in r.hessian.items()}}


def hessian_plain(r: HessianResult) -> str:
    """The value; then per variable its name, its partial and its row of the Hessian."""
    lines = [exact(r.value)]
    for name, g in r.gradient.items():
        lines.append(" ".join([name, exact(g), *(exact(h) for h in r.hessian[name].values())]))
    return "\n".join(lines) + "\n"


def hessian_table(r: HessianResult, fancy: bool) -> Any:
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    f = r.output or "f"

    def table() -> Table:
        return Table(box=box.SIMPLE_HEAD if fancy else None, show_edge=False,
                     header_style="bold" if fancy else "", pad_edge=False)

    grad = table()
    grad.add_column("variable")
    grad.add_column("value", justify="right")
    grad.add_column(partial_symbol(f, "variable"), justify="right")
    for name, g in r.gradient.items():
        grad.add_row(Text(name), human(r.at[name]), human(g))
    matrix = table()
    matrix.add_column(mixed_symbol(f, "row", "column"))
    for name in r.hessian:
        matrix.add_column(Text(name), justify="right")
    for name, cols in r.hessian.items():
        matrix.add_row(Text(name), *(human(h) for h in cols.values()))
    return Group(Text(source_text(r.expression)), Text(f"{f} = {human(r.value)}"), Text(""), grad,
                 Text(""), matrix)
