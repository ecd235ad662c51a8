"""The grad report as a rich table, plain text and JSON data.

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
from .table import Table


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


def grad_table(r: GradResult, fancy: bool) -> Any:
    """A Table (laid out without rich for a pipe) when everything is a scalar; rich's
    renderables when there are matrices to draw."""
    f = r.output or "f"
    target = {"sum": f"sum({f})", "seed_grad": f"sum(g*{f})"}.get(r.reduced, f)
    if not is_array(r.value) and not any(map(is_array, r.gradient.values())):
        above = [source_text(r.expression), f"{f} = {human(r.value)}"]
        if r.seed_grad is not None:
            target = f"g*{f}"
            above.append(reduction_note(f, r.value, r.seed_grad))
        return _scalars(r, list(r.gradient), target)._replace(above=(*above, ""))
    return _matrices(r, f, target, fancy)


def _scalars(r: GradResult, names: list[str], target: str) -> Table:
    return Table(("variable", "value", partial_symbol(target, "variable")),
                 ("left", "right", "right"),
                 [(n, human(r.at[n]), human(r.gradient[n])) for n in names], pad_edge=False)


def _matrices(r: GradResult, f: str, target: str, fancy: bool) -> Any:
    from rich.console import Group
    from rich.text import Text

    from .table import to_rich

    parts: list[Any] = [Text(source_text(r.expression))]
    if is_array(r.value):
        parts += [Text(""), matrix_table(f, r.value, fancy),
                  Text(reduction_note(f, r.value, r.seed_grad))]
    else:
        parts.append(Text(f"{f} = {human(r.value)}"))
        if r.seed_grad is not None:
            target = f"g*{f}"
            parts.append(Text(reduction_note(f, r.value, r.seed_grad)))
    scalars = [n for n, g in r.gradient.items() if not is_array(g)]
    if scalars or len(scalars) == len(r.gradient):
        parts += [Text(""), to_rich(_scalars(r, scalars, target), fancy)]
    for name, g in r.gradient.items():
        if is_array(g):
            parts += [Text(""), matrix_table(partial_symbol(target, name), g, fancy)]
    return Group(*parts)


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
