"""Lowering and reverse mode: the course's worked examples, sharing, size, and the errors."""

from __future__ import annotations

import math
import sys

import pytest
from conftest import REPO

from autodiff_cli import AutodiffError, MathError, compile, grad
from autodiff_cli.errors import NameError_, UsageError

# -- the course's examples, worked by hand --------------------------------------------------


def test_seed_sum_times_sum() -> None:
    # (a+b)*(b+1) at a=3, b=2: 5*3 = 15; d/da = b+1 = 3; d/db = (b+1) + (a+b) = 8
    r = grad("(a+b)*(b+1)", a=3, b=2)
    assert r.expression == "(a+b)*(b+1)"
    assert r.value == 15.0
    assert r.gradient == {"a": 3.0, "b": 8.0}
    assert r.at == {"a": 3.0, "b": 2.0}


def test_seed_program() -> None:
    # b = 12, c = 15, d = 5, e = 75; de/dc = d = 5, de/dd = c = 15,
    # de/da = 5 * 4 + 15 * 1 = 35
    r = grad("b = 4*a; c = b + 3; d = a + 2; e = c*d", a=3)
    assert (r.value, r.gradient) == (75.0, {"a": 35.0})


def test_seed_number_with_grad() -> None:
    # a = NumberWithGrad(3); b = a * 4; c = b + 3; c.backward(): a.grad == 4
    r = grad("b = a*4; c = b + 3", a=3)
    assert (r.value, r.gradient) == (15.0, {"a": 4.0})


def test_seed_intermediate_partials() -> None:
    """de/db = 5 and de/dd = 15 in the slides: make b and d inputs and ask again."""
    r = grad("c = b + 3; e = c*d", b=12, d=5)
    assert r.gradient == {"b": 5.0, "d": 15.0}


# -- the graph ------------------------------------------------------------------------------


def test_intermediate_used_twice_is_one_node() -> None:
    graph = compile("b = a*a; c = b + b", ["a"])
    assert [op.name for op in graph.ops] == ["var", "mul", "add"]
    assert graph.args[1] == (0, 0)
    assert graph.args[2] == (1, 1)
    assert graph.labels[1:] == ["b", "c"]
    assert graph.output == 2
    assert graph.variables == {"a": 0}
    # c = 2a^2, dc/da = 4a: both uses of b (and of a) contribute
    assert graph.gradient({"a": 3.0}) == (18.0, {"a": 12.0})


def test_variable_used_many_times_is_one_node() -> None:
    graph = compile("(a+b)*(b+1)", ["a", "b"])
    assert [op.name for op in graph.ops].count("var") == 2
    assert list(graph.variables) == ["a", "b"]
    # every node's inputs come before it: creation order is a topological order
    assert all(i < n for n, args in enumerate(graph.args) for i in args)


def test_spans_point_into_the_source() -> None:
    src = "b = 4*a; b + sin(a)"
    graph = compile(src, ["a"])
    start, end = graph.spans[graph.output]
    assert src[start:end] == "b + sin(a)"
    texts = [src[s[0]:s[1]] for s in graph.spans if s is not None]
    assert "4*a" in texts
    assert "sin(a)" in texts


def test_graph_is_reusable_at_other_points() -> None:
    graph = compile("x*y + sin(x)", ["x", "y"])
    for x, y in [(0.5, 2.0), (-1.0, 3.0), (0.5, 2.0)]:
        value, g = graph.gradient({"x": x, "y": y})
        assert value == x * y + math.sin(x)
        assert g == {"x": y + math.cos(x), "y": x}


def test_forward_alone() -> None:
    graph = compile("2^10 - 1", [])
    assert graph.at({}).forward() == 1023.0


def test_local_after_forward() -> None:
    graph = compile("x = 0.5; y = 4; x*y + y", []).at({})
    graph.forward()
    mul = graph.graph.args[graph.graph.output][0]
    assert (graph.local(mul, 0), graph.local(mul, 1)) == (4.0, 0.5)


def test_unused_variable_has_zero_gradient_and_keeps_order() -> None:
    r = grad("b*a", a=1, b=2, z=5)
    assert list(r.gradient) == ["b", "a", "z"]
    assert r.gradient == {"b": 1.0, "a": 2.0, "z": 0.0}
    assert list(r.at) == ["b", "a", "z"]


