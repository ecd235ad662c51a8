"""The diff report: each partial derivative as an expression in our language (a program
with named parts when expanded it would be too long), as LaTeX, or both in JSON."""

from __future__ import annotations

from typing import Any

from ..symbolic import Derivative
from ..words import partial_symbol
from .expr import derivative_lines, part_names, program_lines
from .latex import latex_name, node_latex, to_latex


def lines_of(d: Derivative, name: str, expand: bool = False) -> list[tuple[str, str]]:
    return derivative_lines(d.graph, d.nodes[name], expand, reserved=[d.output or "f"])


def program_text(lines: list[tuple[str, str]]) -> str:
    return "\n".join(f"{n} = {t}" if n else t for n, t in lines)


def diff_text(d: Derivative, expand: bool = False) -> str:
    """One variable: its derivative alone (it parses back). Several: each after a comment
    line naming it."""
    if len(d.nodes) == 1:
        return program_text(lines_of(d, next(iter(d.nodes)), expand)) + "\n"
    f = d.output or "f"
    blocks = [f"# {partial_symbol(f, name, d.order)}\n{program_text(lines_of(d, name, expand))}"
              for name in d.nodes]
    return "\n".join(blocks) + "\n"


def latex_partial(f: str, x: str, order: int) -> str:
    f, x = latex_name(f), latex_name(x)
    if order == 1:
        return rf"\frac{{\partial {f}}}{{\partial {x}}}"
    return rf"\frac{{\partial^{{{order}}} {f}}}{{\partial {x}^{{{order}}}}}"


def latex_lines(d: Derivative, name: str, expand: bool = False) -> list[str]:
    f = d.output or "f"
    root = d.nodes[name]
    if len(lines_of(d, name, expand)) == 1:
        lines = [("", to_latex(d.graph, root))]
    else:
        names = part_names(d.graph, root, [f])
        lines = program_lines(d.graph, root, names, node_latex, latex_name)
    return [f"{n} = {t}" for n, t in lines[:-1]] + \
        [f"{latex_partial(f, name, d.order)} = {lines[-1][1]}"]


def diff_latex(d: Derivative, expand: bool = False) -> str:
    return "\n".join(line for name in d.nodes for line in latex_lines(d, name, expand)) + "\n"


def diff_json(d: Derivative, expand: bool = False) -> dict[str, Any]:
    return {"expression": d.expression, "order": d.order,
            "derivative": {n: program_text(lines_of(d, n, expand)) for n in d.nodes},
            "latex": {n: "\n".join(latex_lines(d, n, expand)) for n in d.nodes}}
