"""Forward mode, gradient checks, second and higher derivatives, and shell comfort."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from toolkit_helpers import SYM, Expr, expressions, invoke, magnitudes, points, ulps

import autodiff_cli
from autodiff_cli import MathError
from autodiff_cli.api import grad
from autodiff_cli.core import evaluate, prepare
from autodiff_cli.gradcheck import STEP, estimate, relative_error
from autodiff_cli.higher import hessian, higher
from autodiff_cli.modes import passes

SEED_PROGRAM = "b = 4*a; c = b + 3; d = a + 2; e = c*d"
CODE_ROOT = Path(autodiff_cli.__file__).resolve().parent.parent


# -- forward mode ---------------------------------------------------------------------------


@pytest.mark.parametrize(("expr", "at"), [
    ("(a+b)*(b+1)", {"a": 3, "b": 2}),
    (SEED_PROGRAM, {"a": 3}),
    ("b = a*4; c = b + 3", {"a": 3}),
    ("x*y*z + x/4 - y^3 + (x - z)^2/8", {"x": 0.5, "y": -1.25, "z": 3}),
    ("max(x, y)*min(x, y) + abs(x - 2*y)", {"x": 1.5, "y": 0.75}),
])
def test_forward_and_reverse_agree_exactly_on_dyadic_examples(expr: str, at: dict) -> None:
    reverse = grad(expr, at, mode="reverse")
    forward = grad(expr, at, mode="forward")
    assert forward.value == reverse.value
    assert forward.gradient == reverse.gradient  # bit for bit


def test_forward_mode_reproduces_the_seed() -> None:
    r = grad("(a+b)*(b+1)", {"a": 3, "b": 2}, mode="forward")
    assert (r.value, r.gradient) == (15.0, {"a": 3.0, "b": 8.0})
    assert passes("forward", 2) == {"forward": 2, "reverse": 0}
    assert grad(SEED_PROGRAM, {"a": 3}, mode="forward").gradient == {"a": 35.0}
    assert passes("reverse", 2) == {"forward": 1, "reverse": 1}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points)
def test_forward_and_reverse_agree_to_a_few_ulp(e: Expr, at: dict) -> None:
    """They multiply the same local derivatives in opposite orders: the difference is
    rounding, at most 4 ulp of the sum of |path products| (the partial's natural scale)."""
    try:
        reverse = grad(e.text, at)
        forward = grad(e.text, at, mode="forward")
    except MathError:
        assume(False)
        return
    evaluation = evaluate(prepare(e.text, at))
    graph = evaluation.graph
    scale = magnitudes(evaluation)
    for name, r in reverse.gradient.items():
        assert ulps(forward.gradient[name], r, scale[graph.variables[name]]) <= 4, name


def test_dual_numbers_give_each_nodes_value_and_tangent() -> None:
    duals = evaluate(prepare(SEED_PROGRAM, {"a": 3}), mode="forward", tape=True)
    g = duals.graph
    by_label = {g.labels[i]: i for i in range(len(g)) if g.labels[i]}
    assert duals.tangents is not None
    tangent = duals.tangents["a"]
    assert [duals.values[by_label[n]] for n in "abcde"] == [3, 12, 15, 5, 75]
    assert [tangent[by_label[n]] for n in "abcde"] == [1, 4, 4, 1, 35]


def test_forward_mode_on_arrays_is_a_usage_error() -> None:
    r = invoke("grad", "sum([1, 2] * x)", "--at", "x=2", "--mode", "forward")
    assert r.exit_code == 2
    assert "scalar" in r.stderr


def test_grad_json_keys_stay_exactly_four_without_mode() -> None:
    r = invoke("grad", "(a+b)*(b+1)", "--at", "a=3,b=2", "--format", "json")
    assert list(json.loads(r.stdout)) == ["expression", "value", "at", "gradient"]


@pytest.mark.parametrize(("mode", "passes"), [("forward", {"forward": 2, "reverse": 0}),
                                              ("reverse", {"forward": 1, "reverse": 1})])
def test_grad_mode_json_says_mode_and_passes(mode: str, passes: dict) -> None:
    r = invoke("grad", "(a+b)*(b+1)", "--at", "a=3,b=2", "--mode", mode, "--format", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == {
        "expression": "(a+b)*(b+1)", "value": 15.0, "at": {"a": 3.0, "b": 2.0},
        "gradient": {"a": 3.0, "b": 8.0}, "mode": mode, "passes": passes}


def test_grad_mode_table_caption_counts_passes() -> None:
    r = invoke("grad", "(a+b)*(b+1)", "--at", "a=3,b=2", "--mode", "forward")
    assert r.stdout.splitlines()[-1] == "forward mode: 2 forward passes of dual numbers, " \
        "one per variable"
    r = invoke("grad", "(a+b)*(b+1)", "--at", "a=3,b=2", "--mode", "reverse", "--wrt", "a")
    assert r.stdout.splitlines()[-1] == "reverse mode: 1 forward pass + 1 reverse sweep for " \
        "the 1 partial derivative"
    r = invoke("grad", "(a+b)*(b+1)", "--at", "a=3,b=2", "--mode", "forward",
               "--format", "plain")
    assert r.stdout == "15\na 3\nb 8\n"


# -- --check -----------------------------------------------------------------------------------


def test_check_passes_on_smooth_functions() -> None:
    r = invoke("grad", "sin(x)*exp(y) + x/y", "--at", "x=0.7,y=1.3", "--check",
               "--format", "json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["check"]["ok"] is True
    assert data["check"]["tol"] == 1e-6 and data["check"]["step"] == STEP
    for name, c in data["check"]["partials"].items():
        assert c["ok"] and c["error"] < 1e-8
        assert math.isclose(c["finite_difference"], data["gradient"][name], rel_tol=1e-7)


def test_check_fails_at_a_kink_and_says_which_partial() -> None:
    r = invoke("grad", "relu(x) + abs(y)", "--at", "x=0,y=0", "--check")
    assert r.exit_code == 1
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[4:6]}
    assert rows["x"][3] == "0.5" and rows["x"][-2:] == ["0.5", "FAIL"]  # relu: fd 1/2, grad 0
    assert rows["y"][-1] == "ok"  # abs is symmetric: fd 0 = grad 0
    assert "x is at a kink: the derivative is 0 from the left, 1 from the right" in r.stdout
    assert "the gradient check failed for x (error 0.5)" in r.stderr


def test_a_tolerance_tighter_than_the_method_leaves_the_verdict_to_the_bound() -> None:
    ok = invoke("grad", "exp(x)", "--at", "x=1", "--check", "--format", "plain")
    assert ok.exit_code == 0
    tight = invoke("grad", "exp(x)", "--at", "x=1", "--check", "--tol", "1e-15",
                   "--format", "json")
    assert tight.exit_code == 0, tight.stderr  # |∂ - fd| is within the estimate's bound
    c = json.loads(tight.stdout)["check"]["partials"]["x"]
    assert c["error"] > 1e-15 and abs(c["finite_difference"] - math.e) <= c["bound"] < 1e-8
    assert invoke("grad", "exp(x)", "--at", "x=1", "--check", "--tol", "0").exit_code == 2


def test_check_plain_lines() -> None:
    r = invoke("grad", "x*y", "--at", "x=2,y=3", "--check", "--format", "plain")
    lines = r.stdout.splitlines()
    assert lines[0] == "6"
    name, g, fd, err, verdict = lines[1].split()
    assert (name, g, verdict) == ("x", "3", "ok")
    assert abs(float(fd) - 3) < 1e-8 and float(err) < 1e-8


def test_check_skips_points_where_f_is_defined_on_neither_side() -> None:
    # (-(x^2))^1.5 is defined at x = 0 only: a negative base, a fractional power
    r = invoke("grad", "(-(x^2))^1.5 + y", "--at", "x=0,y=2", "--check", "--format", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["check"]["partials"]["x"] == {
        "finite_difference": None, "error": None, "ok": True, "method": None, "step": None,
        "bound": None, "kink": None}
    table = invoke("grad", "(-(x^2))^1.5 + y", "--at", "x=0,y=2", "--check").stdout
    assert table.splitlines()[4].split()[-5:] == ["-", "-", "-", "-", "skipped"]
    assert table.splitlines()[-1] == "skipped: f is not defined on either side of x"


def test_finite_difference_estimate_and_error_definition() -> None:
    est = estimate(lambda t: t ** 3, 2.0)
    assert est is not None and est.method == "central"
    assert abs(est.value - 12) <= est.error_bound < 1e-7
    assert relative_error(0.0, 1e-12) == 1e-12  # absolute below 1
    assert relative_error(200.0, 202.0) == pytest.approx(2 / 202)


# -- second and higher derivatives ---------------------------------------------------------


def _sympy_value(expr: sp.Expr, at: dict) -> float:
    return float(expr.subs({SYM[v]: sp.Rational(str(x)) for v, x in at.items()}).evalf(30))


def test_hessian_of_the_seed() -> None:
    r = hessian("(a+b)*(b+1)", {"a": 3, "b": 2})
    assert r.hessian == {"a": {"a": 0.0, "b": 1.0}, "b": {"a": 1.0, "b": 2.0}}
    assert (r.value, r.gradient) == (15.0, {"a": 3.0, "b": 8.0})


def test_hessian_through_a_program_matches_sympy() -> None:
    a = sp.Symbol("a")
    e = (4 * a + 3) * (a + 2)
    r = hessian(SEED_PROGRAM, {"a": 3})
    assert r.hessian == {"a": {"a": float(sp.diff(e, a, 2))}}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points)
def test_hessian_matches_sympy(e: Expr, at: dict) -> None:
    try:
        r = hessian(e.text, at)
    except MathError:
        assume(False)
        return
    names = list(r.hessian)
    for row in names:
        for col in names:
            want = _sympy_value(sp.diff(e.sym, SYM[row], SYM[col]), at)
            assume(math.isfinite(want))
            got = r.hessian[row][col]
            assert math.isclose(got, want, rel_tol=1e-7, abs_tol=1e-7), (row, col, got, want)


@pytest.mark.parametrize(("expr", "x", "order"), [
    ("exp(2*x)", 0.5, 3), ("sin(x)", 1.0, 4), ("x^5", 2.0, 5), ("log(x)", 1.5, 2),
    ("x/(1 + x^2)", 0.3, 3), ("sigmoid(x)", -0.4, 2),
])
def test_higher_order_matches_sympy(expr: str, x: float, order: int) -> None:
    s = sp.sympify(expr.replace("^", "**").replace("sigmoid(x)", "1/(1 + exp(-x))"),
                   locals={"x": SYM["x"]})
    want = _sympy_value(sp.diff(s, SYM["x"], order), {"x": x})
    got = higher(expr, {"x": x}, order=order).derivative["x"]
    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


def test_grad_order_2_cli() -> None:
    r = invoke("grad", "x^3*y", "--at", "x=2,y=1", "--order", "2", "--wrt", "x",
               "--format", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == {"expression": "x^3*y", "value": 8.0,
                                    "at": {"x": 2.0, "y": 1.0}, "gradient": {"x": 12.0},
                                    "order": 2, "derivative": {"x": 12.0}}
    table = invoke("grad", "x^3*y", "--at", "x=2,y=1", "--order", "2").stdout
    assert "∂²f/∂variable²" in table
    plain = invoke("grad", "x^3*y", "--at", "x=2,y=1", "--order", "2", "--format", "plain")
    assert plain.stdout == "8\nx 12 12\ny 8 0\n"


@pytest.mark.parametrize("args", [["--order", "0"], ["--order", "9"],
                                  ["--order", "2", "--check"],
                                  ["--order", "2", "--mode", "forward"]])
def test_grad_order_usage_errors(args: list[str]) -> None:
    r = invoke("grad", "x^3", "--at", "x=2", *args)
    assert r.exit_code == 2
    assert r.stderr.startswith("error: --order")


def test_hessian_cli_formats() -> None:
    r = invoke("hessian", "x^2*y + y^3", "--at", "x=1,y=2")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[-3:] == ["∂²f/∂row∂column  x   y",
                                          "x                4   2",
                                          "y                2  12"]
    data = json.loads(invoke("hessian", "x^2*y + y^3", "--at", "x=1,y=2", "--format",
                             "json").stdout)
    assert data == {"expression": "x^2*y + y^3", "value": 10.0, "at": {"x": 1.0, "y": 2.0},
                    "gradient": {"x": 4.0, "y": 13.0},
                    "hessian": {"x": {"x": 4.0, "y": 2.0}, "y": {"x": 2.0, "y": 12.0}}}
    plain = invoke("hessian", "x^2*y + y^3", "--at", "x=1,y=2", "--format", "plain")
    assert plain.stdout == "10\nx 4 4 2\ny 13 2 12\n"
    assert invoke("hessian", "x^2*y", "--at", "x=1,y=2", "--wrt", "y",
                  "--format", "plain").stdout == "2\ny 1 0\n"


def test_hessian_errors_point_at_the_source() -> None:
    r = invoke("hessian", "x^1.5 + y", "--at", "x=0,y=1")
    assert r.exit_code == 1
    assert "a higher derivative is not defined here" in r.stderr
    assert "^^^^^" in r.stderr  # under x^1.5
    assert invoke("hessian", "log(x)", "--at", "x=-1").exit_code == 1
    assert invoke("hessian", "x +", "--at", "x=1").exit_code == 2


@pytest.mark.slow
def test_hessian_of_a_large_sum_does_not_recurse() -> None:
    n = 20_000
    expr = " + ".join(f"x*y^{k % 3 + 1}" for k in range(n))
    r = hessian(expr, {"x": 1.0, "y": 1.0})
    assert r.hessian["x"]["x"] == 0.0
    assert r.hessian["x"]["y"] == sum(k % 3 + 1 for k in range(n))  # d/dy y^k = k at 1


# -- shell comfort --------------------------------------------------------------------------


def test_version() -> None:
    r = invoke("--version")
    assert r.exit_code == 0
    assert r.stdout == f"autodiff {autodiff_cli.__version__}\n"


def _commands() -> list[str]:
    import typer.main

    from autodiff_cli.cli import app

    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_with_an_example(command: str) -> None:
    r = invoke(command, "--help")
    assert r.exit_code == 0
    assert "Examples:" in r.stdout
    assert f"autodiff {command} " in " ".join(r.stdout.split())


def test_toolkit_commands_are_registered() -> None:
    assert {"grad", "hessian", "diff", "check"} <= set(_commands())


def test_show_completion_prints_a_bash_script(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from autodiff_cli.cli import app

    # without a parent shell to detect (CI, a background job) typer makes --show-completion
    # a flag and prints "Shell  not supported"; this makes it take the shell named
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    r = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="autodiff")
    assert r.exit_code == 0, (r.output, r.exception)
    assert "_AUTODIFF_COMPLETE=complete_bash" in r.stdout


def _complete(words: str) -> list[str]:
    """Ask the real entry point, named autodiff, what bash should complete."""
    code = ("import sys; sys.argv[0] = 'autodiff'; "
            "from autodiff_cli.cli import main; main()")
    env = {**os.environ, "PYTHONPATH": str(CODE_ROOT), "_AUTODIFF_COMPLETE": "complete_bash",
           "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout.split()


def test_completion_of_commands_and_options() -> None:
    assert _complete("autodiff hes") == ["hessian"]
    assert "--mode" in _complete("autodiff grad --mo")
    assert set(_complete("autodiff grad --mode ")) >= {"forward", "reverse"} or \
        _complete("autodiff grad --mode f") == ["forward"]
    assert _complete("autodiff diff --format l") == ["latex"]
