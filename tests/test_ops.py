"""The primitive table, one row at a time: parametrised over OPS, so a new row gets tests.

Local derivatives are read through the public graph (compile, forward, local), never from
the table's own derivative functions.
"""

from __future__ import annotations

import math

import pytest

from autodiff_cli import compile
from autodiff_cli.ops import CONSTANTS, FUNCTIONS, OPS, Op

# In-domain points per op, away from kinks and jumps. Ops without a row here are tried at
# DEFAULT_POINTS (those where the forward function fails are dropped).
POINTS: dict[str, list[tuple[float, ...]]] = {
    "add": [(3.0, 2.0), (-1.5, 0.25)],
    "sub": [(3.0, 2.0), (-1.5, 0.25)],
    "mul": [(3.0, 2.0), (-1.5, 0.25)],
    "div": [(3.0, 2.0), (-1.5, 0.25), (1.0, -4.0)],
    "pow": [(3.0, 2.0), (0.5, -1.5), (2.0, 0.5), (1.7, 3.3)],
    "neg": [(0.3,), (-2.0,)],
    "sin": [(0.3,), (-2.0,), (5.0,)],
    "cos": [(0.3,), (-2.0,), (5.0,)],
    "tan": [(0.3,), (-1.2,), (2.0,)],
    "asin": [(0.3,), (-0.9,)],
    "acos": [(0.3,), (-0.9,)],
    "atan": [(0.3,), (-2.0,), (10.0,)],
    "atan2": [(1.0, 2.0), (-0.5, -3.0), (2.0, -1.0)],
    "sinh": [(0.3,), (-2.0,)],
    "cosh": [(0.3,), (-2.0,)],
    "tanh": [(0.3,), (-2.0,)],
    "exp": [(0.3,), (-2.0,), (3.0,)],
    "log": [(0.3,), (2.0,), (50.0,)],
    "logb": [(8.0, 2.0), (0.3, 10.0), (5.0, 0.5)],
    "log2": [(0.3,), (8.0,)],
    "log10": [(0.3,), (1000.0,)],
    "sqrt": [(0.3,), (4.0,)],
    "abs": [(0.3,), (-2.0,)],
    "sigmoid": [(0.3,), (-2.0,), (4.0,)],
    "relu": [(0.3,), (-2.0,)],
    "softplus": [(0.3,), (-2.0,), (4.0,)],
    "sign": [(0.3,), (-2.0,)],
    "step": [(0.3,), (-2.0,)],
    "max": [(3.0, 2.0), (-1.0, 0.5)],
    "min": [(3.0, 2.0), (-1.0, 0.5)],
}
DEFAULT_POINTS = {1: [(0.3,), (0.7,), (-0.4,)], 2: [(0.3, 0.8), (1.7, 0.6), (-0.4, 2.0)]}

NAMES = "xy"


def written(op: Op) -> str:
    """The op applied to the names x (and y), as a user writes it."""
    if op.symbol:
        return f"x {op.symbol} y" if op.arity == 2 else f"{op.symbol}x"
    return f"{op.written}({', '.join(NAMES[: op.arity])})"


def program(op: Op, point: tuple[float, ...]) -> str:
    """x and y are assigned, not literals, so '-x' is a neg node and not the number -3."""
    binds = "; ".join(f"{n} = {v!r}" for n, v in zip(NAMES, point, strict=False))
    return f"{binds}; {written(op)}"


def points(op: Op) -> list[tuple[float, ...]]:
    if op.name in POINTS:
        return POINTS[op.name]
    usable = []
    for p in DEFAULT_POINTS[op.arity]:
        try:
            if math.isfinite(op.forward(*p)):
                usable.append(p)
        except (ArithmeticError, ValueError):
            pass
    return usable


# Element-wise ops work on floats; the others (matmul, sum, randn, ...) are array ops,
# tested against finite differences on arrays in test_matrices.py.
ELEMENTWISE = {name: op for name, op in OPS.items() if not op.vjp}


def cases() -> list[object]:
    return [pytest.param(op, p, id=f"{name}{p}")
            for name, op in ELEMENTWISE.items() for p in points(op)]


def at(op: Op, point: tuple[float, ...]) -> tuple[object, int]:
    """The graph of `op` applied at point, evaluated; and the node of op."""
    graph = compile(program(op, point), []).at({})
    value = graph.forward()
    node = graph.graph.output
    assert graph.graph.ops[node] is op, written(op)
    assert value == pytest.approx(op.forward(*point), rel=1e-15)
    return graph, node


def test_every_op_has_points() -> None:
    assert all(points(op) for op in ELEMENTWISE.values())


def test_table_is_consistent() -> None:
    for name, op in OPS.items():
        assert op.name == name
        assert len(op.rules) == op.arity, name
        if op.is_function:
            assert FUNCTIONS[op.written][op.arity] is op, name
    assert set(CONSTANTS) == {"pi", "e"}
    assert CONSTANTS["pi"] == math.pi
    assert CONSTANTS["e"] == math.e


@pytest.mark.parametrize(("op", "point"), cases())
def test_local_derivative_matches_central_difference(op: Op, point: tuple[float, ...]) -> None:
    graph, node = at(op, point)
    for k in range(op.arity):
        h = 1e-6 * max(1.0, abs(point[k]))
        up, down = list(point), list(point)
        up[k] += h
        down[k] -= h
        numeric = (op.forward(*up) - op.forward(*down)) / (2 * h)
        assert graph.local(node, k) == pytest.approx(numeric, rel=1e-6, abs=1e-7), k


