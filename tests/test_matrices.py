"""Matrices in expressions: array gradients against finite differences, the seed's house
network against its hand-derived gradient, broadcasting, CSV and literal values, randn and
zeros, the array outputs of grad, error exit codes, and the untouched scalar path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import autodiff_cli
from autodiff_cli import AutodiffError, compile, grad
from autodiff_cli.arrays import unbroadcast
from autodiff_cli.cli import app
from autodiff_cli.errors import ShapeError, UsageError
from autodiff_cli.inputs import load_csv, parse_at
from autodiff_cli.ops import OPS

REPO = Path(__file__).resolve().parent.parent
HOUSES = REPO / "examples" / "houses.csv"
CODE_ROOT = Path(autodiff_cli.__file__).resolve().parent.parent
ENV: dict[str, str | None] = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None}
W_SEED = [[0.5, -0.2, 0.1], [0.1, 0.3, -0.4], [-0.3, 0.2, 0.25]]
W_TEXT = "W=[[0.5,-0.2,0.1],[0.1,0.3,-0.4],[-0.3,0.2,0.25]]"
NETWORK = "mean(sigmoid(X @ W), 1)"

FEW = settings(max_examples=20, deadline=None)


def run(*args: str) -> Any:
    return CliRunner(env=ENV).invoke(app, list(args))


# -- finite differences ---------------------------------------------------------------------

def finite_differences(expr: str, point: dict[str, Any], seed_grad: Any) -> dict[str, Any]:
    """Central differences of sum(seed_grad * f) with respect to every entry of every input."""
    graph = compile(expr, point)

    def f(values: dict[str, Any]) -> float:
        return float(np.sum(seed_grad * graph.at(values).forward()))

    result = {}
    for name, x in point.items():
        fd = np.zeros(np.shape(x))
        for idx in np.ndindex(*np.shape(x)):
            h = 1e-6 * max(1.0, abs(float(np.asarray(x)[idx])))
            up, down = np.array(x, dtype=float), np.array(x, dtype=float)
            up[idx] += h
            down[idx] -= h
            fd[idx] = (f({**point, name: up}) - f({**point, name: down})) / (2 * h)
        result[name] = fd
    return result


def check_gradient(expr: str, point: dict[str, Any], rng: np.random.Generator) -> None:
    """grad with a random --seed-grad against central differences, shapes included."""
    out = compile(expr, point)
    shape = np.shape(out.at(point).forward())
    seed_grad = rng.uniform(-1.0, 1.0, shape) if shape else float(rng.uniform(-1.0, 1.0))
    r = grad(expr, point, seed_grad=seed_grad)
    fd = finite_differences(expr, point, seed_grad)
    for name, x in point.items():
        assert np.shape(r.gradient[name]) == np.shape(x), name
        np.testing.assert_allclose(r.gradient[name], fd[name], rtol=1e-5, atol=1e-6,
                                   err_msg=f"{expr}: d/d{name}")


dims = st.integers(1, 4)
seeds = st.integers(0, 2**32 - 1)


def _matmul(data: st.DataObject, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    n, k, m, b = (data.draw(dims) for _ in range(4))
    shapes = data.draw(st.sampled_from([((n, k), (k, m)), ((k,), (k, m)), ((n, k), (k,)),
                                        ((k,), (k,)), ((b, n, k), (k, m))]))
    return "A @ B", {"A": rng.normal(size=shapes[0]), "B": rng.normal(size=shapes[1])}


def _one(template: str) -> Callable[[st.DataObject, np.random.Generator],
                                    tuple[str, dict[str, Any]]]:
    def case(data: st.DataObject, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
        shape = tuple(data.draw(st.lists(dims, min_size=1, max_size=3)))
        axis = data.draw(st.integers(-len(shape), len(shape) - 1))
        return template.format(axis=axis), {"A": rng.normal(size=shape)}
    return case


# One case per op that is not element-wise; adding such an op to the table without a case
# here fails test_every_vjp_op_is_checked.
VJP_CASES = {
    "matmul": _matmul,
    "transpose": _one("transpose(A) * 2 + A.T"),
    "sum": _one("sin(sum(A))"),
    "mean": _one("sin(mean(A))"),
    "sum_axis": _one("sum(A, {axis})"),
    "mean_axis": _one("mean(A^2, {axis})"),
}


def test_every_vjp_op_is_checked() -> None:
    assert {op.name for op in OPS.values() if op.vjp and not op.creates} == set(VJP_CASES)


@pytest.mark.parametrize("name", sorted(VJP_CASES))
@FEW
@given(data=st.data(), seed=seeds)
def test_vjp_against_finite_differences(name: str, data: st.DataObject, seed: int) -> None:
    rng = np.random.default_rng(seed)
    expr, point = VJP_CASES[name](data, rng)
    check_gradient(expr, point, rng)


UNARY = sorted(op.name for op in OPS.values()
               if op.arity == 1 and not op.vjp and not op.symbol and op.name != "transpose")
BINARY = sorted(op.name for op in OPS.values() if op.arity == 2 and not op.vjp
                and not op.creates)


@pytest.mark.parametrize("name", UNARY)
@settings(max_examples=5, deadline=None)
@given(shape=st.lists(dims, min_size=1, max_size=2), seed=seeds)
def test_unary_functions_elementwise(name: str, shape: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    # inside every domain, away from every kink: (0.2, 0.8)
    check_gradient(f"{name}(A)", {"A": rng.uniform(0.2, 0.8, tuple(shape))}, rng)


BROADCAST = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), (3, 1)), ((4,), (3, 4)),
             ((3, 1), (1, 4)), ((2, 3, 4), (3, 4)), ((3, 4), ())]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
def test_binary_ops_broadcast(name: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    rng = np.random.default_rng(len(name))
    a = rng.uniform(0.5, 2.0, shapes[0])
    b = rng.uniform(0.5, 2.0, shapes[1]) if shapes[1] else 1.3
    op = OPS[name]
    expr = f"A {op.symbol} B" if op.symbol else f"{op.written}(A, B)"
    check_gradient(expr, {"A": a, "B": b}, rng)


# -- the seed's house network ---------------------------------------------------------------

def _sigmoid(h: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-h))


def test_houses_csv_is_the_seeds_batch() -> None:
    X = load_csv(str(HOUSES))
    assert X.shape == (4, 3)  # 4 houses x (size, bedrooms, bathrooms)
    A = _sigmoid(X @ np.array(W_SEED))
    assert np.all((A > 0.1) & (A < 0.9))  # scaled so sigmoid does not saturate


def test_network_gradient_matches_hand_derivation() -> None:
    X, W = load_csv(str(HOUSES)), np.array(W_SEED)
    r = grad(NETWORK, X=X, W=W)
    A = _sigmoid(X @ W)
    np.testing.assert_allclose(r.value, A.mean(axis=1), rtol=1e-12)
    # reduced by sum: dO/dA = 1; then dO/dW = X^T (dO/dA * A(1-A)) / 3
    np.testing.assert_allclose(r.gradient["W"], X.T @ (1.0 * A * (1 - A)) / 3, rtol=1e-12)
    np.testing.assert_allclose(r.gradient["X"], (A * (1 - A) / 3) @ W.T, rtol=1e-12)
    assert r.reduced == "sum"


def test_network_gradient_with_seed_grad() -> None:
    X, W = load_csv(str(HOUSES)), np.array(W_SEED)
    G = np.array([1.0, -2.0, 0.5, 3.0])
    r = grad(NETWORK, X=X, W=W, seed_grad=G)
    A = _sigmoid(X @ W)
    dO_dA = np.broadcast_to(G[:, None], A.shape)
    np.testing.assert_allclose(r.gradient["W"], X.T @ (dO_dA * A * (1 - A)) / 3, rtol=1e-12)
    assert r.reduced == "seed_grad"


def test_network_from_the_command_line() -> None:
    res = run("grad", NETWORK, "--at", f"X={HOUSES}", "--at", W_TEXT, "--format", "json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    X, W = load_csv(str(HOUSES)), np.array(W_SEED)
    A = _sigmoid(X @ W)
    assert data["value"]["shape"] == [4]
    assert data["reduced"] == "sum"
    assert data["gradient"]["W"]["shape"] == [3, 3]
    np.testing.assert_allclose(data["gradient"]["W"]["data"], X.T @ (A * (1 - A)) / 3,
                               rtol=1e-12)


# -- broadcasting -----------------------------------------------------------------------------

def test_row_vector_plus_matrix() -> None:
    X = np.arange(12.0).reshape(4, 3)
    r = grad("sum(X + b)", X=X, b=[1.0, 2.0, 3.0])
    assert r.value == pytest.approx(X.sum() + 4 * 6)
    np.testing.assert_array_equal(r.gradient["b"], [4.0, 4.0, 4.0])  # summed over the rows
    np.testing.assert_array_equal(r.gradient["X"], np.ones((4, 3)))


def test_column_and_scalar_broadcast() -> None:
    X = np.arange(12.0).reshape(4, 3)
    r = grad("sum(X * c) + sum(X * s)", X=X, c=[[1.0], [2.0], [3.0], [4.0]], s=2.0)
    np.testing.assert_array_equal(r.gradient["c"], X.sum(axis=1, keepdims=True))
    assert r.gradient["s"] == X.sum()
    assert isinstance(r.gradient["s"], float)


def test_unbroadcast_sums_added_and_stretched_axes() -> None:
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(unbroadcast(g, (3, 4)), g.sum(axis=0))
    np.testing.assert_array_equal(unbroadcast(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(unbroadcast(g, (1, 4)), g.sum(axis=(0, 1))[None, :])
    assert unbroadcast(g, ()) == g.sum()
    assert unbroadcast(g, (2, 3, 4)) is g


def test_gradients_have_their_variables_shape() -> None:
    r = grad("sum(A)", A=np.ones((2, 3)), unused=np.ones((5, 2)), k=3.0)
    assert r.gradient["unused"].shape == (5, 2)
    assert not r.gradient["unused"].any()
    assert r.gradient["k"] == 0.0


# -- values: literals, CSV, randn and zeros ---------------------------------------------------

def test_at_literals_keep_top_level_commas() -> None:
    v = parse_at(["X=[[1,2],[3,4]],b=2,v=[1, 2, 3]", "y=[2*pi, -1]"])
    np.testing.assert_array_equal(v["X"], [[1, 2], [3, 4]])
    assert v["b"] == 2.0 and isinstance(v["b"], float)
    assert v["v"].shape == (3,)
    np.testing.assert_allclose(v["y"], [2 * np.pi, -1])


def test_literal_in_an_expression_is_a_constant() -> None:
    r = grad("sum(X @ [[1, 2], [3, 4]])", X=np.ones((2, 2)))
    np.testing.assert_array_equal(r.gradient["X"], [[3, 7], [3, 7]])


def test_deeply_nested_literal_is_a_usage_error_not_a_crash() -> None:
    with pytest.raises(UsageError, match="dimensions"):
        parse_at(["x=" + "[" * 5000 + "1" + "]" * 5000])


def write(tmp_path: Path, text: str | bytes, name: str = "m.csv") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def test_csv_header_blank_lines_and_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffa, b\n\n1, 2\n 3,4 \n\n")
    np.testing.assert_array_equal(load_csv(path), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(load_csv(write(tmp_path, "5\n6\n", "c.csv")), [[5], [6]])


@pytest.mark.parametrize(("text", "message"), [
    ("1,2\n3\n", "line 2: 1 values, but the first row has 2"),
    ("a,b\n1,x\n", "line 2, column 2: 'x' is not a finite number"),
    ("1,nan\n", "'nan' is not a finite number"),
    ("a,b\n", "no rows of numbers"),
    (b"\xff\xfe1,2\n", "not a UTF-8 text file"),
])
def test_bad_csv_exits_2(tmp_path: Path, text: str | bytes, message: str) -> None:
    path = write(tmp_path, text)
    res = run("grad", "sum(X)", "--at", f"X={path}")
    assert res.exit_code == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_csv_exits_2() -> None:
    res = run("grad", "sum(X)", "--at", "X=no/such/file.csv")
    assert res.exit_code == 2
    assert "cannot read no/such/file.csv: no such file" in res.stderr


def test_randn_is_seeded_and_independent_per_call() -> None:
    def at(seed: int) -> dict[str, Any]:
        return parse_at(["A=randn(2,3),B=randn(2,3)"], seed)

    a0, a0_again, a1 = at(0), at(0), at(1)
    np.testing.assert_array_equal(a0["A"], a0_again["A"])
    assert not np.array_equal(a0["A"], a0["B"])  # two names, two streams
    assert not np.array_equal(a0["A"], a1["A"])
    r1 = grad("sum(randn(2,2) - randn(2,2)) + x", x=1.0, random_seed=5)
    r2 = grad("sum(randn(2,2) - randn(2,2)) + x", x=1.0, random_seed=5)
    assert r1.value == r2.value != 1.0


def test_randn_is_standard_normal_and_pinned() -> None:
    z = parse_at(["Z=randn(400, 250)"])["Z"]
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    # Box-Muller on PCG64's raw bits: the same numbers for seed 0 on every numpy version
    np.testing.assert_allclose(parse_at(["W=randn(2,3)"])["W"],
                               [[1.33700134, -0.53615302, 1.89614476],
                                [0.43852099, -0.08705883, -1.44437342]], atol=1e-8)


def test_randn_and_zeros_are_constants() -> None:
    r = grad("sum(zeros(r, 3) + randn(2, c)) + r*c", r=2.0, c=3.0)
    assert r.gradient == {"r": 3.0, "c": 2.0}  # only through r*c: no gradient into shapes
    assert {OPS["randn"].creates, OPS["zeros"].creates} == {True}


@pytest.mark.parametrize("expr", ["randn(2.5, 3)", "zeros(0, 3)", "zeros(1e6, 1e6)"])
def test_bad_shapes_for_randn_and_zeros(expr: str) -> None:
    res = run("grad", f"sum({expr})")
    assert res.exit_code == 1
    assert "outside the domain" in res.stderr


# -- output -----------------------------------------------------------------------------------

def test_json_schema_for_arrays() -> None:
    res = run("grad", "sum(X, 0) * k", "--at", "X=[[1,2],[3,4]],k=2", "--format", "json")
    data = json.loads(res.stdout)
    assert list(data) == ["expression", "value", "at", "gradient", "reduced"]
    assert data["value"] == {"shape": [2], "data": [8.0, 12.0]}
    assert data["at"] == {"X": {"shape": [2, 2], "data": [[1.0, 2.0], [3.0, 4.0]]}, "k": 2.0}
    assert data["gradient"]["X"] == {"shape": [2, 2], "data": [[2.0, 2.0], [2.0, 2.0]]}
    assert data["gradient"]["k"] == 10.0
    assert data["reduced"] == "sum"


def test_json_seed_grad_field() -> None:
    res = run("grad", "X * 2", "--at", "X=[1,2]", "--seed-grad", "[3, 4]", "--format", "json")
    data = json.loads(res.stdout)
    assert data["reduced"] == "seed_grad"
    assert data["seed_grad"] == {"shape": [2], "data": [3.0, 4.0]}
    assert data["gradient"]["X"]["data"] == [6.0, 8.0]


def test_plain_layout() -> None:
    res = run("grad", "X * k", "--at", "X=[[1,2],[3,4]],k=2", "--format", "plain")
    assert res.stdout == ("value (2x2) reduced by sum\n2 4\n6 8\n"
                          "X (2x2)\n2 2\n2 2\n"
                          "k 10\n")


def test_table_labels_each_gradient_matrix() -> None:
    res = run("grad", NETWORK, "--at", f"X={HOUSES}", "--at", W_TEXT)
    assert res.exit_code == 0
    out = res.stdout
    assert "f has shape (4): the gradients are of sum(f)" in out
    assert "∂sum(f)/∂W (3x3)" in out and "∂sum(f)/∂X (4x3)" in out


def test_big_arrays_show_corners_only() -> None:
    res = run("grad", "sum(X)", "--at", "X=zeros(40, 50)")
    assert "(corners only" in res.stdout
    assert len(res.stdout.splitlines()) < 25


# -- errors -----------------------------------------------------------------------------------

def test_shape_mismatch_names_both_shapes_and_columns() -> None:
    res = run("grad", "mean(sigmoid(X @ W), 1)", "--at", f"X={HOUSES}",
              "--at", "W=[[1,2,3],[4,5,6]]")
    assert res.exit_code == 1
    first = res.stderr.splitlines()[0]
    assert first == "error: '@': shapes do not fit: (4x3) @ (2x3) at columns 14-18"
    assert res.stderr.splitlines()[2] == "               ^^^^^"


def test_broadcast_mismatch_is_a_shape_error() -> None:
    with pytest.raises(ShapeError, match=r"\(4x3\) \+ \(2\)"):
        grad("X + v", X=np.ones((4, 3)), v=np.ones(2))


def test_axis_that_does_not_exist() -> None:
    res = run("grad", "sum(X, 2)", "--at", "X=[[1,2]]")
    assert res.exit_code == 1
    assert "axis 2 does not exist for shape (1x2)" in res.stderr


def test_domain_error_names_the_entry() -> None:
    res = run("grad", "sum(log(X))", "--at", "X=[[1,2],[3,-4]]")
    assert res.exit_code == 1
    assert "log: outside the domain (X > 0) at X[1, 1] = -4" in res.stderr


def test_derivative_error_names_the_entry() -> None:
    res = run("grad", "sum(sqrt(X))", "--at", "X=[4, 0]")
    assert res.exit_code == 1
    assert "sqrt: the derivative is not finite at X[1] = 0" in res.stderr


def test_power_of_negative_entries_with_constant_exponent() -> None:
    r = grad("sum(X^2)", X=np.array([-1.0, 0.0, 2.0]))  # d/dy would need x > 0: not needed
    np.testing.assert_array_equal(r.gradient["X"], [-2.0, 0.0, 4.0])


@pytest.mark.parametrize("value", ["[[1,2],[3]]", "[[1,2],3]", "[]", "[a, 1]"])
def test_bad_literal_exits_2(value: str) -> None:
    res = run("grad", "sum(X)", "--at", f"X={value}")
    assert res.exit_code == 2
    assert res.stderr.startswith("error: --at X: ")


def test_ragged_literal_says_which_row() -> None:
    res = run("grad", "sum(X)", "--at", "X=[[1,2],[3]]")
    assert "ragged matrix literal: row 2 has 1 entry, row 1 has 2" in res.stderr


@pytest.mark.parametrize(("expr", "at", "seed_grad", "shapes"), [
    ("X * 2", "X=[1,2,3]", "[1,2]", "--seed-grad has shape (2), but the output has shape (3)"),
    ("x^2", "x=3", "[1,2]", "--seed-grad has shape (2), but the output is a scalar"),
    ("X", "X=[1,2]", "3", "--seed-grad is a scalar, but the output has shape (2)"),
])
def test_seed_grad_shape_mismatch_exits_1(expr: str, at: str, seed_grad: str,
                                          shapes: str) -> None:
    res = run("grad", expr, "--at", at, "--seed-grad", seed_grad)
    assert res.exit_code == 1
    assert shapes in res.stderr


def test_library_errors_are_autodiff_errors() -> None:
    with pytest.raises(AutodiffError):
        grad("A @ B", A=np.ones((2, 3)), B=np.ones((2, 3)))
    with pytest.raises(UsageError):
        grad("sum(A)", A=[[1.0, 2.0], [3.0]])


# -- the scalar path is untouched -------------------------------------------------------------

def test_scalar_output_unchanged() -> None:
    args = ("grad", "(a+b)*(b+1)", "--at", "a=3,b=2")
    assert run(*args, "--format", "json").stdout == (
        '{"expression": "(a+b)*(b+1)", "value": 15.0, "at": {"a": 3.0, "b": 2.0}, '
        '"gradient": {"a": 3.0, "b": 8.0}}\n')
    assert run(*args, "--format", "plain").stdout == "15\na 3\nb 8\n"
    assert run(*args).stdout == ("(a+b)*(b+1)\nf = 15\n\n"
                                 "variable  value  ∂f/∂variable\n"
                                 "a             3             3\n"
                                 "b             2             8\n")


@pytest.mark.parametrize("args", [
    ["(a+b)*(b+1)", "--at", "a=3,b=2"],
    ["(a+b)*(b+1)", "--at", "a=3,b=2", "--format", "json"],
    ["sqrt(x)", "--at", "x=0"],
    ["log(x - 1)", "--at", "x=1"],
])
def test_scalar_grad_does_not_import_numpy(args: list[str]) -> None:
    code = ("import sys\nfrom autodiff_cli.cli import main\nsys.argv = ['autodiff', 'grad', "
            f"*{args!r}]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('NUMPY' if 'numpy' in sys.modules else 'CLEAN')\n")
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    env.update(NO_COLOR="1", PYTHONPATH=str(CODE_ROOT))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert proc.stderr.endswith("CLEAN"), proc.stderr
