"""`autodiff diff` simplifies like a textbook: measured against SymPy's simplify, values kept
exactly (the printed derivative, parsed back, is grad's number; second derivatives too), and
matrix expressions and unknown names refused."""

from __future__ import annotations

import math
import re

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from toolkit_helpers import SYM, Expr, expressions, invoke, points

from autodiff_cli import AutodiffError, MathError, compile
from autodiff_cli.api import grad
from autodiff_cli.engine import Graph
from autodiff_cli.higher import hessian, higher
from autodiff_cli.render.diff import diff_text
from autodiff_cli.render.expr import part_names, program_lines
from autodiff_cli.symbolic import Builder, derivative


def d(expr: str, wrt: str, order: int = 1, expand: bool = False) -> str:
    return diff_text(derivative(expr, [wrt], order), expand).rstrip("\n")


def variables(text: str) -> list[str]:
    """The expression's variables in order of appearance ([] if it has none)."""
    try:
        return list(derivative(text).nodes)
    except AutodiffError:
        return []


def evaluate(text: str, at: dict[str, float]) -> float:
    return float(compile(text, at).at(at).forward())


@pytest.mark.parametrize(("expr", "want"), [
    ("x*x*x", "3*x^2"),
    ("x*2*x", "4*x"),
    ("x^(1/3)", "x^(-2/3)/3"),
    ("sin(x)^2 + cos(x)^2", "0"),
    ("sin(x)*cos(x) - cos(x)*sin(x) + x", "1"),
    ("x*y*x/y", "2*x"),  # y/y is 1
    ("(x^2)^3", "6*x^5"),
    ("sqrt(x)*sqrt(x)", "1"),
    ("x^0.5", "1/(2*sqrt(x))"),
    ("sqrt(exp(x))", "sqrt(exp(x))/2"),
    ("sqrt(sqrt(x))", "x^(-3/4)/4"),
    ("(x^2)^(1/2)", "x/sqrt(x^2)"),  # |x|, not x
    ("exp(-x/5)", "-exp(-x/5)/5"),
    ("(1 + x^2)*(x^2 + 1)", "4*x*(x^2 + 1)"),  # one sum, whichever order it is written in
    ("1/x^3", "-3/x^4"),
    ("2^x", "2^x*log(2)"),
    ("b = 4*a; c = b + 3; d = a + 2; e = c*d", "8*a + 11"),
])
def test_textbook_forms(expr: str, want: str) -> None:
    wrt = variables(expr)[0]
    assert d(expr, wrt) == want


@pytest.mark.parametrize("expr", [
    "x*x*x", "x*2*x", "x^(1/3)", "sin(x)^2 + cos(x)^2", "x^0.5", "sqrt(exp(x))",
    "(1 + x^2)*(x^2 + 1)", "1/x^3", "x^2*sin(x)", "exp(-x^2/2)", "atan(y/x)", "x/y",
    "sqrt(x^2 + y^2)", "x^3 + 2*x^2 - 7*x + 1", "log(x^2 + 1)*atan(x)^2", "tanh(x)^3",
])
def test_suite_cases_are_at_most_twice_sympys_length(expr: str) -> None:
    x = SYM["x"]
    theirs = sp.sstr(sp.simplify(sp.diff(_sympy(expr), x)))
    ours = d(expr, "x", expand=True)
    assert _length(ours) <= 2 * max(_length(theirs), 3), (ours, theirs)


def test_a_long_derivative_names_each_part_once() -> None:
    text = d("exp(sin(x)*cos(x))/(1+x^2)^3 + log(x^2+1)*atan(x)^2", "x")
    assert "(1 + x^2)" not in text and "cos(x)*cos(x)" not in text and ")^3)^2" not in text
    defined = [line.split(" = ", 1)[1] for line in text.splitlines() if " = " in line]
    assert len(defined) == len(set(defined))


def test_parts_that_print_alike_share_one_name() -> None:
    g = Graph()
    a, b_, c = (g.variable(n) for n in ("alpha", "beta", "gamma"))
    b = Builder(g)
    left = b.make("mul", b.make("mul", a, b_), b.make("sin", c))  # alpha*beta*sin(gamma)
    right = b.make("mul", a, b.make("mul", b_, b.make("sin", c)))  # the same text
    root = b.make("add", b.make("mul", left, left), b.make("mul", right, right))
    names = part_names(g, root)
    assert names[left] == names[right]
    lines = program_lines(g, root, names)
    assert lines == [("t1", "alpha*beta*sin(gamma)"), ("", "t1*t1 + t1*t1")]


