"""Hardening (issue 6): size limits, no RecursionError on deep input, the numeric policy,
safety of what reaches a terminal, and what the command line itself refuses. The random
side of the same promises is tests/test_hardening_fuzz.py."""

from __future__ import annotations

import ast as pyast
import contextlib
import io
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CODE_ROOT, subprocess_env

from autodiff_cli import AutodiffError, MathError, grad, limits
from autodiff_cli.errors import LimitError, UsageError
from autodiff_cli.parse import parse

POINT = "a=0.5,b=1.5,x=1"


def ok(result: Any) -> Any:
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result


def failed(result: Any, code: int) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.output and "internal error" not in result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    return str(result.stderr)


def finite_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in JSON")

    data = json.loads(text, parse_constant=refuse)
    stack = [data]
    while stack:
        x = stack.pop()
        assert not isinstance(x, float) or math.isfinite(x), x
        stack.extend(x.values() if isinstance(x, dict) else x if isinstance(x, list) else [])
    return data


# -- size limits ------------------------------------------------------------------------------


def test_longer_input_than_max_chars_is_refused_before_parsing() -> None:
    with pytest.raises(LimitError) as info:
        parse("x" * (limits.MAX_CHARS + 1))
    assert info.value.exit_code == 2 and info.value.kind == "limit"
    assert f"{limits.MAX_CHARS:,}" in info.value.message


def test_tokens_are_counted_and_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_TOKENS", 1_001)
    assert len(parse("+".join(["1"] * 501)).stmts) == 1  # 1 001 tokens: the limit itself
    with pytest.raises(LimitError, match="1,003 tokens"):
        parse("+".join(["1"] * 502))
    with pytest.raises(LimitError):  # brackets count: they cost the parser as much
        parse("(" * 600 + "x" + ")" * 600)
    assert len(parse("x # " + "1 + " * 2000).stmts) == 1  # a comment is one token