def test_constant_expression_has_no_gradient() -> None:
    r = grad("2 * pi")
    assert r.value == 2 * math.pi
    assert r.gradient == {}


def test_output_can_be_a_bare_variable() -> None:
    assert grad("x", x=4).gradient == {"x": 1.0}


def test_wrt_selects_and_orders() -> None:
    r = grad("(a+b)*(b+1)", a=3, b=2, wrt=["b", "a", "b"])
    assert list(r.gradient) == ["b", "a"]
    assert r.gradient == {"b": 8.0, "a": 3.0}
    with pytest.raises(UsageError) as info:
        grad("a*b", a=1, b=2, wrt=["c"])
    assert "c" in info.value.message
    assert "a, b" in info.value.message


def test_keyword_values_override_at() -> None:
    r = grad("a*b", at={"a": 1, "b": 2}, b=10)
    assert r.at == {"a": 1.0, "b": 10.0}


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_input_values_are_refused(bad: float) -> None:
    with pytest.raises(UsageError):
        grad("x + 1", x=bad)


# -- size: no recursion anywhere -------------------------------------------------------------


@pytest.fixture
def low_recursion_limit() -> object:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(old)


@pytest.mark.slow
@pytest.mark.usefixtures("low_recursion_limit")
def test_long_sum() -> None:
    n = 100_000
    r = grad("+".join(["a", "b"] * (n // 2)), a=1, b=2)
    assert r.value == 1.5 * n
    assert r.gradient == {"a": n / 2, "b": n / 2}


@pytest.mark.usefixtures("low_recursion_limit")
@pytest.mark.parametrize(
    ("text", "value", "derivative"),
    [
        ("(" * 10_000 + "a" + ")" * 10_000, 0.5, 1.0),
        ("(" * 10_000 + "a + 1" + ")" * 10_000, 1.5, 1.0),
        ("-" * 10_001 + "a", -0.5, -1.0),
        ("sin(" * 3_000 + "0" + ")" * 3_000 + " + a", 0.5, 1.0),
        ("a" + "*(1" * 5_000 + ")" * 5_000, 0.5, 1.0),
        ("a" + "^1" * 5_000, 0.5, 1.0),
    ],
    ids=["parens", "parens-sum", "negations", "nested-calls", "nested-products", "powers"],
)
def test_deep_nesting(text: str, value: float, derivative: float) -> None:
    r = grad(text, a=0.5)
    assert r.value == value
    assert r.gradient == {"a": derivative}


@pytest.mark.usefixtures("low_recursion_limit")
def test_long_program_chain() -> None:
    lines = ["v0 = a"] + [f"v{i} = 2*v{i - 1} - v{i - 1}" for i in range(1, 10_000)]
    r = grad("\n".join(lines), a=3)
    assert (r.value, r.gradient) == (3.0, {"a": 1.0})


# -- name errors ----------------------------------------------------------------------------


def test_unbound_names_are_all_reported_with_columns() -> None:
    src = "x + y*z + x"
    with pytest.raises(NameError_) as info:
        grad(src)
    err = info.value
    found = [(p.message, p.span) for p in err.problems]
    assert found == [("x has no value", (0, 1)), ("y has no value", (4, 5)),
                     ("z has no value", (6, 7))]
    assert err.column == 1
    assert err.hint == "give values with --at, e.g. --at x=1,y=1,z=1"
    assert err.exit_code == 2


def test_unbound_names_on_several_lines() -> None:
    src = "a = 1\nb = a + q\nr * a"
    with pytest.raises(NameError_) as info:
        grad(src)
    assert [(p.message, p.span) for p in info.value.problems] == [
        ("q has no value", (14, 15)), ("r has no value", (16, 17))]
    assert info.value.column == 9


def test_use_before_assignment() -> None:
    with pytest.raises(NameError_) as info:
        grad("b = a + 1; a = 2; b")
    assert info.value.message == "a is used before it is assigned"
    assert info.value.span == (4, 5)


def test_self_reference_is_use_before_assignment() -> None:
    with pytest.raises(NameError_) as info:
        grad("a = a + 1")
    assert info.value.message == "a is used before it is assigned"
    assert info.value.column == 5


def test_double_assignment() -> None:
    with pytest.raises(NameError_) as info:
        grad("a = 1; b = a; a = 2; b")
    assert info.value.message == "a is assigned twice"
    assert info.value.span == (14, 15)


def test_assignment_to_a_name_given_with_at() -> None:
    with pytest.raises(NameError_) as info:
        grad("x = 3; x + 1", x=1)
    assert "x is assigned here and also given a value with --at" in info.value.message
    assert info.value.span == (0, 1)


def test_no_cascading_name_errors() -> None:
    with pytest.raises(NameError_) as info:
        grad("b = x + 1; b * 2")
    assert [p.message for p in info.value.problems] == ["x has no value"]


@pytest.mark.parametrize(("src", "span"), [("1 + (q)", (5, 6)), ("2 - +q", (5, 6)),
                                           ("((q))*2", (2, 3))])
def test_unbound_name_span_is_the_name(src: str, span: tuple[int, int]) -> None:
    with pytest.raises(NameError_) as info:
        grad(src)
    assert info.value.span == span


# -- math errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "at", "op", "span", "what"),
    [
        ("1 + 1/0", {}, "'/'", (4, 7), "division by zero"),
        ("1/x", {"x": 0}, "'/'", (0, 3), "division by zero"),
        ("log(-1)", {}, "log", (0, 7), "domain"),
        ("log(x)", {"x": 0}, "log", (0, 6), "domain"),
        ("2*sqrt(-1)", {}, "sqrt", (2, 10), "domain"),
        ("asin(2)", {}, "asin", (0, 7), "domain"),
        ("acos(x)", {"x": -1.5}, "acos", (0, 7), "domain"),
        ("0^-1", {}, "'^'", (0, 4), "domain"),
        ("(-8)^(1/3)", {}, "'^'", (0, 10), "domain"),
        ("exp(1000)", {}, "exp", (0, 9), "overflow"),
        ("x*1e300*1e300", {"x": 1}, "'*'", (0, 13), "overflow"),
        ("10^400", {}, "'^'", (0, 6), "overflow"),
        ("cosh(x)", {"x": 800}, "cosh", (0, 7), "overflow"),
        ("log(x, 1)", {"x": 2}, "log", (0, 9), ""),
    ],
)
def test_math_errors_name_the_op_and_its_span(text: str, at: dict[str, float], op: str,
                                              span: tuple[int, int], what: str) -> None:
    with pytest.raises(MathError) as info:
        grad(text, at)
    err = info.value
    assert err.message.startswith(op + ":")
    assert what in err.message
    assert err.span == span
    assert err.kind == "math"
    assert err.exit_code == 1
    assert err.source == text


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(("text", "at", "want"), [
    ("1 + sqrt(x^2)", {"x": 0.0}, {"x": 0.0}),  # |x| at 0: 2x is 0, the slope infinite
    ("sqrt(0*x)", {"x": 1.0}, {"x": 0.0}),
    ("a*sqrt(b)", {"a": 0.0, "b": 0.0}, {"a": 0.0, "b": 0.0}),
    ("s = sign(b); sqrt(s*s - s)", {"b": 2.5}, {"b": 0.0}),
    ("sqrt(x - x)", {"x": 1.0}, {"x": 0.0}),  # 0 by cancellation: reverse runs again
    ("u = sqrt(x); u - u", {"x": 0.0}, {"x": 0.0}),  # forward runs again
])
def test_a_zero_factor_wins_over_an_infinite_slope(text: str, at: dict[str, float],
                                                   want: dict[str, float], mode: str) -> None:
    """A path's part of the gradient is adjoint * local * tangent; where one factor is
    exactly 0 the part is 0, even if another is infinite, in both modes."""
    from autodiff_cli import core

    e = core.evaluate(core.prepare(text, at), mode=mode)
    assert e.gradient == want


@pytest.mark.parametrize(
    ("text", "at", "op", "span"),
    [
        ("sqrt(x)", {"x": 0}, "sqrt", (0, 7)),
        ("1 + sqrt(x^2 + x)", {"x": 0}, "sqrt", (4, 17)),
        ("asin(x)", {"x": 1}, "asin", (0, 7)),
        ("acos(x)", {"x": -1}, "acos", (0, 7)),
        ("x^0.5", {"x": 0}, "'^'", (0, 5)),
        ("log(x)", {"x": 1e-320}, "log", (0, 6)),
    ],
)
def test_infinite_derivatives_are_math_errors(text: str, at: dict[str, float], op: str,
                                              span: tuple[int, int]) -> None:
    # the value exists, its derivative does not (or is too large for a float)
    with pytest.raises(MathError) as info:
        grad(text, at)
    err = info.value
    assert err.message.startswith(op + ":")
    assert "derivative" in err.message
    assert err.span == span


def test_value_is_fine_where_the_derivative_is_not() -> None:
    assert compile("sqrt(0)", []).at({}).forward() == 0.0


def test_derivatives_of_constant_subgraphs_are_not_needed() -> None:
    # d/dx of x + sqrt(0): the sqrt node does not depend on x; its infinite local
    # derivative never enters the chain rule
    assert grad("x + sqrt(0)", x=1).gradient == {"x": 1.0}


def test_derivative_of_x_to_the_zero_at_zero() -> None:
    """x^0 is 1 for every x: its rule y*x^(y - 1) is 0 at y = 0, though 0^-1 is not defined
    (a rule's product with a first factor 0 is 0)."""
    assert grad("x^0", x=0).gradient == {"x": 0.0}
    assert grad("x^y", {"x": 0, "y": 0}, wrt=["x"]).gradient == {"x": 0.0}  # d/dy is not
    assert grad("x^0", x=0, mode="forward").gradient == {"x": 0.0}
    assert grad("sum(X^0)", X=[[0.0, 2.0]]).gradient["X"].tolist() == [[0.0, 0.0]]


def test_overflow_is_blamed_on_the_op_that_overflowed() -> None:
    with pytest.raises(MathError) as info:
        grad("sin(1e200*1e200)")
    assert info.value.message.startswith("'*': overflow")
    assert info.value.span == (4, 15)


@pytest.mark.parametrize(
    ("text", "at", "wrt", "expected"),
    [("sqrt(x) + y", {"x": 0, "y": 1}, ["y"], {"y": 1.0}),
     ("x^y", {"x": -2, "y": 3}, ["x"], {"x": 12.0})],
)
def test_wrt_needs_only_the_requested_derivatives(text: str, at: dict[str, float],
                                                  wrt: list[str],
                                                  expected: dict[str, float]) -> None:
    assert grad(text, at, wrt=wrt).gradient == expected


def test_math_error_is_an_autodiff_error() -> None:
    assert issubclass(MathError, AutodiffError)


# -- micrograd's own test programs, in our language --------------------------------------

MICROGRAD = REPO / "examples" / "micrograd"


def test_micrograd_sanity_check_as_written() -> None:
    """x = -4 is a leaf with a gradient, as micrograd's Value(-4.0)."""
    r = grad((MICROGRAD / "sanity.txt").read_text("utf-8"))
    assert r.value == -20.0 and r.gradient == {"x": 46.0}


def test_micrograd_more_ops_as_written() -> None:
    """c += ... gives c a new value (a new node); the old one keeps its uses."""
    r = grad((MICROGRAD / "more_ops.txt").read_text("utf-8"))
    assert round(r.value, 4) == 24.7041
    assert {k: round(v, 4) for k, v in r.gradient.items()} == {"a": 138.8338, "b": 645.5773}
    forward = grad((MICROGRAD / "more_ops.txt").read_text("utf-8"), mode="forward")
    assert forward.gradient == pytest.approx(r.gradient, rel=1e-14)


@pytest.mark.parametrize(("source", "message"), [
    ("c += 1", "c is updated before it is assigned"),
    ("c = 1; c = 2", "c is assigned twice"),
    ("c = x; c += x; c = 3", "c is assigned twice"),
])
def test_updates_need_a_value_and_plain_assignment_stays_once(source: str,
                                                               message: str) -> None:
    with pytest.raises(NameError_, match=message):
        grad(source, x=1.0)


def test_a_constant_assignment_is_a_leaf_but_randn_is_not() -> None:
    assert grad("w = 2; w*x", x=3.0).gradient == {"w": 3.0, "x": 2.0}
    assert grad("W = [[1, 2]]; sum(W)").gradient["W"].tolist() == [[1.0, 1.0]]
    assert list(grad("R = randn(2, 2); sum(R*x)", x=1.0).gradient) == ["x"]
    assert list(grad("k = x*2; k + 1", x=1.0).gradient) == ["x"]  # k depends on x
