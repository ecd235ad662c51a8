"""The hessian report: value, gradient and the matrix of second derivatives."""

from __future__ import annotations

from typing import Any

from ..higher import HessianResult
from ..words import mixed_symbol, partial_symbol
from . import source_text
from .numbers import exact, human
from .table import Block, Table


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


def hessian_table(r: HessianResult, fancy: bool = False) -> list[Block]:
    f = r.output or "f"
    grad = Table(("variable", "value", partial_symbol(f, "variable")), ("left", "right", "right"),
                 [(name, human(r.at[name]), human(g)) for name, g in r.gradient.items()],
                 pad_edge=False)
    matrix = Table((mixed_symbol(f, "row", "column"), *r.hessian),
                   ("left", *("right",) * len(r.hessian)),
                   [(name, *(human(h) for h in cols.values())) for name, cols in r.hessian.items()],
                   pad_edge=False)
    return [source_text(r.expression), f"{f} = {human(r.value)}", "", grad, "", matrix]
