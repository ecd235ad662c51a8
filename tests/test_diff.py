"""`autodiff diff`: derivatives printed in our language (they parse back and evaluate to
what grad computes), simplified, as programs when long, and as LaTeX."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from toolkit_helpers import VARS, Expr, expressions, invoke, magnitudes, points

from autodiff_cli import MathError, compile, core
from autodiff_cli.api import grad
from autodiff_cli.engine import Graph
from autodiff_cli.errors import UsageError
from autodiff_cli.ops import CONST, OPS
from autodiff_cli.render.diff import diff_latex, diff_text
from autodiff_cli.render.expr import EXPAND_LIMIT, to_text
from autodiff_cli.render.latex import latex_name, to_latex
from autodiff_cli.symbolic import Builder, derivative

GOLDEN = Path(__file__).resolve().parent / "golden" / "toolkit"
SEED_PROGRAM = "b = 4*a; c = b + 3; d = a + 2; e = c*d"


def d(expr: str, wrt: str) -> str:
    return diff_text(derivative(expr, [wrt])).rstrip("\n")


def evaluate(text: str, at: dict) -> float:
    return float(compile(text, at).at(at).forward())


# -- round trip -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points)
def test_derivative_parses_back_and_evaluates_to_grad(e: Expr, at: dict) -> None:
    try:
        r = grad(e.text, at)
    except MathError:
        assume(False)
        return
    evaluation = core.evaluate(core.prepare(e.text, at))
    graph = evaluation.graph
    scale = magnitudes(evaluation)
    try:
        present = list(derivative(e.text).nodes)
    except UsageError:  # no variables
        present = []
    for name in VARS:
        if name not in present:
            continue  # diff refuses a name the expression does not have
        text = d(e.text, name)
        got = evaluate(text, at)  # the derivative's own evaluation must not fail either
        tol = 1e-12 * scale[graph.variables[name]] + 1e-300
        assert abs(got - r.gradient[name]) <= tol, (name, text, got, r.gradient[name])


@pytest.mark.parametrize(("expr", "wrt", "want"), [
    ("(a+b)*(b+1)", "a", "b + 1"),
    ("(a+b)*(b+1)", "b", "2*b + a + 1"),
    (SEED_PROGRAM, "a", "8*a + 11"),  # 4d + c = 4*(a + 2) + 4*a + 3
    ("b = a*4; c = b + 3", "a", "4"),
    ("x/y", "y", "-x/y^2"),
    ("x*y - y/x", "x", "y + y/x^2"),  # y - -(y/x^2)
    ("x*y - y/x", "y", "x - 1/x"),  # x - -(... ) and -(1/x) + x
    ("x - -y", "y", "1"),
    ("a*(1/b)", "b", "-a/b^2"),
    ("x + x", "x", "2"),
    ("x^2 + x^2", "x", "4*x"),
    ("x*x + 3*x*1 + 0", "x", "2*x + 3"),
    ("sin(x)^2", "x", "2*sin(x)*cos(x)"),
    ("tanh(x)", "x", "1 - tanh(x)^2"),
    ("sigmoid(w*x + b)", "w", "x*sigmoid(w*x + b)*(1 - sigmoid(w*x + b))"),
    ("sqrt(x^2 + y^2)", "x", "x/sqrt(x^2 + y^2)"),
    ("exp(x*y)", "x", "y*exp(x*y)"),
    ("log(x, 2)", "x", "1/(x*log(2))"),
    ("sin(2*pi*x)", "x", "2*pi*cos(2*pi*x)"),
    ("x^3 + 2*x^2 - 7*x + 1", "x", "3*x^2 + 4*x - 7"),
    ("1/x", "x", "-1/x^2"),
    ("x^y", "y", "xlogy(x^y, x)"),  # 0 at x = 0, as grad says; log(x)*x^y is not
    ("2^x", "x", "2^x*log(2)"),
    ("(2*3)*x", "x", "6"),
])
def test_simplified_derivatives(expr: str, wrt: str, want: str) -> None:
    assert d(expr, wrt) == want


def test_builder_rules_one_by_one() -> None:
    g = Graph()
    x, y = g.variable("x"), g.variable("y")
    b = Builder(g)

    def show(i: int) -> str:
        return to_text(g, i)

    one, zero, two = b.const(1), b.const(0), b.const(2)
    assert show(b.apply("mul", x, one)) == "x"
    assert show(b.apply("add", x, zero)) == "x"
    assert show(b.apply("mul", two, b.const(3))) == "6"
    assert show(b.apply("sub", x, b.apply("neg", y))) == "x + y"
    assert show(b.apply("mul", x, b.apply("div", one, y))) == "x/y"
    minus_y_over = b.apply("div", b.apply("neg", y), b.apply("pow", x, two))
    assert show(b.apply("neg", minus_y_over)) == "y/x^2"
    assert show(b.apply("add", x, x)) == "2*x"
    assert show(b.apply("sub", x, x)) == "0"
    assert show(b.apply("mul", x, x)) == "x^2"
    assert show(b.apply("neg", b.apply("sub", x, y))) == "y - x"
    assert show(b.apply("div", b.apply("mul", b.const(6), x), b.apply("mul", b.const(4), y))) \
        == "3*x/(2*y)"
    assert show(b.apply("div", one, b.apply("mul", two, y))) == "1/(2*y)"
    assert show(b.apply("log", two)) == "log(2)"  # a long constant stays as written
    assert g.ops[b.apply("log", one)] is CONST


def test_a_long_derivative_is_a_program_that_parses_back() -> None:
    net = ("h1 = tanh(w1*x + b1); h2 = tanh(w2*x + b2); y = sigmoid(v1*h1 + v2*h2); "
           "L = (y - t)^2")
    text = d(net, "w1")
    assert text.splitlines() == ["h1 = tanh(w1*x + b1)",
                                 "y = sigmoid(v1*h1 + v2*tanh(w2*x + b2))",
                                 "2*v1*x*y*(y - t)*(1 - y)*(1 - h1^2)"]
    at = {"w1": 0.3, "x": 1.2, "b1": -0.1, "w2": -0.7, "b2": 0.2, "v1": 1.1, "v2": -0.4,
          "t": 1.0}
    assert math.isclose(evaluate(text, at), grad(net, at).gradient["w1"], rel_tol=1e-13)
    expanded = diff_text(derivative(net, ["w1"]), expand=True).strip()
    assert "\n" not in expanded and len(expanded) > EXPAND_LIMIT
    assert math.isclose(evaluate(expanded, at), evaluate(text, at), rel_tol=1e-13)


def test_deep_expressions_print_without_recursion() -> None:
    depth = 3000
    expr = "sin(" * depth + "x" + ")" * depth
    text = d(expr, "x")
    lines = text.splitlines()
    assert len(lines) > 10 and all(len(line) < 300 for line in lines)
    at = {"x": 0.5}
    assert math.isclose(evaluate(text, at), grad(expr, at).gradient["x"], rel_tol=1e-9)
    r = invoke("diff", expr, "--wrt", "x", "--expand")
    assert r.exit_code == 2
    assert "too large to print expanded" in r.stderr


@pytest.mark.slow
def test_long_chains_simplify_without_recursion() -> None:
    assert d("x" + "/y" * 5000, "x") == "1/y^5000"
    assert d("-(" * 5000 + "x*y" + ")" * 5000, "x") == "y"
    assert d("2*(" * 40 + "x" + ")" * 40, "x") == str(2 ** 40)


def test_a_long_program_differentiates_to_a_program() -> None:
    source = "a0 = x*y\n" + "\n".join(f"a{k} = a{k - 1}*x + y" for k in range(1, 3000))
    text = d(source, "x")
    assert len(text.splitlines()) > 100
    at = {"x": 0.999, "y": 0.001}
    assert math.isclose(evaluate(text, at), grad(source, at).gradient["x"], rel_tol=1e-9)


@pytest.mark.slow
def test_a_100000_term_sum_differentiates() -> None:
    expr = " + ".join(f"{k % 7 + 1}*x" for k in range(100_000))
    assert d(expr, "x") == str(sum(k % 7 + 1 for k in range(100_000)))


# -- the command -------------------------------------------------------------------------------


def test_diff_cli_one_variable_prints_the_bare_expression() -> None:
    r = invoke("diff", "x^2*sin(x)", "--wrt", "x")
    assert r.exit_code == 0
    assert r.stdout == "2*x*sin(x) + x^2*cos(x)\n"


def test_diff_cli_all_variables_under_comment_headers() -> None:
    r = invoke("diff", "(a+b)*(b+1)")
    assert r.stdout == "# ∂f/∂a\nb + 1\n# ∂f/∂b\n2*b + a + 1\n"
    assert invoke("diff", SEED_PROGRAM, "--wrt", "a").stdout == "8*a + 11\n"


def test_diff_cli_json_and_order() -> None:
    r = invoke("diff", "x^3*y", "--format", "json", "--order", "2")
    assert json.loads(r.stdout) == {
        "expression": "x^3*y", "order": 2, "derivative": {"x": "6*x*y", "y": "0"},
        "latex": {"x": r"\frac{\partial^{2} f}{\partial x^{2}} = 6 \cdot x \cdot y",
                  "y": r"\frac{\partial^{2} f}{\partial y^{2}} = 0"}}
    assert invoke("diff", "exp(-x^2)", "--wrt", "x", "--order", "2").stdout == \
        "2*exp(-x^2)*(2*x^2 - 1)\n"


@pytest.mark.parametrize(("args", "message"), [
    (["3 + 4"], "no variables"),
    (["x +"], "unexpected end of input"),
    (["x", "--order", "0"], "--order"),
    (["sum([1, 2])*x"], "scalar"),
])
def test_diff_cli_errors(args: list[str], message: str) -> None:
    r = invoke("diff", *args)
    assert r.exit_code == 2
    assert message in r.stderr


def test_a_name_in_wrt_is_a_variable_even_if_it_is_a_constant() -> None:
    assert invoke("diff", "e*x", "--wrt", "e").stdout == "x\n"
    assert invoke("diff", "e*x").stdout == "e\n"  # e is Euler's number here


# -- LaTeX -------------------------------------------------------------------------------------


def test_latex_golden() -> None:
    cases = json.loads((GOLDEN / "diff_latex.json").read_text("utf-8"))
    got = {f"{c['expr']} | {c['wrt']}": diff_latex(derivative(c["expr"], [c["wrt"]]))
           for c in cases["cases"]}
    want = {f"{c['expr']} | {c['wrt']}": c["latex"] for c in cases["cases"]}
    assert got == want


def test_latex_cli() -> None:
    r = invoke("diff", "x/y", "--wrt", "y", "--format", "latex")
    assert r.stdout == "\\frac{\\partial f}{\\partial y} = -\\frac{x}{y^{2}}\n"


@pytest.mark.parametrize("name", sorted(n for n, op in OPS.items()
                                        if op.is_function and not op.vjp))
def test_every_function_prints_in_latex(name: str) -> None:
    op = OPS[name]
    args = ", ".join("xy"[: op.arity])
    graph = compile(f"{op.written}({args})", ["x", "y"])
    text = to_latex(graph, graph.output)
    assert "x" in text and text.count("{") == text.count("}")
    assert "\\" in text


@pytest.mark.parametrize(("name", "latex"), [
    ("x", "x"), ("x1", "x_{1}"), ("w_12", "w_{12}"), ("theta", r"\theta"), ("θ", r"\theta"),
    ("lr", r"\mathit{lr}"), ("alpha_2", r"\alpha_{2}"), ("size_x", r"\mathit{size}_{x}"),
])
def test_latex_names(name: str, latex: str) -> None:
    assert latex_name(name) == latex
