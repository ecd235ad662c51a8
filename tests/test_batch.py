"""grad --batch: JSON lines in, one result or error per line out, in order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from toolkit_helpers import invoke

import autodiff_cli
from autodiff_cli.batch import Cache, run

CODE_ROOT = Path(autodiff_cli.__file__).resolve().parent.parent

LINES = [
    {"id": 1, "expr": "(a+b)*(b+1)", "at": {"a": 3, "b": 2}},
    {"id": "q2", "expr": "b = 4*a; c = b + 3; d = a + 2; e = c*d", "at": "a=3"},
    "this is not JSON",
    {"id": 3, "expr": "log(x)", "at": {"x": -1}},
    {"id": 4, "expr": "2x +* 3", "at": {"x": 1}},
    {"id": 5, "at": {"x": 1}},
    {"expr": "x"},
    {"id": 7, "expr": "sin(x)", "at": {"x": "pi/2"}, "wrt": "x"},
    {"id": 8, "expr": "x*y", "at": {"x": 2, "y": 3}, "wrt": ["z"]},
    [1, 2],
    {"id": 10, "expr": "x*y", "at": {"x": True, "y": 1}},
    {"id": 11, "expr": "x + y", "at": {"x": 1}},
    {"id": 12, "expr": "(a+b)*(b+1)", "at": {"a": 3, "b": 2}, "wrt": ["b"]},
]


def text(lines: list) -> str:
    return "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"


def test_mixed_lines_keep_their_order_and_never_stop_the_rest() -> None:
    out = list(run(text(LINES).splitlines()))
    assert len(out) == len(LINES)
    assert out[0] == {"id": 1, "expression": "(a+b)*(b+1)", "value": 15.0,
                      "at": {"a": 3.0, "b": 2.0}, "gradient": {"a": 3.0, "b": 8.0}}
    assert out[1]["gradient"] == {"a": 35.0} and out[1]["value"] == 75.0
    kinds = [r["error"]["kind"] if "error" in r else "ok" for r in out]
    assert kinds == ["ok", "ok", "json", "math", "parse", "input", "input", "ok", "usage",
                     "json", "input", "name", "ok"]
    assert [r["id"] for r in out] == [1, "q2", None, 3, 4, 5, None, 7, 8, None, 10, 11, 12]
    assert out[3]["error"] == {"kind": "math", "column": 1,
                               "message": "log: outside the domain (x > 0) at x = -1"}
    assert out[4]["error"]["column"] == 5  # under the '*' of "2x +* 3"
    assert out[11]["error"]["column"] == 5  # y has no value
    assert out[7]["gradient"] == {"x": 6.123233995736766e-17}
    assert out[12]["gradient"] == {"b": 8.0}
    assert all(set(r) == {"id", "error"} for r in out if "error" in r)
    assert all(set(r["error"]) == {"kind", "message", "column"} for r in out if "error" in r)


def test_blank_lines_are_skipped() -> None:
    out = list(run(["", json.dumps(LINES[0]), "   ", json.dumps(LINES[0])]))
    assert [r["id"] for r in out] == [1, 1]


def test_identical_expressions_compile_once() -> None:
    cache = Cache()
    first = cache.graph("x*y", ("x", "y"))
    assert cache.graph("x*y", ("x", "y")) is first
    assert cache.graph("x*y", ("y", "x")) is not first  # another variable order
    out = list(run([json.dumps({"id": k, "expr": "x*y", "at": {"x": k, "y": 2}})
                    for k in range(5)]))
    assert [r["gradient"]["y"] for r in out] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_a_cached_error_is_reported_every_time() -> None:
    lines = [json.dumps({"id": k, "expr": "x +", "at": {"x": 1}}) for k in range(3)]
    assert [r["error"]["kind"] for r in run(lines)] == ["parse"] * 3


def test_forward_mode_gives_the_same_numbers() -> None:
    lines = text(LINES).splitlines()
    assert list(run(lines, mode="forward")) == list(run(lines))


def test_cli_batch_file_exit_code(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(text([LINES[0], LINES[1]]), "utf-8")
    r = invoke("grad", "--batch", str(good))
    assert r.exit_code == 0
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == [1, "q2"]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(text(LINES), "utf-8")
    r = invoke("grad", "--batch", str(mixed))
    assert r.exit_code == 1
    assert len(r.stdout.splitlines()) == len(LINES)


def test_cli_batch_stdin() -> None:
    r = invoke("grad", "--batch", "-", input=text(LINES[:2]))
    assert r.exit_code == 0
    assert len(r.stdout.splitlines()) == 2
    assert invoke("grad", "--batch", "-", input="").exit_code == 0


def test_cli_batch_usage_errors(tmp_path: Path) -> None:
    r = invoke("grad", "x", "--batch", "-", input="")
    assert r.exit_code == 2 and "leave out EXPR" in r.stderr
    r = invoke("grad", "--batch", str(tmp_path / "missing.jsonl"))
    assert r.exit_code == 2 and "cannot read" in r.stderr


def test_batch_through_the_real_console_entry_point() -> None:
    env = {**os.environ, "PYTHONPATH": str(CODE_ROOT)}
    proc = subprocess.run([sys.executable, "-m", "autodiff_cli.cli", "grad", "--batch", "-"],
                          input=text(LINES), capture_output=True, text=True, env=env,
                          check=False)
    assert proc.returncode == 1
    assert proc.stderr == ""
    assert [json.loads(line).get("id") for line in proc.stdout.splitlines()] == \
        [1, "q2", None, 3, 4, 5, None, 7, 8, None, 10, 11, 12]