def test_a_sum_over_the_token_limit_fails_at_once_with_exit_2(cli: Any) -> None:
    text = "x+" * (limits.MAX_TOKENS // 2 + 1) + "x"
    err = failed(cli("grad", "-", "--at", "x=1", input=text), 2)
    assert "tokens" in err and f"{limits.MAX_TOKENS:,}" in err


def test_standard_input_and_files_are_read_only_up_to_the_limit(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CHARS", 1_000)
    big = "x + " * 300 + "x"
    assert "standard input is longer than 1,000 characters" in \
        failed(cli("grad", "-", "--at", "x=1", input=big), 2)
    path = tmp_path / "big.txt"
    path.write_text(big, encoding="utf-8")
    assert "longer than 1,000 characters" in failed(cli("grad", "--file", str(path)), 2)
    assert "1,201 characters" in failed(cli("grad", big, "--at", "x=1"), 2)


@pytest.mark.slow
def test_hundred_thousand_nested_parentheses(cli: Any) -> None:
    depth = 100_000
    out = ok(cli("grad", "-", "--at", "x=2", "--format", "json",
                 input="(" * depth + "x" + ")" * depth)).stdout
    assert finite_json(out)["gradient"] == {"x": 1.0}


def test_trace_and_graph_report_at_most_max_report_tokens(
        cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_REPORT_TOKENS", 100)
    text = " + ".join(["x"] * 60)
    ok(cli("grad", text, "--at", "x=1"))
    for command in ("trace", "graph"):
        err = failed(cli(command, text, "--at", "x=1"), 2)
        assert "trace, graph" in err and "100" in err


def test_symbolic_graphs_are_limited(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_NODES", 500)
    text = "*".join(f"sin(x + {k})" for k in range(100))
    ok(cli("grad", text, "--at", "x=1"))
    for args in (["diff", text], ["hessian", text, "--at", "x=1"],
                 ["grad", text, "--at", "x=1", "--order", "2"]):
        assert "more than 500 nodes" in failed(cli(*args), 2)


def test_forward_mode_trace_keeps_a_bounded_number_of_tangents(
        cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_TANGENTS", 100)
    text = " + ".join(f"x{k}*x{k}" for k in range(10))
    at = ",".join(f"x{k}=1" for k in range(10))
    ok(cli("grad", text, "--at", at, "--mode", "forward"))  # keeps the output's tangents only
    assert "tangents" in failed(cli("trace", text, "--at", at, "--mode", "forward"), 2)


@pytest.mark.parametrize(("expr", "code"), [
    ("transpose(randn(1, 50000)) + randn(1, 50000)", 2),  # a broadcast of 2.5e9 entries
    ("transpose(randn(1, 50000)) @ randn(1, 50000)", 2),
    ("randn(100000, 1000)", 1),  # randn's own domain: at most 10^7 entries
])
def test_arrays_too_large_are_refused_before_they_are_made(cli: Any, expr: str,
                                                           code: int) -> None:
    err = failed(cli("grad", expr), code)
    assert "10,000,000" in err or "10^7 entries" in err
    assert "column" in err.splitlines()[0]


def test_many_arrays_together_are_limited(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_TOTAL_ENTRIES", 1_000)
    err = failed(cli("grad", "sum(randn(20, 20) + randn(20, 20) + randn(20, 20))"), 2)
    assert "more than 1,000 entries together" in err and "column" in err


def test_huge_csv_is_refused(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "1,2\n" * 600, encoding="utf-8")
    monkeypatch.setattr(limits, "MAX_CSV_BYTES", 1_000)
    assert "limit for a CSV file" in failed(cli("grad", "sum(X)", "--at", f"X={path}"), 2)
    monkeypatch.setattr(limits, "MAX_CSV_BYTES", 10_000)
    monkeypatch.setattr(limits, "MAX_ENTRIES", 1_000)
    assert "entries; the limit is 1,000" in failed(cli("grad", "sum(X)", "--at", f"X={path}"), 2)


def test_csv_header_with_escape_sequences_never_reaches_the_terminal(
        cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("\x1b[31mred,\x1b]0;title\x07\n1,2\n3,\x1b[2J\n", encoding="utf-8")
    err = failed(cli("grad", "sum(X)", "--at", f"X={path}"), 2)
    assert "\x1b" not in err and "\x07" not in err and "line 3, column 2" in err


@pytest.mark.slow
def test_huge_at_lists_and_deep_brackets(cli: Any) -> None:
    names = [f"v{k}" for k in range(3_000)]
    out = ok(cli("grad", "+".join(names), "--at", ",".join(f"{n}=1" for n in names),
                 "--format", "json")).stdout
    assert finite_json(out)["value"] == 3_000.0
    err = failed(cli("grad", "sum(x)", "--at", "x=" + "[" * 50_000 + "1" + "]" * 50_000), 2)
    assert "at most 32 dimensions" in err
    err = failed(cli("grad", "x", "--at", "x=" + "[" * 50_000), 2)
    assert "column" in err


def test_batch_lines_are_limited(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CHARS", 200)
    good = json.dumps({"id": 1, "expr": "x", "at": {"x": 2}})
    lines = [good, json.dumps({"id": 2, "expr": "x + " * 100 + "x", "at": {"x": 1}}), good,
             json.dumps({"id": [[[[]]]], "expr": "x", "at": {"x": 1}})]
    result = cli("grad", "--batch", "-", input="\n".join(lines) + "\n")
    assert result.exit_code == 1 and result.stderr == ""
    out = [finite_json(line) for line in result.stdout.splitlines()]
    assert [o.get("error", {}).get("kind") for o in out] == [None, "limit", None, None]
    assert out[3]["id"] == [[[[]]]]


def test_batch_ids_nested_too_deeply_are_refused(cli: Any) -> None:
    line = '{"id": ' + "[" * 101 + "]" * 101 + ', "expr": "x", "at": {"x": 1}}'
    out = finite_json(cli("grad", "--batch", "-", input=line).stdout)
    assert "nested more than 100 levels" in out["error"]["message"]


# -- no RecursionError: deep input through every command ------------------------------------

DEPTH = 1_200  # beyond Python's recursion limit (1 000), so any recursion over it fails
DEEP = {
    "parentheses": "(" * DEPTH + "x" + ")" * DEPTH,
    "calls": "sin(" * DEPTH + "x" + ")" * DEPTH,
    "minus": "-" * DEPTH + "x",
    "powers": "^".join(["x"] * DEPTH),
    "program": "\n".join(["t0 = x", *(f"t{k} = t{k - 1} * x + 1" for k in range(1, DEPTH))]),
}
COMMANDS = [
    ["grad"], ["grad", "--format", "json"], ["grad", "--format", "plain"],
    ["grad", "--mode", "forward"], ["grad", "--check"], ["grad", "--order", "2"],
    ["trace", "--max-rows", "0"], ["trace", "--format", "json"], ["trace", "--graph"],
    ["trace", "--format", "plain"], ["graph"], ["graph", "--format", "mermaid"],
    ["hessian"], ["diff"], ["diff", "--format", "latex"], ["diff", "--format", "json"],
    ["diff", "--expand"], ["check", "--expect", "x=1"],
]


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(DEEP))
def test_deep_input_never_overflows_the_stack(cli: Any, shape: str) -> None:
    text = DEEP[shape]
    x = "0.9" if shape == "powers" else "0.5"
    for command in COMMANDS:
        at = [] if command[0] == "diff" else ["--at", f"x={x}"]
        result = cli(command[0], "-", *command[1:], *at, input=text)
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            (command, repr(result.exception))
        assert result.exit_code in (0, 1) or "too large to print expanded" in \
            result.stderr, (command, result.stderr[:500])  # --expand: docs/diff.md
        assert "internal error" not in result.stderr and "nested too deeply" not in \
            result.stderr, (command, result.stderr[:500])
        if "json" in command and result.exit_code == 0:
            for line in result.stdout.splitlines():
                finite_json(line)
    lines = [json.dumps({"id": k, "expr": text, "at": {"x": 0.5}}) for k in range(2)]
    result = cli("grad", "--batch", "-", input="\n".join(lines))
    assert result.exit_code in (0, 1) and result.stderr == ""
    assert all(finite_json(line)["id"] in (0, 1) for line in result.stdout.splitlines())


def test_every_function_on_scalars_inside_an_array_graph() -> None:
    """randn or a literal makes the whole graph run on numpy; scalar inputs still work
    (step and relu once called .astype on a plain bool)."""
    from autodiff_cli.ops import FUNCTIONS

    for name, arities in sorted(FUNCTIONS.items()):
        for n in arities:
            if name in ("randn", "zeros"):  # these make arrays themselves
                continue
            call = f"{name}({', '.join(['a'] * n)})"
            for a in (1.0, 0.0, -1.0):
                try:
                    scalar = grad(call, {"a": a})
                except AutodiffError:
                    continue
                try:
                    mixed = grad(f"{call} + sum(zeros(1, 1))", {"a": a})
                except MathError:  # numpy's domain checks may be stricter at an edge
                    continue
                assert math.isclose(mixed.value, scalar.value, rel_tol=1e-12), call
                assert all(math.isclose(mixed.gradient[k], g, rel_tol=1e-12, abs_tol=1e-300)
                           for k, g in scalar.gradient.items()), call


# -- the numeric policy (docs/limits.md) -----------------------------------------------------

MATH_ERRORS = [  # expression, point, start of the message, span of the op
    ("1/x", {"x": 0}, "'/': division by zero", (0, 3)),
    ("x/y", {"x": 0, "y": 0}, "'/': division by zero", (0, 3)),
    ("2 + log(x)", {"x": 0}, "log: outside the domain (x > 0)", (4, 10)),
    ("log(x)", {"x": -1}, "log: outside the domain", (0, 6)),
    ("sqrt(x)", {"x": -1}, "sqrt: outside the domain (x >= 0)", (0, 7)),
    ("asin(x)", {"x": 2}, "asin: outside the domain", (0, 7)),
    ("exp(x)", {"x": 1000}, "exp: overflow", (0, 6)),
    ("x^400", {"x": 10}, "'^': overflow", (0, 5)),
    ("x*10", {"x": 1e308}, "'*': overflow", (0, 4)),
    ("x^-1", {"x": 0}, "'^': outside the domain", (0, 4)),
    ("x^y", {"x": -8, "y": 1 / 3}, "'^': outside the domain", (0, 3)),
    ("sin(x*1e300*1e300)", {"x": 1}, "'*': overflow", (4, 17)),
    ("sqrt(x)", {"x": 0}, "sqrt: the derivative is not finite", (0, 7)),
    ("x^0.5", {"x": 0}, "'^': the derivative with respect to x is not finite", (0, 5)),
    ("x^y", {"x": -2, "y": 2}, "'^': the derivative with respect to y is not finite", (0, 3)),
    ("asin(x)", {"x": 1}, "asin: the derivative is not finite", (0, 7)),
]


@pytest.mark.parametrize(("expr", "at", "message", "span"), MATH_ERRORS)
def test_math_errors_name_the_operation_and_its_span(expr: str, at: dict[str, float],
                                                     message: str, span: tuple[int, int]
                                                     ) -> None:
    with pytest.raises(MathError) as info:
        grad(expr, at)
    assert info.value.message.startswith(message), info.value.message
    assert info.value.span == span


@pytest.mark.parametrize(("expr", "at", "message", "span"), MATH_ERRORS)
def test_math_errors_through_every_command(cli: Any, expr: str, at: dict[str, float],
                                           message: str, span: tuple[int, int]) -> None:
    point = ",".join(f"{k}={v!r}" for k, v in at.items())
    for command in (["grad"], ["grad", "--format", "json"], ["trace"], ["graph"],
                    ["hessian"], ["check", "--expect", ",".join(f"{k}=1" for k in at)],
                    ["grad", "--mode", "forward"]):
        err = failed(cli(*command, expr, "--at", point), 1)
        first = err.splitlines()[0]
        assert message in first and f"column {span[0] + 1}" in first, (command, err)


NUMBERS = [  # expression, point, value, gradient: documented numbers, not errors
    ("exp(x)", {"x": -1000}, 0.0, {"x": 0.0}),  # underflow to 0 is not an error
    ("x*y", {"x": 1e-200, "y": 1e-200}, 0.0, {"x": 1e-200, "y": 1e-200}),
    ("x", {"x": 5e-324}, 5e-324, {"x": 1.0}),
    ("x", {"x": 1e308}, 1e308, {"x": 1.0}),
    ("abs(x)", {"x": 0}, 0.0, {"x": 0.0}),  # kinks: 0
    ("relu(x)", {"x": 0}, 0.0, {"x": 0.0}),
    ("max(x, y)", {"x": 1, "y": 1}, 1.0, {"x": 0.5, "y": 0.5}),  # ties: half each
    ("min(x, y)", {"x": 1, "y": 1}, 1.0, {"x": 0.5, "y": 0.5}),
    ("sign(x) + step(x)", {"x": 0}, 0.0, {"x": 0.0}),
    ("sqrt(x)", {"x": 0}, 0.0, None),  # the value is fine; the derivative is an error
    ("x^y", {"x": 0, "y": 2}, 0.0, {"x": 0.0, "y": 0.0}),
    ("x^y", {"x": -2, "y": 3}, -8.0, None),
    ("x^2", {"x": -2}, 4.0, {"x": -4.0}),
]


@pytest.mark.parametrize(("expr", "at", "value", "gradient"), NUMBERS)
def test_edge_values_are_documented_numbers(expr: str, at: dict[str, float], value: float,
                                            gradient: dict[str, float] | None) -> None:
    from autodiff_cli.api import compile

    g = compile(expr, at)
    assert g.at(at).forward() == value
    if gradient is not None:
        assert grad(expr, at).gradient == gradient


def test_forward_mode_never_returns_an_infinite_derivative(cli: Any) -> None:
    err = failed(cli("grad", "x*1e308*x", "--at", "x=1", "--mode", "forward"), 1)
    assert "'*': overflow: the derivative with respect to x" in err and "column 1" in err
    failed(cli("trace", "x*1e308*x", "--at", "x=1", "--mode", "forward"), 1)
    # tangents whose sum overflows, each of them finite: numbers, not an error
    out = ok(cli("grad", "x*1e308 + 0", "--at", "x=1", "--mode", "forward", "--format",
                 "plain")).stdout
    assert out == "1e+308\nx 1e+308\n"


def test_wrt_asks_only_for_the_derivatives_that_exist() -> None:
    assert grad("x^y", {"x": -2, "y": 3}, wrt=["x"]).gradient == {"x": 12.0}
    with pytest.raises(MathError, match="not finite"):
        grad("x^y", {"x": -2, "y": 3})


def test_negative_zero_keeps_its_sign_in_json_and_tables(cli: Any) -> None:
    data = finite_json(ok(cli("grad", "x", "--at", "x=-0", "--format", "json")).stdout)
    assert math.copysign(1, data["value"]) == -1 and data["at"] == {"x": -0.0}
    assert ok(cli("grad", "x", "--at", "x=-0", "--format", "plain")).stdout == "-0\nx 1\n"
    assert "f = -0" in ok(cli("grad", "x", "--at", "x=-0")).stdout


@pytest.mark.parametrize(("value", "message"), [
    ("inf", "inf is not a finite number"), ("-inf", "inf is not a finite number"),
    ("nan", "nan is not a finite number"), ("Infinity", "Infinity is not a finite number"),
    ("1e999", "1e999 is too large for a float"), ("-1e999", "too large for a float"),
    ("1/0", "division by zero"), ("exp(1000)", "overflow"),
])
def test_non_finite_values_typed_by_the_user_are_refused(cli: Any, value: str,
                                                         message: str) -> None:
    for command in (["grad", "x"], ["trace", "x"], ["hessian", "x"],
                    ["check", "x", "--expect", "x=1"]):
        err = failed(cli(*command, "--at", f"x={value}"), 2)
        assert message in err.splitlines()[0] and "(column " in err.splitlines()[0]
    # an answer is not an option: check grades it WRONG, with the reason, and goes on
    r = cli("check", "x", "--at", "x=1", "--expect", f"x={value}", "--format", "plain")
    assert (r.exit_code, r.stdout) == (1, "d/dx - 1 WRONG\n")
    assert message in r.stderr and r.stderr.startswith("--expect x: ")
    with pytest.raises(UsageError):
        grad("x", {"x": math.inf})


def test_numbers_below_the_smallest_float_round_to_zero(cli: Any) -> None:
    assert ok(cli("grad", "x", "--at", "x=1e-400", "--format", "plain")).stdout == "0\nx 1\n"


@pytest.mark.parametrize("args", [
    ["check", "x", "--at", "x=1", "--expect", "x=1", "--tol", "nan"],
    ["check", "x", "--at", "x=1", "--expect", "x=1", "--atol", "inf"],
    ["check", "x", "--at", "x=1", "--expect", "x=1", "--tol", "-1"],
    ["grad", "x", "--at", "x=1", "--check", "--tol", "nan"],
    ["grad", "x", "--at", "x=1", "--check", "--tol", "inf"],
    ["train-gate", "xor", "--lr", "nan"], ["train-gate", "xor", "--tol", "inf"],
    ["train-gate", "and", "--hidden", "0", "--weights", "nan,1,1"],
])
def test_non_finite_options_are_usage_errors(cli: Any, args: list[str]) -> None:
    failed(cli(*args), 2)


def test_check_compares_numbers_and_says_so_for_arrays(cli: Any) -> None:
    assert "the value has shape (1)" in failed(cli("check", "([0]).T", "--value", "1"), 2)
    err = failed(cli("check", "sum(X*x)", "--at", "x=1,X=[1,2]", "--expect", "X=1"), 2)
    assert "the derivative by X has shape (2)" in err
    out = ok(cli("check", "sum(X*x)", "--at", "x=1,X=[1,2]", "--expect", "x=3")).stdout
    assert "at X = (2), x = 1" in out


def test_check_difference_beyond_the_floats_is_inf_not_a_crash(cli: Any) -> None:
    result = cli("check", "x", "--at", "x=1e308", "--value", "-1e308", "--format", "plain")
    assert result.exit_code == 1 and result.stdout == "value -1e+308 1e+308 WRONG\n"
    assert "inf" in cli("check", "x", "--at", "x=1e308", "--value", "-1e308").stdout


def test_huge_values_through_every_command(cli: Any) -> None:
    for command in (["grad"], ["trace", "--format", "json"], ["graph"], ["hessian"],
                    ["check", "--expect", "x=1"], ["grad", "--check"]):
        result = cli(*command, "x*y", "--at", "x=1e308,y=1")
        assert result.exit_code == 0, (command, result.stderr)
        assert "inf" not in result.stdout.replace("Infinity", "") or command == ["graph"]


# -- safety -----------------------------------------------------------------------------------

PACKAGE = CODE_ROOT / "autodiff_cli"
FORBIDDEN_CALLS = {"eval", "exec", "__import__", "breakpoint", "input"}
FORBIDDEN_MODULES = {"pickle", "marshal", "shelve", "socket", "urllib", "http", "ftplib",
                     "smtplib", "requests", "ctypes", "importlib.import_module"}


def _python_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_package_never_evaluates_or_unpickles_and_has_no_network() -> None:
    found = []
    for path in _python_files():
        tree = pyast.parse(path.read_text("utf-8"))
        for node in pyast.walk(tree):
            if isinstance(node, pyast.Call) and isinstance(node.func, pyast.Name) and \
                    node.func.id in FORBIDDEN_CALLS:
                found.append(f"{path.name}:{node.lineno} {node.func.id}()")
            names = [a.name for a in node.names] if isinstance(node, pyast.Import) else \
                [node.module or ""] if isinstance(node, pyast.ImportFrom) else []
            found += [f"{path.name}:{node.lineno} import {n}" for n in names
                      if n.split(".")[0] in FORBIDDEN_MODULES]
    assert found == []


def test_only_the_graph_renderer_runs_a_program_and_only_dot() -> None:
    users = [p.name for p in _python_files() if "subprocess" in p.read_text("utf-8")]
    assert users == ["dot.py"]
    assert 'shutil.which("dot")' in (PACKAGE / "render" / "dot.py").read_text("utf-8")


AUDITED = ("open", "os.system", "subprocess.Popen", "socket.connect", "socket.getaddrinfo",
           "exec", "pickle.find_class", "marshal.loads", "urllib.Request", "os.listdir",
           "os.scandir", "shutil.copyfile", "os.remove")
_events: list[tuple[str, Any]] | None = None


def _audit(event: str, args: Any) -> None:
    if _events is not None and event in AUDITED:
        _events.append((event, args))


sys.addaudithook(_audit)  # a test module's hook: it records only while _events is a list

ATTEMPTS = ['open("/etc/passwd")', 'load("/etc/passwd")', "__import__(os)", "X.csv",
            "x + houses.csv", "read(x)", "exec(x)", "eval(x)", "system(x)", "x # open('f')",
            '"x"', "`x`", "$HOME", "x @ /etc/passwd", "import os", "[x, 'y']", "x; os"]


@pytest.mark.parametrize("text", ATTEMPTS)
def test_an_expression_cannot_open_files_run_programs_or_reach_the_network(text: str) -> None:
    from autodiff_cli.higher import hessian
    from autodiff_cli.symbolic import derivative
    from autodiff_cli.trace import trace

    global _events
    calls = [lambda: grad(text, {"x": 1.0}), lambda: trace(text, {"x": 1.0}),
             lambda: derivative(text), lambda: hessian(text, {"x": 1.0})]
    for call in calls:  # once to load what the library loads lazily, then audited
        with contextlib.suppress(AutodiffError):
            call()
    _events = []
    try:
        for call in calls:
            with contextlib.suppress(AutodiffError):
                call()
        assert _events == []
    finally:
        _events = None


@pytest.mark.parametrize("args", [
    ["grad", "x # [red]x[/red] [bold]y"],
    ["trace", "x # [red]x[/red] [bold]y", "--graph"],
    ["hessian", "x*x # [red]x"],
    ["check", "x # [red]x", "--expect", "x=1"],
    ["grad", "x # [red]x", "--check"],
])
def test_rich_markup_in_user_text_prints_literally(cli: Any, args: list[str]) -> None:
    out = ok(cli(*args, "--at", "x=1")).stdout
    assert "[red]x" in out


def test_rich_markup_in_error_messages_prints_literally(cli: Any) -> None:
    assert "[red]" in failed(cli("grad", "x + [red]y"), 2)
    assert "'[red]' is not a valid name" in failed(cli("grad", "x", "--at", "[red]=1"), 2)
    assert "[bold]" in failed(cli("grad", "x", "--at", "x=1", "--format", "[bold]"), 2)
    assert "[red]" in failed(cli("train-gate", "[red]"), 2)


ESCAPES = ["\x1b[31m", "\x1b[2J", "\x1b]0;pwned\x07", "\x9b2J", "\u202e", "\x1bP", "\x08\x08",
           "\r", "\u2028"]


class FakeTerminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def _user_escapes(text: str) -> list[str]:
    """The escape sequences above, wherever they appear (rich's own colour codes, which
    a real terminal gets, are '\\x1b[...m' with digits only and are not among them)."""
    return [e for e in ESCAPES if e in text and e != "\x1b[31m"] + \
        (["\x1b[31mpwn"] if "\x1b[31mpwn" in text else [])


@pytest.mark.parametrize("payload", ESCAPES)
def test_control_characters_in_input_never_reach_a_terminal(
        cli: Any, tmp_path: Path, payload: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from autodiff_cli.api import grad as compute
    from autodiff_cli.render import emit
    from autodiff_cli.render.grad import grad_json, grad_plain, grad_table
    from autodiff_cli.render.trace import trace_json, trace_plain, trace_table
    from autodiff_cli.trace import trace

    source = f"x*x # {payload}pwn"
    monkeypatch.delenv("NO_COLOR", raising=False)
    for report, renderers in ((compute(source, {"x": 1.0}), (grad_json, grad_plain,
                                                             grad_table)),
                              (trace(source, {"x": 1.0}), (trace_json, trace_plain,
                                                           trace_table))):
        for fmt in ("table", "json", "plain"):
            tty = FakeTerminal()
            emit(report, fmt, as_json=renderers[0], as_plain=renderers[1],
                 as_table=renderers[2], stream=tty)
            assert payload not in tty.getvalue() and _user_escapes(tty.getvalue()) == []
    path = tmp_path / "prog.txt"
    path.write_text(f"# {payload}pwn\nx*x\n", encoding="utf-8")
    runs = [cli("grad", "--file", str(path), "--at", "x=1"),
            cli("trace", "--file", str(path), "--at", "x=1", "--graph"),
            cli("grad", f"x + {payload}", "--at", "x=1"),  # an error echoing it
            cli("grad", "x", "--at", f"x=1,{payload}=2"),
            cli("grad", "x", "--at", "x=1", "--wrt", payload),
            cli("grad", "x", "--at", "x=1", "--format", payload),
            cli("grad", payload, "--at", "x=1"),
            cli("train-gate", payload), cli("train-gate", "--table", payload),
            cli("train-gate", "and", "--weights", payload),
            cli("grad", "--batch", "-", input=json.dumps(
                {"id": payload, "expr": f"x # {payload}", "at": {"x": 1}}) + "\n"),
            cli("diff", f"x*x # {payload}", "--format", "json"),
            cli("check", f"x # {payload}", "--at", "x=1", "--expect", "x=2")]
    for result in runs:
        assert result.exit_code in (0, 1, 2)
        assert payload not in result.output, result.output
        assert "internal error" not in result.stderr


# -- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "out"), [
    (["grad", "-x^2", "--at", "x=3", "--format", "plain"], "-9\nx -6\n"),
    (["grad", "--at", "x=3", "-x", "--format", "plain"], "-3\nx -1\n"),
    (["grad", "-1", "--format", "plain"], "-1\n"),
    (["grad", "--at", "x=2", "--format", "plain", "--", "--x"], "2\nx 1\n"),
    (["grad", "--x^2", "--at", "x=2", "--format", "plain"], "4\nx 4\n"),
    (["diff", "-sin(x)"], "-cos(x)\n"),
    (["check", "-x", "--at", "x=1", "--expect", "x=-1", "--format", "plain"], "d/dx -1 -1 ok\n"),
])
def test_an_expression_may_start_with_minus(cli: Any, args: list[str], out: str) -> None:
    assert ok(cli(*args)).stdout == out


@pytest.mark.parametrize(("args", "text"), [
    (["grad", "--nope"], "No such option: --nope"),
    (["grad", "x", "--format", "xml"], "'xml' is not one of"),
    (["grad", "x", "--order", "two"], "valid integer"),
    (["grad", "x", "y"], "unexpected extra argument"),
    (["gard", "x"], "No such command 'gard'. Did you mean 'grad'"),  # or 'grade'
    (["grad", "-f"], "Option '-f' requires an argument"),
])
def test_usage_errors_are_one_plain_line_and_a_hint(cli: Any, args: list[str],
                                                    text: str) -> None:
    err = failed(cli(*args), 2)
    assert text in err.splitlines()[0]
    assert err.count("\n") == 2 and err.splitlines()[1].startswith("hint: ")
    assert "╭" not in err and "Usage:" not in err


def test_a_bug_is_reported_briefly_with_exit_1(cli: Any, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    import autodiff_cli.api

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("oops")

    monkeypatch.setattr(autodiff_cli.api, "grad", broken)
    result = cli("grad", "x", "--at", "x=1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("internal error: KeyError")


COMMANDS_ASCII = [
    ["grad", "θ*x", "--at", "θ=2,x=3"], ["grad", "θ*x", "--at", "θ=2,x=3", "--format", "json"],
    ["grad", "θ*x", "--at", "θ=2,x=3", "--format", "plain"],
    ["grad", "θ*x", "--at", "θ=2,x=3", "--check"], ["trace", "θ*x", "--at", "θ=2,x=3"],
    ["trace", "θ*x", "--at", "θ=2,x=3", "--graph"], ["graph", "θ*x", "--at", "θ=2,x=3"],
    ["hessian", "θ*x", "--at", "θ=2,x=3"], ["diff", "θ*x"],
    ["diff", "θ*x", "--format", "json"], ["check", "θ*x", "--at", "θ=2,x=3", "--expect", "x=2"],
    ["train-gate", "and", "--hidden", "0", "--weights", "10,10,-15", "--epochs", "0"],
    ["grad", "θ + 好"],
]


@pytest.mark.parametrize("args", COMMANDS_ASCII)
def test_a_stdout_that_cannot_encode_unicode_gets_ascii(args: list[str]) -> None:
    p = subprocess.run([sys.executable, "-m", "autodiff_cli.cli", *args], capture_output=True,
                       env={**subprocess_env(), "PYTHONIOENCODING": "ascii"}, timeout=120,
                       check=False)
    assert p.returncode in (0, 1, 2) and b"internal error" not in p.stderr, p.stderr
    assert p.stdout.isascii()
    if "json" in args and p.returncode == 0:
        assert json.loads(p.stdout)
    if p.returncode == 0 and args[0] != "diff":
        assert b"\\u03b8" in p.stdout or b"d" in p.stdout
    if args == COMMANDS_ASCII[0]:  # columns laid out after the ASCII, so still aligned
        rows = [line.rstrip() for line in p.stdout.decode().splitlines()
                if line.startswith(("x ", "\\u03b8 "))]
        assert len(rows) == 2 and len(rows[0]) == len(rows[1]), rows
