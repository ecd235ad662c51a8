"""A graph node as LaTeX: \\frac for division, ^{...} for powers, \\cdot for products,
functions from the op table (Op.latex). Iterative, like render/expr.py, whose walk it shares."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..engine import Graph
from ..ops import CONST, CONSTANTS, VAR
from .expr import ATOM, UNARY, Texts, bare_operands, walk
from .numbers import exact

GREEK = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi",
         "psi", "omega"]
_UNICODE_GREEK = dict(zip("αβγδεζηθικλμνξπρστυφχψω", GREEK, strict=True))
_PLACE = re.compile(r"\{(\()?([xy])\)?\}")  # {x} or {(x)} in an op's template: one pass
_NAME = re.compile(r"([^\W\d_]+)(\d*)(?:_(\w+))?\Z")


def to_latex(graph: Graph, root: int, names: Mapping[int, str] | None = None) -> str:
    """The LaTeX of node root; nodes in `names` print as those names."""
    shown = {i: latex_name(n) for i, n in (names or {}).items()}
    text = walk(graph, root, node_latex, shown)
    assert text is not None
    return text


def latex_name(name: str) -> str:
    """x -> x, x1 -> x_{1}, w_12 -> w_{12}, theta and θ -> \\theta, lr -> \\mathit{lr}."""
    m = _NAME.match(name)
    if not m:
        return rf"\mathit{{{name}}}"
    base, digits, sub = m.groups()
    base = _UNICODE_GREEK.get(base, base)
    if base in GREEK:
        base = "\\" + base
    elif len(base) > 1:
        base = rf"\mathit{{{base}}}"
    sub = sub or digits
    return f"{base}_{{{sub}}}" if sub else base


def number(value: float) -> str:
    text = exact(value)
    if "e" not in text:
        return text
    mantissa, power = text.split("e")
    power_text = f"10^{{{int(power)}}}"
    return power_text if mantissa == "1" else rf"{mantissa} \cdot {power_text}"


def node_latex(graph: Graph, i: int, done: Texts) -> tuple[str, int]:
    op = graph.ops[i]
    if op is VAR:
        return latex_name(graph.labels[i]), ATOM
    if op is CONST:
        label, value = graph.labels[i], graph.consts[i]
        if label in CONSTANTS and CONSTANTS[label] == value:
            return (r"\pi" if label == "pi" else label), ATOM
        text = number(value)
        return text, (3 if text.startswith("-") else ATOM)
    parts = [done[a] for a in graph.args[i]]
    texts = [t for t, _ in parts]
    if op.latex:
        return _filled(op.latex, op.latex_precedence, parts, graph.ops[graph.args[i][0]] is CONST)
    if op.is_function:
        return rf"\operatorname{{{op.written}}}\left({', '.join(texts)}\right)", ATOM
    p = op.precedence
    if len(parts) == 1:
        (text, q), = parts
        return "-" + (paren(text) if q < 2 else text), p
    (left, lp), (right, rp) = parts
    if op.grouping == "right":  # a power: its exponent is raised, so needs no parentheses
        return f"{paren(left) if lp < ATOM else left}^{{{right}}}", p
    left_bare, right_bare = bare_operands(op, lp, rp)
    left = left if left_bare else paren(left)
    if not right_bare or (p == 2 and rp == UNARY):  # a \cdot \left(-b\right)
        right = paren(right)
    symbol = r"\cdot" if op.symbol in ("*", "@") else op.symbol
    return f"{left} {symbol} {right}", p


def _filled(template: str, binds: int, parts: list[tuple[str, int]],
            first_is_number: bool) -> tuple[str, int]:
    """An op row's LaTeX template with its inputs put in: {x}, {y} as they are, {(x)} in
    parentheses if it binds more weakly than the template. A fraction of a negative number
    puts the sign in front: -\\frac{2}{3}."""
    if first_is_number and parts[0][0].startswith("-") and template.startswith(r"\frac{{x}}"):
        text, binds = _filled(template, binds, [(parts[0][0][1:], ATOM), *parts[1:]], False)
        return "-" + text, UNARY
    def put(m: re.Match[str]) -> str:
        text, q = parts["xy".index(m[2])]
        return paren(text) if m[1] and q < binds else text

    return _PLACE.sub(put, template), binds


def paren(text: str) -> str:
    return rf"\left({text}\right)"
