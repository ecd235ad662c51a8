"""`autodiff check` and the homework grader in examples/grader/."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from toolkit_helpers import invoke

import autodiff_cli
from autodiff_cli.grading import check_answers, close

ROOT = Path(__file__).resolve().parent.parent
CODE_ROOT = Path(autodiff_cli.__file__).resolve().parent.parent
SEED = ["(a+b)*(b+1)", "--at", "a=3,b=2"]


def test_check_passes_with_the_seeds_answers() -> None:
    r = invoke("check", *SEED, "--expect", "a=3,b=8", "--value", "15")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "(a+b)*(b+1)",
        "at a = 3, b = 2",
        "",
        "answer  expected  got  difference  check",
        "f             15   15           0     ok",
        "∂f/∂a          3    3           0     ok",
        "∂f/∂b          8    8           0     ok",
        "",
        "all 3 answers match; an answer matches when |got - expected| <= 1e-09 + "
        "1e-06·|expected|",
    ]


def test_check_fails_and_shows_which_partial_is_wrong_by_how_much() -> None:
    r = invoke("check", *SEED, "--expect", "a=3,b=7")
    assert r.exit_code == 1
    rows = r.stdout.splitlines()
    assert rows[4].split() == ["∂f/∂a", "3", "3", "0", "ok"]
    assert rows[5].split() == ["∂f/∂b", "7", "8", "1", "WRONG"]
    assert rows[-1].startswith("1 of 2 answers wrong")


def test_check_value_only() -> None:
    assert invoke("check", *SEED, "--value", "15").exit_code == 0
    r = invoke("check", *SEED, "--value", "16", "--format", "plain")
    assert (r.exit_code, r.stdout) == (1, "value 16 15 WRONG\n")


def test_check_json_is_gradescope_results() -> None:
    r = invoke("check", *SEED, "--expect", "a=3,b=7", "--value", "15", "--format", "json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert (data["score"], data["max_score"]) == (2.0, 3.0)
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in data["tests"]] == [
        ("f", 1.0, 1.0, "passed"), ("∂f/∂a", 1.0, 1.0, "passed"),
        ("∂f/∂b", 0.0, 1.0, "failed")]
    assert data["tests"][2]["output"] == "wrong: answer 7, computed 8, difference 1"
    assert "1 of 3 answers wrong" in data["output"]


def test_tolerances() -> None:
    # |got - expected| <= atol + rtol*|expected|
    assert close(1.0 + 1e-7, 1.0) and not close(1.0 + 1e-5, 1.0)
    assert close(1e-10, 0.0) and not close(1e-8, 0.0)
    assert invoke("check", "x/y", "--at", "x=1,y=3", "--expect", "x=1/3").exit_code == 0
    assert invoke("check", "x/y", "--at", "x=1,y=3", "--expect", "x=0.3333").exit_code == 1
    assert invoke("check", "x/y", "--at", "x=1,y=3", "--expect", "x=0.3333",
                  "--tol", "1e-3").exit_code == 0
    assert invoke("check", "x - 1", "--at", "x=1", "--value", "1e-8").exit_code == 1
    assert invoke("check", "x - 1", "--at", "x=1", "--value", "1e-8",
                  "--atol", "1e-7").exit_code == 0


def test_check_program_output_is_named() -> None:
    c = check_answers("b = 4*a; c = b + 3; d = a + 2; e = c*d", {"a": 3}, {"a": 35}, 75)
    assert c.ok
    r = invoke("check", "b = 4*a; c = b + 3; d = a + 2; e = c*d", "--at", "a=3",
               "--expect", "a=20")
    assert r.exit_code == 1
    assert "∂e/∂a" in r.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--expect", "q=1"], "--expect names q, which is not a variable"),
    (["--expect", "a"], "--expect expects NAME=VALUE"),
    ([], "nothing to check"),
    (["--expect", "a=3", "--tol", "-1"], "must not be negative"),
])
def test_check_usage_errors(args: list[str], message: str) -> None:
    r = invoke("check", *SEED, *args)
    assert r.exit_code == 2
    assert message in r.stderr


@pytest.mark.parametrize(("answer", "reason"), [
    ("abc", "not a constant: abc has no value"), ("", "empty expression"),
    ("1e999", "the number 1e999 is too large for a float"), ("1/", "unexpected end of input"),
    ("Infinity", "Infinity is not a finite number"), ("-inf", "inf is not a finite number"),
    ("nan", "nan is not a finite number"), ("1/0", "division by zero"),
    ("[1, 2]", "not a number: an array of shape (2)"),
])
def test_an_answer_that_cannot_be_read_is_that_answers_failure(answer: str,
                                                               reason: str) -> None:
    r = invoke("check", *SEED, "--expect", f"a=3,b={answer}", "--value", "15",
               "--format", "json")
    assert r.exit_code == 1
    tests = json.loads(r.stdout)["tests"]
    assert [(t["name"], t["status"]) for t in tests] == [
        ("f", "passed"), ("∂f/∂a", "passed"), ("∂f/∂b", "failed")]
    assert reason in tests[2]["output"] and "computed 8" in tests[2]["output"]
    assert f"--expect b: the answer {answer!r} is refused: " in r.stderr
    table = invoke("check", *SEED, "--value", answer, "--expect", "a=3")
    assert table.exit_code == 1 and reason in table.stdout and table.stderr == ""
    assert table.stdout.splitlines()[4].split()[-1] == "WRONG"


@pytest.mark.parametrize("answer", [math.inf, -math.inf, math.nan, 1e308 * 10])
def test_a_non_finite_answer_is_never_correct(answer: float) -> None:
    c = check_answers("x*1e308", {"x": 1}, {"x": answer}, answer)
    assert not c.ok and [a.ok for a in c.answers] == [False, False]
    assert not close(math.inf, math.inf) and not close(1.0, math.inf)


def test_check_math_error_exits_1() -> None:
    r = invoke("check", "log(x)", "--at", "x=0", "--expect", "x=1")
    assert r.exit_code == 1
    assert "log" in r.stderr


def test_the_grader_example_runs() -> None:
    grader = ROOT / "examples" / "grader"
    env = {**os.environ, "PYTHONPATH": str(CODE_ROOT)}
    proc = subprocess.run([sys.executable, str(grader / "grade.py"),
                           str(grader / "problems.json"), str(grader / "submissions.jsonl")],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 1  # its broken lines, on purpose
    assert proc.stdout.splitlines() == ["ada          14 / 14", "bob           7 / 14",
                                        "cy            7 / 14", "dan           0 / 14"]
    assert proc.stderr.splitlines()[0] == 'line 12: "gradient" must be an object {name: answer}'