@pytest.mark.parametrize(("op", "point"), cases())
def test_rules_give_the_local_derivative(op: Op, point: tuple[float, ...]) -> None:
    """Each rule, an expression over x, y (the inputs) and z (the output), read by our own
    parser, gives the number graph.local gives."""
    graph, node = at(op, point)
    z = op.forward(*point)
    binds = dict(zip(NAMES, point, strict=False))
    binds.setdefault("y", 0.0)
    binds["z"] = z
    prefix = "; ".join(f"{n} = {v!r}" for n, v in binds.items())
    for k, rule in enumerate(op.rules):
        rule_value = compile(f"{prefix}; {rule}", []).at({}).forward()
        assert rule_value == pytest.approx(graph.local(node, k), rel=1e-12, abs=1e-15), rule


@pytest.mark.parametrize("op", list(OPS.values()), ids=list(OPS))
def test_every_op_is_reachable_from_the_language(op: Op) -> None:
    graph = compile(written(op), NAMES[: op.arity])
    assert graph.ops[graph.output] is op


# The course's primitive operations, at a = 3, b = 2:
# z = a + b: 1, 1;  z = a - b: 1, -1;  z = a*b: b, a;  z = a/b: 1/b, -a/b^2.
SEED_LOCALS = {
    "a + b": (1.0, 1.0),
    "a - b": (1.0, -1.0),
    "a * b": (2.0, 3.0),
    "a / b": (0.5, -0.75),
}


@pytest.mark.parametrize(("expr", "expected"), list(SEED_LOCALS.items()))
def test_seed_local_derivatives(expr: str, expected: tuple[float, float]) -> None:
    graph = compile(f"a = 3; b = 2; {expr}", []).at({})
    graph.forward()
    out = graph.graph.output
    assert (graph.local(out, 0), graph.local(out, 1)) == expected


@pytest.mark.parametrize(
    ("expr", "point", "expected"),
    [
        ("abs(x)", (0.0,), 0.0),  # 0 at the kink, as the table's note says
        ("relu(x)", (0.0,), 0.0),
        ("sign(x)", (0.0,), 0.0),
        ("step(x)", (0.0,), 0.0),
        ("x^y", (0.0, 2.5), 0.0),  # d/dy x^y -> 0 as x -> 0+
    ],
)
def test_local_derivative_at_documented_edges(expr: str, point: tuple[float, ...],
                                              expected: float) -> None:
    binds = "; ".join(f"{n} = {v!r}" for n, v in zip(NAMES, point, strict=False))
    graph = compile(f"{binds}; {expr}", []).at({})
    graph.forward()
    k = len(point) - 1
    assert graph.local(graph.graph.output, k) == expected


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_split_the_derivative_at_a_tie(name: str) -> None:
    graph = compile(f"x = 1.5; y = 1.5; {name}(x, y)", []).at({})
    graph.forward()
    out = graph.graph.output
    assert (graph.local(out, 0), graph.local(out, 1)) == (0.5, 0.5)


# -- what the printers and the budget read from a row -----------------------------------


@pytest.mark.parametrize(("source", "printed"), [
    ("a - (b - c)", "a - (b - c)"), ("(a - b) - c", "a - b - c"),
    ("a + (b + c)", "a + b + c"), ("a*(b*c)", "a*b*c"), ("a/(b/c)", "a/(b/c)"),
    ("a^(b^c)", "a^b^c"), ("(a^b)^c", "(a^b)^c"), ("a^(-b)", "a^-b"), ("a^(b*c)", "a^(b*c)"),
    ("-(a^b)", "-a^b"), ("(-a)^b", "(-a)^b"), ("-(a + b)", "-(a + b)"),
])
def test_text_parentheses_follow_each_rows_grouping(source: str, printed: str) -> None:
    from autodiff_cli.render.expr import to_text

    graph = compile(source, dict.fromkeys("abc", 2.0))
    assert to_text(graph, graph.output) == printed


@pytest.mark.parametrize(("source", "latex"), [
    ("xlogy(a + b, c)", r"\left(a + b\right) \cdot \ln\left(c\right)"),
    ("xlogy(a, c^b)", r"a \cdot \ln\left(c^{b}\right)"),
    ("-2/a", r"-\frac{2}{a}"), ("(a/b)^c", r"\left(\frac{a}{b}\right)^{c}"),
    ("a - (b - c)", r"a - \left(b - c\right)"), ("a*(-b)", r"a \cdot \left(-b\right)"),
])
def test_latex_comes_from_each_rows_template(source: str, latex: str) -> None:
    from autodiff_cli.render.latex import to_latex

    graph = compile(source, dict.fromkeys("abc", 2.0))
    assert to_latex(graph, graph.output) == latex


def test_every_infix_op_says_how_it_groups_and_every_op_its_shape() -> None:
    kinds = {"broadcast", "first", "matmul", "transpose", "reduce", "reduce_axis", "make"}
    for op in OPS.values():
        assert op.grouping in ("left", "right", "both"), op.name
        assert op.shape in kinds, op.name
        assert (op.shape == "make") == op.creates, op.name


def test_the_budget_broadcasts_every_element_wise_binary_op() -> None:
    """The work estimate reads the shape from the row: atan2 of a 1x1 and a 300x300 array
    costs what the 300x300 result does, as add's does (a list of op names once missed it)."""
    import numpy as np

    from autodiff_cli.limits import estimate

    small, big = np.zeros((1, 1)), np.zeros((300, 300))
    works = {name: estimate(["var", "var", name], [(), (), (0, 1)], [small, big, None])
             for name in ("add", "atan2", "max")}
    assert works["atan2"] == works["add"] == works["max"]
    assert works["add"].entries >= 300 * 300
