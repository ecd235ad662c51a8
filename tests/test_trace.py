"""autodiff trace and autodiff graph: the report, its tables, JSON, DOT and Mermaid.

Golden files are rendered with NO_COLOR=1 COLUMNS=100; regenerate them with
UPDATE_GOLDEN=1 pytest tests/test_trace.py and check the diff by hand against the seed."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autodiff_cli.api import compile, grad
from autodiff_cli.cli import app
from autodiff_cli.ops import OPS
from autodiff_cli.render.dot import dot_escape, mermaid_escape, to_dot, to_mermaid
from autodiff_cli.render.trace import chain_text, local_text, product_text, term_lines
from autodiff_cli.trace import TraceReport, rule_text, trace

GOLDEN = Path(__file__).parent / "golden"
ENV = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None, "TERM": "dumb"}
SLIDE = "b = 4*a; c = b + 3; d = a + 2; e = c*d"
AB = "(a+b)*(b+1)"


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=input, env=ENV)


def by_name(r: TraceReport, name: str) -> int:
    (i,) = [n.id for n in r.nodes if n.name == name and n.op != "const"]
    return i


def chain(r: TraceReport) -> dict[str, str]:
    return {r.nodes[c.node].name: chain_text(r, c) for c in r.sums}


# -- the seed's two examples ---------------------------------------------------------------

def test_slide_chain_rule_lines_are_the_slides() -> None:
    r = trace(SLIDE, a=3)
    assert [chain_text(r, c) for c in r.sums] == [
        "∂e/∂e = 1", "∂e/∂c = d = 5", "∂e/∂d = c = 15", "∂e/∂b = 5 * 1 = 5",
        "∂e/∂a = 20 + 15 = 35"]
    a = next(c for c in r.sums if c.node == by_name(r, "a"))
    assert term_lines(r, a) == ["∂e/∂b * ∂b/∂a = 5 * 4 = 20", "∂e/∂d * ∂d/∂a = 15 * 1 = 15"]


def test_slide_report_numbers() -> None:
    r = trace(SLIDE, a=3)
    assert r.value == 75 and r.gradient == {"a": 35} and r.output_name == "e"
    assert [n.name for n in r.nodes] == ["4", "a", "b", "3", "c", "2", "d", "e"]
    assert [n.op for n in r.nodes] == ["const", "var", "mul", "const", "add", "const", "add",
                                       "mul"]
    assert [r.nodes[i].name for i in r.order] == ["e", "c", "d", "b", "a"]
    grads = {n.name: n.grad for n in r.nodes if n.op != "const"}
    assert grads == {"a": 35, "b": 5, "c": 5, "d": 15, "e": 1}
    steps = [(r.nodes[s.node].name, r.nodes[s.input].name, s.rule, s.local, s.contribution)
             for s in r.steps]
    assert steps == [("e", "c", "d", 5, 5), ("e", "d", "c", 15, 15), ("c", "b", "1", 1, 5),
                     ("d", "a", "1", 1, 15), ("b", "a", "4", 4, 20)]
    first = r.steps[0]
    assert local_text(r, first) == "∂e/∂c = d = 5"
    assert product_text(r, first) == "1 * 5 = 5"


def test_ab_gradient_of_b_is_two_terms() -> None:
    r = trace(AB, a=3, b=2)
    assert r.output_name == "f" and r.value == 15 and r.gradient == {"a": 3, "b": 8}
    b = next(c for c in r.sums if c.node == by_name(r, "b"))
    assert [(r.nodes[s.node].name, s.contribution) for s in b.terms] == [("v1", 3), ("v2", 5)]
    lines = chain(r)
    assert lines["b"] == "∂f/∂b = 3 + 5 = 8"
    assert lines["a"] == "∂f/∂a = 3 * 1 = 3"
    assert term_lines(r, b) == ["∂f/∂v1 * ∂v1/∂b = 3 * 1 = 3", "∂f/∂v2 * ∂v2/∂b = 5 * 1 = 5"]


@pytest.mark.parametrize(("name", "args"), [
    ("trace_slide.txt", ["trace", SLIDE, "--at", "a=3", "--graph"]),
    ("trace_ab.txt", ["trace", AB, "--at", "a=3,b=2", "--graph"]),
])
def test_golden(name: str, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    text = "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_golden_slide_shows_every_line_of_the_slide() -> None:
    text = (GOLDEN / "trace_slide.txt").read_text(encoding="utf-8")
    for line in ["∂e/∂e = 1", "∂e/∂c = d = 5", "∂e/∂d = c = 15", "∂e/∂b = 5 * 1 = 5",
                 "5 * 4 = 20", "15 * 1 = 15", "∂e/∂a = 20 + 15 = 35"]:
        assert line in text


# -- rules from the op table, substituted generically ----------------------------------------

@pytest.mark.parametrize(("op", "k"), [(op.name, k) for op in OPS.values()
                                       for k in range(op.arity)])
def test_rule_with_its_own_names_is_the_rule(op: str, k: int) -> None:
    assert rule_text(op, k, "x", "y", "z") == OPS[op].rules[k]


@pytest.mark.parametrize(("op", "k"), [(op.name, k) for op in OPS.values()
                                       for k in range(op.arity) if not op.vjp])
def test_substituted_rule_evaluates_to_the_local_derivative(op: str, k: int) -> None:
    """Read back as an expression over p, q, r, the substituted rule gives graph.local."""
    x, y = 0.3, 1.7
    row = OPS[op]
    z = row.forward(x, y) if row.arity == 2 else row.forward(x)
    check = compile(rule_text(op, k, "p", "q" if row.arity == 2 else "p", "r"), ["p", "q", "r"])
    value = check.at({"p": x, "q": y, "r": z}).forward()
    assert math.isclose(value, _local(op, k, x, y), rel_tol=1e-12, abs_tol=1e-12)


def _local(op: str, k: int, x: float, y: float) -> float:
    from autodiff_cli.engine import Graph

    graph = Graph()
    p = graph.variable("p")
    q = graph.variable("q")
    row = OPS[op]
    graph.set_output(graph.add(row, (p, q) if row.arity == 2 else (p,)))
    state = graph.at({"p": x, "q": y})
    state.forward()
    return float(state.local(graph.output, k))


def test_names_that_are_not_one_token_get_parentheses() -> None:
    assert rule_text("div", 1, "-2", "v1", "v2") == "-(-2)/v1^2"
    assert rule_text("pow", 0, "a", "b", "c") == "b*a^(b - 1)"
    assert rule_text("sigmoid", 0, "x1", "x1", "v3") == "v3*(1 - v3)"
    assert rule_text("mul", 0, "4", "a", "b") == "a"
    assert rule_text("exp", 0, "t", "t", "1e-3") == "1e-3"


# -- names and order -------------------------------------------------------------------------

def test_fresh_names_skip_the_programs_own() -> None:
    r = trace("v1*a + a*a", v1=1, a=2)
    names = [n.name for n in r.nodes if n.op != "const"]
    assert names == ["v1", "a", "v2", "v3", "f"]
    assert len(set(names)) == len(names)


def test_output_named_f_when_f_is_taken() -> None:
    r = trace("f*g", f=2, g=3)
    assert r.output_name == "out"
    assert chain(r)["f"] == "∂out/∂f = g = 3"


def test_output_is_the_last_assignment_or_a_bare_name() -> None:
    assert trace("b = 2*a; b", a=1).output_name == "b"
    assert trace("a", a=1).output_name == "a"
    assert trace("b = 2*a; c = b + 1", a=1).output_name == "c"


def test_backward_order_puts_every_node_after_its_consumers() -> None:
    r = trace("u = x*y; v = u + x; w = sin(v)*u; w*v + x", x=0.5, y=2)
    position = {i: k for k, i in enumerate(r.order)}
    for i in r.order:
        for a in r.nodes[i].inputs:
            if a in position:
                assert position[a] > position[i]
    assert set(r.order) == {n.id for n in r.nodes if n.op != "const"}


def test_sum_of_terms_is_the_engines_gradient() -> None:
    r = trace("u = x*y; v = u + x; w = sin(v)*u; w*v + x", x=0.5, y=2)
    for c in r.sums:
        if c.node != r.output:
            assert math.isclose(sum(s.contribution for s in c.terms), r.nodes[c.node].grad)
    expected = grad("u = x*y; v = u + x; w = sin(v)*u; w*v + x", x=0.5, y=2).gradient
    assert r.gradient == expected


def test_unused_variable_and_dead_statement() -> None:
    r = trace("u = 2*a; a*a", a=3, y=1)
    assert chain(r)["y"] == "∂f/∂y = 0"
    y = next(c for c in r.sums if c.node == by_name(r, "y"))
    assert term_lines(r, y) == ["f does not depend on y"]
    u = by_name(r, "u")
    assert u not in r.order and r.nodes[u].grad == 0


def test_negative_terms_subtract() -> None:
    r = trace("x*x - 3*x", x=1)
    assert chain(r)["x"] == "∂f/∂x = 1 + 1 - 3 = -1"
    assert "1 * (-1) = -1" in [product_text(r, s) for s in r.steps]


# -- the trace command ---------------------------------------------------------------------

def test_trace_reads_stdin_and_file(tmp_path: Path) -> None:
    path = tmp_path / "slide.txt"
    path.write_text("b = 4*a\nc = b + 3\nd = a + 2\ne = c*d\n", encoding="utf-8")
    from_file = run("trace", "--file", str(path), "--at", "a=3")
    from_stdin = run("trace", "-", "--at", "a=3", input=SLIDE)
    assert from_file.exit_code == from_stdin.exit_code == 0
    for result in (from_file, from_stdin):
        assert "∂e/∂a = 20 + 15 = 35" in result.stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (["trace", "log(x)", "--at", "x=-1"], 1, "outside the domain"),
    (["trace", "x +", "--at", "x=1"], 2, "unexpected end of input"),
    (["trace", "x*y", "--at", "x=1"], 2, "y has no value"),
    (["trace", "--at", "x=1"], 2, "missing EXPR"),
    (["trace", "x", "--at", "x=1", "--max-rows", "-1"], 2, ""),
    (["graph", "x*y", "--at", "x=1"], 2, "y has no value"),
    (["graph", "1/x", "--at", "x=0"], 1, "division by zero"),
])
def test_errors_exit_with_their_code(args: list[str], code: int, message: str) -> None:
    result = run(*args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_long_tables_are_cut_with_a_note() -> None:
    expr = " + ".join(f"x*{k}" for k in range(1, 101))
    cut = run("trace", expr, "--at", "x=2", "--max-rows", "20")
    assert cut.exit_code == 0
    assert "⋮" in cut.stdout
    assert "280 of 300 rows not shown; --max-rows 0 shows all" in cut.stdout
    whole = run("trace", expr, "--at", "x=2", "--max-rows", "0")
    assert "rows not shown" not in whole.stdout
    assert whole.stdout.count("\n") > 3 * cut.stdout.count("\n")
    default = run("trace", expr, "--at", "x=2")
    assert "100 of 300 rows not shown" in default.stdout


def test_long_chain_rule_sums_are_cut() -> None:
    expr = " + ".join(["x*x"] * 20)
    r = trace(expr, x=1)
    x = next(c for c in r.sums if c.node == by_name(r, "x"))
    assert chain_text(r, x, 10) == "∂f/∂x = " + " + ".join(["1"] * 10) + (
        " + … (30 more terms) = 40")
    assert len(term_lines(r, x, 10)) == 11 and len(term_lines(r, x)) == 40
    short = run("trace", expr, "--at", "x=1")
    assert "… 30 more terms" in short.stdout
    whole = run("trace", expr, "--at", "x=1", "--max-rows", "0")
    assert "more terms" not in whole.stdout


def test_plain_lists_every_node() -> None:
    result = run("trace", AB, "--at", "a=3,b=2", "--format", "plain")
    assert result.stdout.splitlines() == [
        "0\ta\tvar\t3\t3", "1\tb\tvar\t2\t8", "2\tv1\tadd\t5\t3", "3\t1\tconst\t1\t0",
        "4\tv2\tadd\t3\t5", "5\tf\tmul\t15\t1"]


def test_user_text_is_not_rich_markup() -> None:
    result = run("trace", "sum(x*[1, 2]) + sum([3, 4]*x)", "--at", "x=2", "--graph")
    assert result.exit_code == 0, result.output
    assert "x*[1, 2]" in result.stdout and "[3, 4]*x" in result.stdout


# -- JSON ------------------------------------------------------------------------------------

NODE_KEYS = {"id", "name", "op", "text", "inputs", "value", "local", "grad"}


def trace_json(*args: str) -> dict[str, Any]:
    result = run("trace", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_json_schema() -> None:
    doc = trace_json(SLIDE, "--at", "a=3")
    assert list(doc) == ["expression", "value", "at", "gradient", "nodes"]
    assert doc["expression"] == SLIDE and doc["value"] == 75
    assert doc["at"] == {"a": 3} and doc["gradient"] == {"a": 35}
    for k, node in enumerate(doc["nodes"]):
        assert set(node) == NODE_KEYS
        assert node["id"] == k
        assert all(isinstance(a, int) and a < k for a in node["inputs"])
        assert set(node["local"]) <= {str(a) for a in node["inputs"]}
        assert all(isinstance(x, float) for x in node["local"].values())
        assert isinstance(node["value"], float) and isinstance(node["grad"], float)
        assert (node["op"] in ("var", "const")) == (not node["inputs"])
    ops = [(n["op"], n["text"]) for n in doc["nodes"]]
    assert ops == [("const", "4"), ("var", "a"), ("mul", "4*a"), ("const", "3"),
                   ("add", "b + 3"), ("const", "2"), ("add", "a + 2"), ("mul", "c*d")]
    e = doc["nodes"][-1]
    assert e["local"] == {"4": 5, "6": 15} and e["grad"] == 1
    b = doc["nodes"][2]
    assert b["local"] == {"1": 4} and b["grad"] == 5  # no local for the constant 4


def test_json_keeps_full_precision_and_sums_a_repeated_input() -> None:
    doc = trace_json("x*x/3", "--at", "x=1")
    assert doc["value"] == 1 / 3
    square = doc["nodes"][1]
    assert square["op"] == "mul" and square["inputs"] == [0, 0]
    assert square["local"] == {"0": 2.0}
    assert doc["gradient"] == {"x": 2 / 3}


def test_json_gradient_matches_grad() -> None:
    doc = trace_json(AB, "--at", "a=3,b=2")
    plain = json.loads(run("grad", AB, "--at", "a=3,b=2", "--format", "json").stdout)
    for key in ("expression", "value", "at", "gradient"):
        assert doc[key] == plain[key]


def test_arrays_show_their_shape() -> None:
    import numpy as np

    from autodiff_cli.render import print_table
    from autodiff_cli.render.trace import trace_json as to_json
    from autodiff_cli.render.trace import trace_table

    x = np.arange(12.0).reshape(4, 3) / 10
    w = np.eye(3)
    r = trace("mean(sigmoid(X @ W), 1) * 2", X=x, W=w)
    doc = json.loads(json.dumps(to_json(r)))
    assert doc["value"]["shape"] == [4] and len(doc["value"]["data"]) == 4
    assert doc["reduced"] == "sum"
    assert doc["gradient"]["W"] == {"shape": [3, 3], "data": grad(
        "mean(sigmoid(X @ W), 1) * 2", X=x, W=w).gradient["W"].tolist()}
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert nodes["X"]["value"]["shape"] == [4, 3] and nodes["X"]["grad"]["shape"] == [4, 3]
    assert np.shape(nodes["X"]["grad"]["data"]) == (4, 3)
    assert nodes["v1"]["local"] == {"0": None, "1": None}  # matmul: a vector-Jacobian product
    assert nodes["v1"]["vjp"] == {"0": "∂f/∂v1 @ Wᵀ", "1": "Xᵀ @ ∂f/∂v1"}
    assert nodes["v2"]["local"]["2"]["shape"] == [4, 3]

    class Out:
        def __init__(self) -> None:
            self.parts: list[str] = []

        def write(self, s: str) -> int:
            self.parts.append(s)
            return len(s)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return False

    out = Out()
    print_table(trace_table(r, False, tree=True), out)  # type: ignore[arg-type]
    text = "".join(out.parts)
    assert "(4x3)" in text and "vector-Jacobian product" in text
    assert "value (3x3)" in text
    assert to_dot(r).count(" -> ") == sum(len(n.inputs) for n in r.nodes)


# -- pictures --------------------------------------------------------------------------------

def _pydot_counts(text: str) -> tuple[int, int]:
    import pydot

    (g,) = pydot.graph_from_dot_data(text)
    nodes = [n for n in g.get_nodes() if n.get_name() not in ("node", "edge", "graph")]
    return len(nodes), len(g.get_edges())


@pytest.mark.parametrize(("expr", "at", "nodes", "edges"), [
    (SLIDE, "a=3", 8, 8), (AB, "a=3,b=2", 6, 6), ("x*x", "x=2", 2, 2),
    ("θ*sin(θ) + 1", "θ=1", 5, 5),
])
def test_dot_parses_back(expr: str, at: str, nodes: int, edges: int) -> None:
    result = run("graph", expr, "--at", at)
    assert result.exit_code == 0, result.output
    assert _pydot_counts(result.stdout) == (nodes, edges)


def test_dot_labels() -> None:
    text = to_dot(trace(SLIDE, a=3))
    assert 'n7 [label="e\\nmul\\nvalue = 75\\n∂e/∂e = 1", penwidth=2];' in text
    assert 'n4 -> n7 [label="∂e/∂c = d = 5"];' in text
    assert "n0 -> n2;" in text  # the constant 4: no gradient flows, no label


def test_dot_escape_round_trips_through_pydot() -> None:
    import pydot

    nasty = 'say "hi" \\N [red]x {a|b} <b>'
    (g,) = pydot.graph_from_dot_data(f'digraph {{ n0 [label="{dot_escape(nasty)}"]; }}')
    (node,) = [n for n in g.get_nodes() if n.get_name() == "n0"]
    assert node.get_label() == '"' + dot_escape(nasty) + '"'
    assert dot_escape("a\nb") == "a\\nb" and dot_escape('"') == '\\"'


def test_mermaid_sanity() -> None:
    r = trace(SLIDE, a=3)
    text = to_mermaid(r)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    node_lines = [line for line in lines[1:] if "-->" not in line]
    edge_lines = [line for line in lines[1:] if "-->" in line]
    assert len(node_lines) == len(r.nodes) and len(edge_lines) == 8
    for line in node_lines:
        label = line.split('["', 1)[1].rsplit('"]', 1)[0]
        assert '"' not in label
    assert '  n4 -->|"∂e/∂c = d = 5"| n7' in lines
    assert '  n0 --> n2' in lines
    assert mermaid_escape('a"b#c<d>&`') == "a#quot;b#35;c#lt;d#gt;#amp;#96;"
    assert mermaid_escape("[red]x (y)") == "[red]x (y)"


def test_graph_writes_text_files(tmp_path: Path) -> None:
    dot = tmp_path / "g.dot"
    mmd = tmp_path / "g.mmd"
    assert run("graph", AB, "--at", "a=3,b=2", "-o", str(dot)).exit_code == 0
    assert run("graph", AB, "--at", "a=3,b=2", "--format", "mermaid", "--output",
               str(mmd)).exit_code == 0
    assert dot.read_text(encoding="utf-8").startswith("digraph autodiff {")
    assert mmd.read_text(encoding="utf-8").startswith("flowchart LR")


def test_mermaid_cannot_be_an_image(tmp_path: Path) -> None:
    result = run("graph", AB, "--at", "a=3,b=2", "--format", "mermaid", "-o",
                 str(tmp_path / "g.svg"))
    assert result.exit_code == 2 and "--format dot" in result.stderr
    assert not (tmp_path / "g.svg").exists()


def test_without_dot_says_how_to_install_it(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = run("graph", AB, "--at", "a=3,b=2", "--output", str(tmp_path / "g.png"))
    assert result.exit_code == 2
    assert "apt-get install graphviz" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_renders_a_real_svg(tmp_path: Path) -> None:
    path = tmp_path / "slide.svg"
    result = run("graph", SLIDE, "--at", "a=3", "--output", str(path))
    assert result.exit_code == 0, result.output
    svg = path.read_text(encoding="utf-8")
    assert "<svg" in svg and svg.count('class="node"') == 8 and svg.count('class="edge"') == 8
    assert "∂e/∂c = d = 5" in svg


# -- big and deep graphs -----------------------------------------------------------------------

DEEP = "(" * 10_000 + "x" + "+1)" * 10_000


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ["trace", DEEP, "--at", "x=1", "--graph"],
    ["trace", DEEP, "--at", "x=1", "--format", "json"],
    ["graph", DEEP, "--at", "x=1"],
    ["graph", DEEP, "--at", "x=1", "--format", "mermaid"],
])
def test_ten_thousand_levels_do_not_recurse(args: list[str]) -> None:
    result = run(*args)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 0, result.output[-500:]
    if args[0] == "trace" and "--graph" in args:
        assert "… inputs deeper than 12 levels not drawn" in result.stdout
        assert "f = 10001" in result.stdout
    if "json" in args:
        doc = json.loads(result.stdout)
        assert len(doc["nodes"]) == 20_001 and doc["gradient"] == {"x": 1}
        assert max(len(n["text"]) for n in doc["nodes"]) < 250  # linear size


def test_tree_draws_a_shared_node_once() -> None:
    # each level uses the one below twice: drawn naively, 2^30 nodes
    program = "; ".join(["v0 = x"] + [f"v{k} = v{k - 1}*v{k - 1}" for k in range(1, 31)])
    result = run("trace", program, "--at", "x=1", "--graph", "--max-rows", "0")
    assert result.exit_code == 0, result.output[-500:]
    # one second use per expanded level: the root and depths 1 to 11 (depth 12 is not expanded)
    assert result.stdout.count("(drawn above)") == 12


def test_tables_never_show_minus_zero() -> None:
    r = trace("x - relu(-x)", x=1)
    texts = [product_text(r, s) for s in r.steps] + [chain_text(r, c) for c in r.sums]
    assert "-1 * 0 = 0" in texts and not any("-0" in t.replace("-0.", "") for t in texts)


def test_a_local_derivative_that_is_not_finite_is_explained() -> None:
    """d sqrt(b)/db is nan at b = 0; the gradient it meets is 0 and the use sends back 0:
    the table says why 0 * nan is 0 here."""
    from typer.testing import CliRunner

    from autodiff_cli.cli import app

    r = CliRunner().invoke(app, ["trace", "a*sqrt(b)", "--at", "a=0,b=0"],
                           env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    assert "0 * nan = 0" in r.stdout and "a zero factor wins" in r.stdout
    plain = CliRunner().invoke(app, ["trace", "(a+b)*(b+1)", "--at", "a=3,b=2"],
                               env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert "zero factor" not in plain.stdout
