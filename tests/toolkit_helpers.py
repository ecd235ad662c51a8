"""Helpers for the toolkit's tests: a CLI runner with a fixed terminal, and random
expressions built together with their SymPy counterpart (so the oracle never goes through
our parser)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from hypothesis import strategies as st

ENV = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None, "TERM": "dumb"}
VARS = ("x", "y", "z")
SYM = {v: sp.Symbol(v, real=True) for v in VARS}


def invoke(*args: str, input: str | None = None) -> Any:
    """Run the CLI in-process: result.exit_code, .stdout, .stderr."""
    from typer.testing import CliRunner

    from autodiff_cli.cli import app

    return CliRunner(env=ENV).invoke(app, list(args), input=input)


@dataclass(frozen=True)
class Expr:
    text: str
    sym: Any  # the SymPy expression
    leaves: int


def _leaf() -> st.SearchStrategy[Expr]:
    variables = st.sampled_from(VARS).map(lambda v: Expr(v, SYM[v], 1))
    numbers = st.sampled_from([1, 2, 3, 5, 0.5, 1.5]).map(
        lambda c: Expr(repr(c), sp.Rational(str(c)) if isinstance(c, float) else sp.Integer(c),
                       1))
    return st.one_of(variables, variables, numbers)


UNARY: dict[str, Callable[[Any], Any]] = {
    "sin": sp.sin, "cos": sp.cos, "exp": sp.exp, "tanh": sp.tanh, "atan": sp.atan,
    "sigmoid": lambda a: 1 / (1 + sp.exp(-a)), "log": sp.log, "sqrt": sp.sqrt,
}


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    def unary(name: str, a: Expr) -> Expr:
        return Expr(f"{name}({a.text})", UNARY[name](a.sym), a.leaves)

    def binary(op: str, a: Expr, b: Expr) -> Expr:
        sym = {"+": a.sym + b.sym, "-": a.sym - b.sym, "*": a.sym * b.sym,
               "/": a.sym / b.sym}[op]
        return Expr(f"({a.text} {op} {b.text})", sym, a.leaves + b.leaves)

    def power(a: Expr, k: int) -> Expr:
        return Expr(f"({a.text})^{k}", a.sym ** k, a.leaves)

    return st.one_of(
        st.builds(unary, st.sampled_from(sorted(UNARY)), children),
        st.builds(binary, st.sampled_from("+-*/"), children, children),
        st.builds(power, children, st.sampled_from([2, 3])),
        children.map(lambda a: Expr(f"-{a.text}" if a.text[0] != "-" else f"-({a.text})",
                                    -a.sym, a.leaves)),
    )


expressions = st.recursive(_leaf(), _extend, max_leaves=7)
points = st.fixed_dictionaries({v: st.integers(-1500, 1500).map(lambda k: k / 1000 or 0.25)
                                for v in VARS})


def magnitudes(evaluation: Any) -> list[float]:
    """The sum over chain-rule paths of |product of local derivatives|, per node: the scale
    against which the rounding of a computed partial derivative is measured. Read from the
    recorded sweep's local derivatives, in the order it ran them."""
    from autodiff_cli.core import evaluate

    taped = evaluate(evaluation.prepared, tape=True)
    g = [0.0] * len(taped.graph)
    g[taped.graph.output] = 1.0
    for edge in taped.tape:
        if edge.contribution:  # a zero factor wins, as in the sweep: nan * 0 is 0
            g[edge.input] += abs(g[edge.node] * edge.local)
    return g


def ulps(a: float, b: float, scale: float) -> float:
    """|a - b| in units in the last place of scale."""
    return abs(a - b) / math.ulp(scale) if scale else (0.0 if a == b else math.inf)
