"""The grad report as a table, plain text and JSON data.

Scalars print as numbers; arrays as matrices (render/matrix.py). When the output is an
array, the gradients are of sum(output), or of sum(g * output) with g given by --seed-grad,
and every format says so.
"""

from __future__ import annotations

from typing import Any

from ..api import GradResult
from ..words import partial_symbol
from . import source_text
from .matrix import is_array, matrix_table, shape_text, to_json, to_plain
from .numbers import exact, human
from .table import Block, Table


def grad_json(r: GradResult) -> dict[str, Any]:
    data = {"expression": r.expression, "value": to_json(r.value),
            "at": {n: to_json(x) for n, x in r.at.items()},
            "gradient": {n: to_json(g) for n, g in r.gradient.items()}}
    if r.reduced:
        data["reduced"] = r.reduced
    if r.seed_grad is not None:
        data["seed_grad"] = to_json(r.seed_grad)
    return data


def _reduction(r: GradResult) -> str:
    return {"sum": "reduced by sum", "seed_grad": "reduced by --seed-grad"}.get(r.reduced, "")


def grad_plain(r: GradResult) -> str:
    lines = to_plain("value", r.value, _reduction(r)) if is_array(r.value) else [exact(r.value)]
    for name, g in r.gradient.items():
        lines += to_plain(name, g)
    return "\n".join(lines) + "\n"


def grad_table(r: GradResult, fancy: bool = False) -> list[Block]:
    """The source, the value, a table of the scalar gradients and a table per matrix."""
    f = r.output or "f"
    target = {"sum": f"sum({f})", "seed_grad": f"sum(g*{f})"}.get(r.reduced, f)
    parts: list[Block] = [source_text(r.expression)]
    if is_array(r.value):
        parts += ["", *matrix_table(f, r.value), reduction_note(f, r.value, r.seed_grad)]
    else:
        parts.append(f"{f} = {human(r.value)}")
        if r.seed_grad is not None:
            target = f"g*{f}"
            parts.append(reduction_note(f, r.value, r.seed_grad))
    scalars = [n for n, g in r.gradient.items() if not is_array(g)]
    if scalars or not r.gradient:
        parts += ["", Table(("variable", "value", partial_symbol(target, "variable")),
                            ("left", "right", "right"),
                            [(n, human(r.at[n]), human(r.gradient[n])) for n in scalars],
                            pad_edge=False)]
    for name, g in r.gradient.items():
        if is_array(g):
            parts += ["", *matrix_table(partial_symbol(target, name), g)]
    return parts


def reduction_note(f: str, value: Any, seed_grad: Any) -> str:
    """What the gradients are of, when that is not the output itself: sum(f) for an array
    output, sum(g*f) with g given by --seed-grad; for a scalar output with --seed-grad,
    g's value; "" otherwise."""
    if not is_array(value):
        return "" if seed_grad is None else f"g = {human(seed_grad)}, given by --seed-grad"
    shape = shape_text(value)
    if seed_grad is not None:
        return (f"{f} has shape {shape}: the gradients are of sum(g*{f}), "
                "with g given by --seed-grad")
    return (f"{f} has shape {shape}: the gradients are of sum({f}), "
            "the output reduced by its sum")