# -- against SymPy ------------------------------------------------------------------------


def _length(text: str) -> int:
    """Characters, spaces aside, in our notation (x**2 is x^2; SymPy's E is our exp(1))."""
    return len(re.sub(r"\bE\b", "exp(1)", text).replace("**", "^").replace(" ", ""))


class Sigmoid(sp.Function):
    """sigmoid as a function of its own, as ours is: SymPy's 1/(1 + exp(-x)) would let it
    rewrite (1 - sigmoid(x))/sigmoid(x) as exp(-x), an identity diff does not know."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = Sigmoid(self.args[0])
        return s * (1 - s)


def _sympy(text: str) -> sp.Expr:
    """Our generated text (test data, never user input) as SymPy reads it."""
    return sp.parse_expr(text.replace("^", "**"), local_dict={**SYM, "sigmoid": Sigmoid})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_never_longer_than_twice_sympys_simplify(e: Expr) -> None:
    names = variables(e.text)
    assume(names)
    name = names[0]
    try:
        ours = d(e.text, name, expand=True)
    except AutodiffError:
        assume(False)
        return
    simplified = sp.simplify(sp.diff(_sympy(e.text), SYM[name]))
    assume(not simplified.has(sp.zoo, sp.nan, sp.oo, -sp.oo))  # log(x - x): no derivative
    theirs = sp.sstr(simplified)
    # where SymPy's form has lost a function ours keeps, it used an identity between
    # functions or a special value (cos(atan(x)) = 1/sqrt(x^2 + 1), atan(1) = pi/4) that
    # diff does not know, by design: such a pair says nothing about simplifying (sqrt is a
    # power, which either may write as x^(1/2))
    kept = set(re.findall(r"([a-z]\w*)\(", ours)) - set(re.findall(r"([a-z]\w*)\(", theirs))
    assume(kept <= {"sqrt"})
    assert _length(ours) <= 2 * max(_length(theirs), 3), (e.text, ours, theirs)


# -- values stay exact ---------------------------------------------------------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points)
def test_second_derivatives_printed_and_computed_agree(e: Expr, at: dict[str, float]) -> None:
    """diff --order 2 parsed back equals grad --order 2; d/dy of the printed d/dx, by grad,
    equals hessian's entry: the Builder's rewrites keep every value."""
    names = [n for n in variables(e.text) if n in at]
    assume(names)
    point = {n: at[n] for n in names}
    try:
        h = hessian(e.text, point)
        second = higher(e.text, point, order=2).derivative
        firsts = {n: d(e.text, n) for n in names}
        seconds = {n: d(e.text, n, order=2) for n in names}
        rows = {n: grad(firsts[n], point).gradient for n in names}
        printed = {n: evaluate(seconds[n], point) for n in names}
    except MathError:
        assume(False)
        return

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)

    for n in names:
        assert close(printed[n], second[n]), (n, seconds[n], printed[n], second[n])
        for m in names:
            assert close(rows[n].get(m, 0.0), h.hessian[n][m]), (n, m, firsts[n])


def test_the_base_of_a_power_may_be_zero() -> None:
    """d/dy x^y at x = 0 is 0 (grad says so): the printed form must say so too."""
    text = d("x^y", "y")
    at = {"x": 0.0, "y": 2.0}
    assert evaluate(text, at) == grad("x^y", at).gradient["y"] == 0.0


# -- refused --------------------------------------------------------------------------------


@pytest.mark.parametrize(("expr", "what"), [
    ("X @ W", "@ (matmul)"), ("transpose(A)*x", "transpose"), ("sum(X)", "sum"),
    ("mean(X, 1)", "mean"), ("randn(2, 2)*x", "randn"), ("zeros(2, 3) + x", "zeros"),
    ("x*[1, 2]", "an array"),
])
def test_matrix_expressions_are_refused(expr: str, what: str) -> None:
    r = invoke("diff", expr)
    assert r.exit_code == 2 and r.stdout == ""
    assert "scalar expressions only" in r.stderr and what in r.stderr
    assert "Traceback" not in r.stderr


def test_an_unknown_wrt_name_is_refused_as_grad_refuses_it() -> None:
    r = invoke("diff", "x*y", "--wrt", "X")
    g = invoke("grad", "x*y", "--at", "x=1,y=2", "--wrt", "X")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == g.stderr
    assert "--wrt names X, which is not a variable; the variables are x, y" in r.stderr
    assert invoke("diff", "e*x", "--wrt", "e").stdout == "x\n"  # e can be asked for
