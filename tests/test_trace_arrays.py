"""autodiff trace on arrays (shapes, small values, vector-Jacobian products, the reduction of a
non-scalar output, --seed and --seed-grad) and in forward mode (tangents by dual numbers).

Golden files are rendered with NO_COLOR=1 COLUMNS=100; regenerate them with
UPDATE_GOLDEN=1 pytest tests/test_trace_arrays.py and read the diff."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from autodiff_cli.api import grad
from autodiff_cli.cli import app
from autodiff_cli.core import evaluate, prepare
from autodiff_cli.inputs import load_csv
from autodiff_cli.ops import OPS
from autodiff_cli.render.matrix import is_small, matrix_lines
from autodiff_cli.render.trace import chain_text, tangent_text
from autodiff_cli.trace import TraceReport, trace, vjp_text

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"
HOUSES = str(ROOT / "examples" / "houses.csv")
NETWORK = "mean(sigmoid(X @ W), 1)"
W = "[[0.5,-0.2,0.1],[0.1,0.3,-0.4],[-0.3,0.2,0.25]]"  # as in docs/arrays.md
W_ARRAY = np.array([[0.5, -0.2, 0.1], [0.1, 0.3, -0.4], [-0.3, 0.2, 0.25]])
SLIDE = "b = 4*a; c = b + 3; d = a + 2; e = c*d"
AB = "(a+b)*(b+1)"
ENV = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None, "TERM": "dumb"}


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=ENV)


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    text: str = result.stdout
    return text


def as_json(*args: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ok(*args, "--format", "json"))
    return doc


def network(*extra: str) -> list[str]:
    return ["trace", NETWORK, "--at", f"X={HOUSES}", "--at", f"W={W}", *extra]


def node(r: TraceReport, name: str) -> int:
    (i,) = [n.id for n in r.nodes if n.name == name]
    return i


def is_json_value(x: Any) -> bool:
    """A number, or {"shape": [...], "data": nested lists of that shape}."""
    if isinstance(x, float):
        return True
    if not isinstance(x, dict) or set(x) != {"shape", "data"}:
        return False
    return bool(x["shape"]) and list(np.shape(x["data"])) == x["shape"]


# -- the seed's house network -----------------------------------------------------------------

def test_network_report_shapes_and_gradient_of_w_is_grads() -> None:
    x = load_csv(HOUSES)
    r = trace(NETWORK, X=x, W=W_ARRAY)
    shapes = {n.name: np.shape(n.value) for n in r.nodes}
    assert shapes == {"X": (4, 3), "W": (3, 3), "v1": (4, 3), "v2": (4, 3), "1": (),
                      "f": (4,)}
    assert r.reduced == "sum"
    expected = grad(NETWORK, X=x, W=W_ARRAY).gradient
    assert np.array_equal(r.gradient["W"], expected["W"])
    assert np.array_equal(r.gradient["X"], expected["X"])
    a = 1 / (1 + np.exp(-(x @ W_ARRAY)))
    assert np.allclose(r.gradient["W"], x.T @ (a * (1 - a)) / 3)  # the slide's formula


def test_network_backward_rules_are_the_op_tables_vjp_rules() -> None:
    r = trace(NETWORK, X=load_csv(HOUSES), W=W_ARRAY)
    v1 = node(r, "v1")
    rules = {r.nodes[s.input].name: s.rule for s in r.steps if s.node == v1}
    assert rules == {"X": "∂f/∂v1 @ Wᵀ", "W": "Xᵀ @ ∂f/∂v1"}
    assert all(s.local is None for s in r.steps if s.node == v1)
    sigmoid = next(s for s in r.steps if s.node == node(r, "v2"))
    assert sigmoid.rule == "v2*(1 - v2)" and np.shape(sigmoid.local) == (4, 3)
    chains = {r.nodes[c.node].name: chain_text(r, c) for c in r.sums}
    assert chains["W"] == "∂f/∂W = Xᵀ @ ∂f/∂v1 = (3x3)"
    assert chains["v1"] == "∂f/∂v1 = (4x3) ⊙ (4x3) = (4x3)"


def test_network_table_shows_shapes_values_and_the_reduction() -> None:
    text = ok(*network())
    assert "f has shape (4): the gradients are of sum(f), the output reduced by its sum" in text
    header = next(line for line in text.splitlines() if line.startswith("node  expression"))
    assert header.split() == ["node", "expression", "op", "inputs", "shape", "value"]
    for shape in ("(4x3)", "(3x3)", "(4)", "scalar"):
        assert shape in text
    assert "⎡ 0.5  -0.2   0.1⎤" in text  # W's values, as a small matrix
    assert "[0.565736  0.541274  0.592791  0.556738]" in text  # f, as in docs/arrays.md's grad
    assert "⎡0.444275  0.361409  0.435092⎤" in text  # ∂f/∂W, as grad prints it
    assert "vjp: ∂f/∂v1 @ Wᵀ =" in text and "vjp: Xᵀ @ ∂f/∂v1 =" in text
    assert "∂f/∂v2 ⊙ ∂v2/∂v1 =" in text
    assert "vjp: a vector-Jacobian product (mean_axis, matmul): no element-wise local " \
        "derivative;\neach input receives the rule shown" in text


def test_network_golden() -> None:
    result = run(*network())
    assert result.exit_code == 0, result.output
    text = "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"
    path = GOLDEN / "trace_houses.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    assert max(len(line) for line in text.splitlines()) <= 100


def test_network_json_schema_is_grads() -> None:
    doc = as_json(*network())
    plain = as_json("grad", NETWORK, "--at", f"X={HOUSES}", "--at", f"W={W}")
    assert list(doc) == ["expression", "value", "at", "gradient", "reduced", "nodes"]
    for key in ("expression", "value", "at", "gradient", "reduced"):
        assert doc[key] == plain[key]
    assert doc["reduced"] == "sum"
    assert doc["value"]["shape"] == [4] and doc["gradient"]["W"]["shape"] == [3, 3]
    for n in doc["nodes"]:
        assert set(n) <= {"id", "name", "op", "text", "inputs", "value", "local", "vjp", "grad"}
        assert is_json_value(n["value"]) and is_json_value(n["grad"])
        assert all(v is None or is_json_value(v) for v in n["local"].values())
        assert set(n.get("vjp", {})) == {k for k, v in n["local"].items() if v is None}
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert nodes["W"]["grad"] == plain["gradient"]["W"]
    assert nodes["v2"]["local"]["2"]["shape"] == [4, 3]
    assert nodes["1"]["value"] == 1.0  # a scalar stays a number
    assert nodes["f"]["vjp"] == {"3": "∂f/∂f ÷ n copied along axis 1 of v2"}


def test_scalar_json_keeps_its_keys() -> None:
    doc = as_json("trace", SLIDE, "--at", "a=3")
    assert list(doc) == ["expression", "value", "at", "gradient", "nodes"]
    assert all(list(n) == ["id", "name", "op", "text", "inputs", "value", "local", "grad"]
               for n in doc["nodes"])


# -- small and big arrays -----------------------------------------------------------------------

@pytest.mark.parametrize(("shape", "small"), [
    ((3,), True), ((4, 4), True), ((1, 4), True), ((4, 1), True), ((5,), False),
    ((2, 5), False), ((0,), False), ((2, 2, 2), False), ((), False),
])
def test_which_arrays_are_small(shape: tuple[int, ...], small: bool) -> None:
    assert is_small(np.zeros(shape)) is small


def test_matrix_lines() -> None:
    assert matrix_lines(np.array([1.0, -2.5, 1 / 3])) == ["[1  -2.5  0.333333]"]
    assert matrix_lines(np.array([[1.0, 20.0], [-0.0, 3.0], [4.0, 5.0]])) == [
        "⎡1  20⎤", "⎢0   3⎥", "⎣4   5⎦"]


def test_big_arrays_show_their_shape_only() -> None:
    text = ok("trace", "sum(tanh(A) * 2)", "--at", "A=randn(5,5)")
    assert "arrays larger than 4x4 show their shape only; --format json gives every entry" \
        in text
    assert "⎡" not in text and "(5x5)" in text


def test_broadcast_contributions_say_they_are_summed() -> None:
    r = trace("sum(X + c)", X=np.ones((2, 3)), c=0.5)
    c = next(s for s in r.steps if r.nodes[s.input].name == "c")
    assert c.broadcast == (2, 3) and c.contribution == 6
    text = ok("trace", "sum(X + c)", "--at", "X=[[1,1,1],[1,1,1]],c=0.5")
    assert "∂f/∂v1 * ∂v1/∂c, summed over broadcast axes = 6" in text


def test_every_vjp_op_has_a_printable_rule_per_input() -> None:
    for op in OPS.values():
        assert len(op.vjp_rule) == (op.arity if op.vjp else 0), op.name
    assert vjp_text("matmul", 0, "X", "W", "v1", "G") == "G @ Wᵀ"
    assert vjp_text("matmul", 1, "X", "W", "v1", "G") == "Xᵀ @ G"
    text = ok("trace", "sum(X.T)", "--at", "X=[[1,2]]")
    assert "vjp: transpose of ∂f/∂v1 =" in text


# -- --seed and --seed-grad -------------------------------------------------------------------

def test_seed_grad_on_an_array_output_is_grads() -> None:
    args = ["--at", f"X={HOUSES}", "--at", f"W={W}", "--seed-grad", "[1,0,0,2]"]
    doc = as_json("trace", NETWORK, *args)
    plain = as_json("grad", NETWORK, *args)
    for key in ("value", "gradient", "reduced", "seed_grad"):
        assert doc[key] == plain[key]
    assert doc["reduced"] == "seed_grad"
    assert doc["nodes"][-1]["grad"] == {"shape": [4], "data": [1.0, 0.0, 0.0, 2.0]}
    text = ok("trace", NETWORK, *args)
    assert "f has shape (4): the gradients are of sum(g*f), with g given by --seed-grad" in text
    assert "[1  0  0  2]" in text


def test_seed_grad_on_a_scalar_output() -> None:
    r = trace(AB, a=3, b=2, seed_grad=2.0)
    assert r.gradient == {"a": 6, "b": 16}
    text = ok("trace", AB, "--at", "a=3,b=2", "--seed-grad", "2")
    assert "g = 2, given by --seed-grad" in text and "∂f/∂b = 6 + 10 = 16" in text


def test_seed_grad_of_the_wrong_shape_fails_as_in_grad() -> None:
    trace_result = run("trace", AB, "--at", "a=3,b=2", "--seed-grad", "[1,2]")
    grad_result = run("grad", AB, "--at", "a=3,b=2", "--seed-grad", "[1,2]")
    assert trace_result.exit_code == grad_result.exit_code == 1
    assert trace_result.stderr == grad_result.stderr


def test_seed_draws_the_numbers_grad_draws() -> None:
    args = ["--at", f"X={HOUSES}", "--at", "W=randn(3,3)", "--seed", "7"]
    doc = as_json("trace", NETWORK, *args)
    assert doc["at"]["W"] == as_json("grad", NETWORK, *args)["at"]["W"]
    assert doc["at"]["W"] != as_json("trace", NETWORK, *args[:-1], "8")["at"]["W"]
    inline = as_json("trace", "sum(randn(2,2) * x)", "--at", "x=1", "--seed", "3")
    assert inline["value"] == as_json("grad", "sum(randn(2,2) * x)", "--at", "x=1",
                                      "--seed", "3")["value"]


def test_graph_takes_seed_grad() -> None:
    dot = ok("graph", AB, "--at", "a=3,b=2", "--seed-grad", "2")
    assert "∂f/∂b = 16" in dot and "∂f/∂f = 2" in dot


def test_grad_trace_and_graph_share_their_options() -> None:
    helps = {cmd: ok(cmd, "--help") for cmd in ("grad", "trace", "graph")}
    for option in ("--seed-grad", "--seed", "--at", "--file"):
        assert all(option in text for text in helps.values())
    assert "--mode" in helps["trace"] and "--wrt" in helps["trace"]


# -- forward mode --------------------------------------------------------------------------------

def test_forward_mode_tangents_of_the_slide() -> None:
    r = trace(SLIDE, a=3, mode="forward")
    tangents = {n.name: r.tangent["a"][n.id] for n in r.nodes}
    assert tangents == {"4": 0, "a": 1, "b": 4, "3": 0, "c": 4, "2": 0, "d": 1, "e": 35}
    assert r.gradient == {"a": 35} and r.passes == {"forward": 1, "reverse": 0}
    assert r.steps and all(s.contribution is None for s in r.steps)
    e = r.nodes[node(r, "e")]
    steps = [s for s in r.steps if s.node == e.id]
    assert tangent_text(r, e, steps, "a") == "5 * 4 + 15 * 1 = 35"


def test_forward_mode_uses_dual_numbers() -> None:
    r = trace(AB, a=3, b=2, mode="forward")
    d = evaluate(prepare(AB, {"a": 3, "b": 2}), mode="forward", tape=True)
    assert r.tangent == d.tangents and [n.value for n in r.nodes] == d.values


@pytest.mark.parametrize(("expr", "at"), [
    (SLIDE, {"a": 3.0}), (AB, {"a": 3.0, "b": 2.0}), ("x/4 + 0.75*y*x", {"x": 2.0, "y": 8.0}),
])
def test_forward_and_reverse_agree_to_the_last_bit(expr: str, at: dict[str, float]) -> None:
    forward = trace(expr, at, mode="forward")
    reverse = trace(expr, at, mode="reverse")
    assert forward.gradient == reverse.gradient and forward.value == reverse.value
    for name, t in forward.tangent.items():
        assert t[forward.output] == reverse.gradient[name]


def test_forward_and_reverse_agree_on_transcendental_functions() -> None:
    expr = "u = x*y; v = u + x; w = sin(v)*u; w*v + x"
    forward = trace(expr, x=0.5, y=2, mode="forward").gradient
    reverse = trace(expr, x=0.5, y=2).gradient
    assert all(math.isclose(forward[n], reverse[n], rel_tol=1e-14) for n in reverse)


def test_forward_mode_table() -> None:
    text = ok("trace", SLIDE, "--at", "a=3", "--mode", "forward")
    assert "Backward pass" not in text and "Chain rule" not in text
    assert "Tangents" in text and "∂node/∂a" in text
    for line in ("b     ∂b/∂a = 4         4 * 1 = 4", "c     ∂c/∂b = 1         1 * 4 = 4",
                 "d     ∂d/∂a = 1         1 * 1 = 1",
                 "e     ∂e/∂c = d = 5     5 * 4 + 15 * 1 = 35"):
        assert line in text
    assert text.rstrip().endswith("forward mode: 1 forward pass of dual numbers, one per variable")


def test_forward_mode_golden() -> None:
    result = run("trace", AB, "--at", "a=3,b=2", "--mode", "forward", "--graph")
    assert result.exit_code == 0, result.output
    text = "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"
    path = GOLDEN / "trace_ab_forward.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_passes_line_is_grads() -> None:
    for mode in ("forward", "reverse"):
        traced = ok("trace", AB, "--at", "a=3,b=2", "--mode", mode).rstrip().splitlines()[-1]
        graded = ok("grad", AB, "--at", "a=3,b=2", "--mode", mode).rstrip().splitlines()[-1]
        assert traced == graded and traced.startswith(f"{mode} mode: ")
    assert "passes" not in ok("trace", AB, "--at", "a=3,b=2")


def test_forward_mode_json() -> None:
    doc = as_json("trace", AB, "--at", "a=3,b=2", "--mode", "forward")
    assert list(doc) == ["expression", "value", "at", "gradient", "mode", "passes", "nodes"]
    assert doc["mode"] == "forward" and doc["passes"] == {"forward": 2, "reverse": 0}
    assert doc["gradient"] == as_json("grad", AB, "--at", "a=3,b=2", "--mode",
                                      "forward")["gradient"]
    for n in doc["nodes"]:
        assert list(n) == ["id", "name", "op", "text", "inputs", "value", "local", "tangent"]
    assert [n["tangent"] for n in doc["nodes"]] == [
        {"a": 1, "b": 0}, {"a": 0, "b": 1}, {"a": 1, "b": 1}, {"a": 0, "b": 0},
        {"a": 0, "b": 1}, {"a": 3, "b": 8}]
    reverse = as_json("trace", AB, "--at", "a=3,b=2", "--mode", "reverse")
    assert reverse["mode"] == "reverse" and reverse["passes"] == {"forward": 1, "reverse": 1}
    assert all("grad" in n for n in reverse["nodes"])


def test_forward_mode_wrt_and_plain() -> None:
    text = ok("trace", AB, "--at", "a=3,b=2", "--mode", "forward", "--wrt", "b")
    assert "∂node/∂b" in text and "∂node/∂a" not in text
    assert "3 * 1 + 5 * 1 = 8" in text
    plain = ok("trace", AB, "--at", "a=3,b=2", "--mode", "forward", "--format", "plain")
    assert plain.splitlines()[-1] == "5\tf\tmul\t15\t3\t8"
    doc = as_json("trace", AB, "--at", "a=3,b=2", "--wrt", "b")
    assert doc["gradient"] == {"b": 8}


@pytest.mark.parametrize(("args", "message"), [
    (["trace", "sum(X)", "--at", "X=[1,2]", "--mode", "forward"], "forward mode works on scalar"),
    (["trace", AB, "--at", "a=3,b=2", "--mode", "forward", "--seed-grad", "2"],
     "--seed-grad starts the backward sweep"),
    (["trace", AB, "--at", "a=3,b=2", "--wrt", "z"], "--wrt names z"),
    (["trace", AB, "--at", "a=3,b=2", "--mode", "sideways"], ""),
])
def test_usage_errors(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
