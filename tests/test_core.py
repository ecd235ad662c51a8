"""Regression tests for the bugs issue 10 lists, through the CLI and the library: one
prepare -> evaluate path (one --wrt rule, one reverse sweep), a graph that cannot go stale,
--batch lines that never stop each other, errors in the user's words, x^0 at 0, trace's
node order, duplicate names and the JSON "expression".

Each was reproduced before it was fixed."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import autodiff_cli
from autodiff_cli import core
from autodiff_cli.errors import MathError

Invoke = Callable[..., Any]
PACKAGE = Path(autodiff_cli.__file__).resolve().parent

# -- one --wrt rule: only the partials asked for are computed -------------------------------

WRT_Y = ("sqrt(x)*y", "--at", "x=0,y=1", "--wrt", "y")  # d/dx is infinite; d/dy = sqrt(0) = 0


@pytest.mark.parametrize("command", [
    ["grad"], ["grad", "--mode", "forward"], ["grad", "--mode", "reverse"],
    ["grad", "--order", "1"], ["grad", "--order", "2"], ["grad", "--check"],
    ["trace"], ["trace", "--mode", "forward"], ["hessian"],
], ids=" ".join)
def test_wrt_y_needs_no_derivative_by_x(cli: Invoke, command: list[str]) -> None:
    r = cli(*command, *WRT_Y, "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["value"], doc["gradient"]) == (0.0, {"y": 0.0})
    if command == ["hessian"]:
        assert doc["hessian"] == {"y": {"y": 0.0}}
    if "--order" in command and command[-1] == "2":
        assert doc["derivative"] == {"y": 0.0}


@pytest.mark.parametrize("fmt", ["table", "plain"])
def test_wrt_y_in_trace_tables(cli: Invoke, fmt: str) -> None:
    r = cli("trace", *WRT_Y, "--format", fmt)
    assert r.exit_code == 0, r.stderr


def test_wrt_y_in_check(cli: Invoke) -> None:
    r = cli("check", "sqrt(x)*y", "--at", "x=0,y=1", "--expect", "y=0", "--value", "0",
            "--format", "plain")
    assert (r.exit_code, r.stdout) == (0, "value 0 0 ok\nd/dy 0 0 ok\n"), r.stderr
    # asking for x as well is asking for the infinite slope
    r = cli("check", "sqrt(x)*y", "--at", "x=0,y=1", "--expect", "x=0,y=0")
    assert r.exit_code == 1 and "sqrt: the derivative is not finite" in r.stderr


@pytest.mark.parametrize("wrt", ["y", ["y"]])
def test_wrt_y_in_a_batch_line(cli: Invoke, wrt: Any) -> None:
    line = json.dumps({"id": 1, "expr": "sqrt(x)*y", "at": "x=0,y=1", "wrt": wrt})
    r = cli("grad", "--batch", "-", input=line + "\n")
    assert r.exit_code == 0, r.stdout
    assert json.loads(r.stdout)["gradient"] == {"y": 0.0}


def test_wrt_y_in_diff(cli: Invoke) -> None:
    r = cli("diff", "sqrt(x)*y", "--wrt", "y")
    assert (r.exit_code, r.stdout) == (0, "sqrt(x)\n")
    value = core.evaluate(core.prepare(r.stdout, {"x": 0.0, "y": 1.0}), backward=False).value
    assert value == 0.0


def test_wrt_y_in_the_library() -> None:
    from autodiff_cli import api, grading, higher, trace

    at = {"x": 0.0, "y": 1.0}
    assert api.grad("sqrt(x)*y", at, ["y"]).gradient == {"y": 0.0}
    assert api.grad("sqrt(x)*y", at, ["y"], mode="forward").gradient == {"y": 0.0}
    assert higher.hessian("sqrt(x)*y", at, ["y"]).hessian == {"y": {"y": 0.0}}
    assert higher.higher("sqrt(x)*y", at, ["y"], 2).derivative == {"y": 0.0}
    assert trace.trace("sqrt(x)*y", at, ["y"]).result().gradient == {"y": 0.0}
    assert grading.check_answers("sqrt(x)*y", at, {"y": 0.0}).ok
    with pytest.raises(MathError, match="sqrt: the derivative is not finite"):
        api.grad("sqrt(x)*y", at)  # all of them: x too


# -- a graph that cannot go stale ----------------------------------------------------------

STALE = "b = 2*a; c = a*a"


def test_another_output_is_a_new_graph_with_its_own_plan() -> None:
    graph = core.compile(STALE, ["a"])
    b = graph.labels.index("b")
    p = core.prepare(STALE, {"a": 3.0})
    assert core.evaluate(p).gradient == {"a": 6.0}  # plans for c exist now
    e = core.evaluate(p.with_graph(graph.with_output(b)))
    assert (e.value, e.gradient) == (6.0, {"a": 2.0})  # was 0.0: the plan of c
    assert graph.output == graph.labels.index("c")  # the original is untouched
    assert core.evaluate(p.with_graph(graph)).gradient == {"a": 6.0}


@pytest.mark.parametrize("change", [
    lambda g: g.set_output(g.labels.index("b")),
    lambda g: g.add(g.ops[-1], (0, 0)),
    lambda g: g.variable("z"),
    lambda g: g.constant(1.0),
    lambda g: g.name(0, "renamed"),
    lambda g: g.order_variables(["a"]),
], ids=["set_output", "add", "variable", "constant", "name", "order_variables"])
def test_a_compiled_graph_refuses_changes(change: Callable[[Any], Any]) -> None:
    graph = core.compile(STALE, ["a"])
    with pytest.raises(RuntimeError, match="frozen"):
        change(graph)
    assert core.evaluate(core.prepare(STALE, {"a": 3.0}).with_graph(graph)).gradient == \
        {"a": 6.0}


# -- --batch: a bad line never stops the others ---------------------------------------------


def test_batch_array_values_are_per_line_errors(cli: Invoke) -> None:
    lines = [{"id": 1, "expr": "sum(x)", "at": "x=[1,2]"},
             {"id": 2, "expr": "sum(X)", "at": {"X": "[[1,2],[3,4]]"}},
             {"id": 3, "expr": "x*x", "at": "x=3"},
             {"id": 4, "expr": "x*y", "at": {"x": 2, "y": "pi"}, "wrt": ["x"]}]
    r = cli("grad", "--batch", "-", input="".join(json.dumps(x) + "\n" for x in lines))
    assert "internal" not in r.stdout + r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, 2, 3, 4]
    for o in out[:2]:
        assert o["error"]["kind"] in ("input", "usage"), o
        assert "array" in o["error"]["message"], o
    assert (out[2]["value"], out[2]["gradient"]) == (9.0, {"x": 6.0})
    assert out[3]["gradient"] == {"x": pytest.approx(3.141592653589793)}
    assert r.exit_code == 1


# -- errors name the user's inputs ----------------------------------------------------------


def test_division_by_zero_names_the_users_values(cli: Invoke) -> None:
    r = cli("grad", "y/x", "--at", "x=0,y=1")
    assert r.exit_code == 1
    message = r.stderr.splitlines()[0]
    assert "division by zero" in message and "x = 0" in message, message
    assert "x = 1" not in message and "y = 0" not in message, message  # not the op's x, y


def test_log_base_is_named_as_the_user_wrote_it(cli: Invoke) -> None:
    r = cli("grad", "log(y, x)", "--at", "x=2,y=-1")
    message = r.stderr.splitlines()[0]
    assert r.exit_code == 1
    assert "(y > 0, x > 0, x != 1) at y = -1, x = 2" in message, message
    assert not re.search(r"\bb\b", message), message  # logb's own name for its base
    r = cli("trace", "log(y, x)", "--at", "x=2,y=3", "--format", "plain")
    assert r.exit_code == 0
    table = cli("trace", "log(y, x)", "--at", "x=2,y=3").stdout
    assert "∂f/∂y = 1/(y*log(x))" in table and "∂f/∂x = -f/(x*log(x))" in table, table


def test_the_hint_of_a_half_power_names_its_base(cli: Invoke) -> None:
    r = cli("grad", "a^0.5", "--at", "a=0")
    assert r.exit_code == 1
    hint = [line for line in r.stderr.splitlines() if line.startswith("hint:")]
    assert hint and "a = 0" in hint[0], r.stderr
    assert "d/dy" not in r.stderr and not re.search(r"\b[xy]\b", hint[0]), r.stderr
    assert "with respect to a" in r.stderr


# -- d/dx x^0 at 0 --------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["grad"], ["grad", "--mode", "forward"], ["trace"],
                                     ["grad", "--order", "1"]], ids=" ".join)
def test_x_to_the_0_at_0_has_slope_0(cli: Invoke, command: list[str]) -> None:
    r = cli(*command, "x^0", "--at", "x=0", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert (json.loads(r.stdout)["value"], json.loads(r.stdout)["gradient"]) == \
        (1.0, {"x": 0.0})


def test_x_to_the_0_at_0_in_check_and_diff(cli: Invoke) -> None:
    assert cli("check", "x^0", "--at", "x=0", "--expect", "x=0").exit_code == 0
    assert cli("diff", "x^0", "--wrt", "x").stdout == "0\n"


@pytest.mark.parametrize("command", [["hessian"], ["grad", "--order", "2"]], ids=" ".join)
def test_x_to_the_0_at_0_has_second_derivative_0(cli: Invoke, command: list[str]) -> None:
    r = cli(*command, "x^0", "--at", "x=0", "--format", "json")
    assert r.exit_code == 0, r.stderr


# -- trace: the output is the last node -----------------------------------------------------


@pytest.mark.parametrize("at", ["x=1,y=2", "y=2,x=1"])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_trace_json_ends_with_the_output(cli: Invoke, at: str, mode: str) -> None:
    r = cli("trace", "x*2", "--at", at, "--mode", mode, "--format", "json")
    assert r.exit_code == 0, r.stderr
    nodes = json.loads(r.stdout)["nodes"]
    assert (nodes[-1]["op"], nodes[-1]["text"], nodes[-1]["value"]) == ("mul", "x*2", 2.0)
    assert sorted(n["name"] for n in nodes if n["op"] == "var") == ["x", "y"]


# -- one reverse sweep ----------------------------------------------------------------------


def _one_node(it: ast.expr) -> bool:
    """reversed(n.inputs), reversed(args): one node's inputs, as a depth-first walk pushes
    them on its stack, not a sweep over the graph."""
    arg = it.args[0] if isinstance(it, ast.Call) and it.args else \
        it.value if isinstance(it, ast.Subscript) else None  # n.inputs[::-1]
    name = arg.attr if isinstance(arg, ast.Attribute) else arg.id if isinstance(arg, ast.Name) \
        else ""
    return name in ("inputs", "args")


def _backward_loops(path: Path) -> list[str]:
    """function names holding a loop (for or comprehension) over something reversed:
    reversed(...) (but one node's inputs), range(..., ..., -k), x[::-k]; and .reverse()."""
    found: list[str] = []

    def backwards(it: ast.expr) -> bool:
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name):
            if it.func.id == "reversed":
                return not _one_node(it)
            if it.func.id == "range" and len(it.args) == 3:
                step = it.args[2]
                return isinstance(step, ast.UnaryOp) and isinstance(step.op, ast.USub)
        return isinstance(it, ast.Subscript) and isinstance(it.slice, ast.Slice) and \
            isinstance(it.slice.step, ast.UnaryOp) and not _one_node(it)

    def visit(node: ast.AST, where: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            where = f"{where}.{node.name}" if where else node.name
        if isinstance(node, (ast.For, ast.comprehension)) and backwards(node.iter):
            found.append(where)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "reverse":
            found.append(where)
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def test_one_reverse_sweep_in_the_source() -> None:
    loops = {f"{p.relative_to(PACKAGE).as_posix()}:{where}"
             for p in sorted(PACKAGE.rglob("*.py")) for where in _backward_loops(p)}
    assert loops == {"engine.py:Graph._build_sweep"}
    text = (PACKAGE / "engine.py").read_text(encoding="utf-8")
    assert text.count("range(n - 1, -1, -1)") == 1


def test_the_scan_sees_a_second_sweep(tmp_path: Path) -> None:
    """The scan above can fail: it finds each way of writing a backward loop."""
    copy = tmp_path / "sweeps.py"
    copy.write_text("def a(g):\n    for i in reversed(g): pass\n"
                    "def b(g):\n    return [i for i in range(len(g) - 1, -1, -1)]\n"
                    "class C:\n    def c(self, g):\n        for x in g[::-1]: pass\n"
                    "def d(g):\n    g.reverse()\n"
                    "def e(g):\n    stack = []\n    stack.extend(reversed(g))\n"
                    "def f(n):\n    return [(a, 1) for a in reversed(n.inputs)]\n")
    assert _backward_loops(copy) == ["a", "b", "C.c", "d"]


# -- duplicate names are refused (open: the lead is fixing them) ----------------------------

DUPLICATES = "duplicate names are last-wins; they must be refused (exit 2)"


@pytest.mark.parametrize("args", [
    ["grad", "x", "--at", "x=1,x=2"],
    ["grad", "x", "--at", "x=1", "--at", "x=2"],
    ["trace", "x", "--at", "x=1,x=2"],
    ["hessian", "x", "--at", "x=1,x=2"],
    ["check", "x", "--at", "x=1", "--expect", "x=2,x=3"],
    ["check", "x", "--at", "x=1,x=1", "--expect", "x=1"],
], ids=" ".join)
def test_duplicate_names_are_refused(cli: Invoke, args: list[str]) -> None:
    r = cli(*args)
    assert r.exit_code == 2, r.stdout
    assert "x" in r.stderr


@pytest.mark.parametrize("line", ['{"id": 1, "expr": "x", "at": "x=3,x=4"}',
                                  '{"id": 1, "expr": "x", "at": {"x": 3, "x": 4}}'],
                         ids=["string", "object"])
def test_duplicate_names_in_a_batch_line_are_its_error(cli: Invoke, line: str) -> None:
    r = cli("grad", "--batch", "-", input=line + '\n{"id": 2, "expr": "x", "at": "x=1"}\n')
    first, second = (json.loads(x) for x in r.stdout.splitlines())
    assert first["error"]["kind"] in ("usage", "input"), first
    assert second["gradient"] == {"x": 1.0}


# -- the JSON "expression" is the source, without the line end of stdin or --file (open) ----

JSON_COMMANDS = [["grad"], ["grad", "--mode", "forward"], ["grad", "--order", "1"],
                 ["trace"], ["hessian"], ["diff", "--wrt", "x"]]


@pytest.mark.parametrize("source", ["stdin", "file"])
@pytest.mark.parametrize("command", JSON_COMMANDS, ids=" ".join)
def test_json_expression_has_no_line_end(cli: Invoke, tmp_path: Path, command: list[str],
                                         source: str) -> None:
    at = [] if command[0] == "diff" else ["--at", "x=1"]
    path = tmp_path / "f.txt"
    path.write_text("x*x\n", encoding="utf-8")
    where = ["-"] if source == "stdin" else ["--file", str(path)]
    r = cli(command[0], *where, *command[1:], *at, "--format", "json", input="x*x\n")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["expression"] == "x*x"
