"""A homework grader on autodiff's check: every student's answers (the value and the partial
derivatives of each problem's expression at its point) against the computed ones.

    python grade.py problems.json submissions.jsonl --out results/

problems.json: [{"id", "title", "expr", "at": {name: number}}, ...]
submissions.jsonl, one answer set a line:
    {"student", "problem", "value": number, "gradient": {name: number}}
(numbers may also be constant expressions in a string, "1/2").

Each answer is a Gradescope test worth 1 point: the value and every partial derivative of
every problem. A missing answer scores 0. Writes results/<student>.json in Gradescope's
results.json format and results/summary.csv, and prints the summary. On Gradescope itself,
run it on the one submission and copy results/<student>.json to
/autograder/results/results.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from autodiff_cli import AutodiffError, grad
from autodiff_cli.grading import ATOL, RTOL, check_answers
from autodiff_cli.render.check import gradescope_tests
from autodiff_cli.values import constant


def number(x: Any) -> float:
    """A submitted number: a JSON number or a constant expression such as "1/2"."""
    if isinstance(x, bool) or not isinstance(x, (int, float, str)):
        raise ValueError(f"not a number: {x!r}")
    try:
        return float(constant(x)) if isinstance(x, str) else float(x)
    except AutodiffError as err:
        raise ValueError(f"not a number: {x!r} ({err.message})") from None


def failed(name: str, why: str) -> dict[str, Any]:
    return {"name": name, "score": 0.0, "max_score": 1.0, "status": "failed", "output": why}


def grade_problem(problem: dict[str, Any], answers: dict[str, Any] | None, rtol: float,
                  atol: float) -> list[dict[str, Any]]:
    """The Gradescope tests of one problem for one student."""
    key = grad(problem["expr"], problem["at"])
    f = key.output or "f"
    names = {"value": f"{problem['id']} {f}",
             **{v: f"{problem['id']} ∂{f}/∂{v}" for v in key.gradient}}
    if answers is None:
        return [failed(n, "no answer submitted") for n in names.values()]
    given: dict[str, float] = {}
    bad: dict[str, str] = {}
    for k, x in [("value", answers.get("value")), *answers.get("gradient", {}).items()]:
        if k in names and x is not None:
            try:
                given[k] = number(x)
            except ValueError as err:
                bad[k] = str(err)
    value = given.pop("value", None)
    tests = []
    if value is not None or given:
        check = check_answers(problem["expr"], problem["at"], given, value, rtol, atol)
        tests = gradescope_tests(check, prefix=f"{problem['id']} ")
    done = {t["name"] for t in tests}
    tests += [failed(n, bad.get(k, "no answer submitted"))
              for k, n in names.items() if n not in done]
    order = list(names.values())
    return sorted(tests, key=lambda t: order.index(t["name"]))


def grade(problems: list[dict[str, Any]], submissions: list[dict[str, Any]], rtol: float,
          atol: float) -> dict[str, dict[str, Any]]:
    """Gradescope results per student."""
    by_student: dict[str, dict[str, dict[str, Any]]] = {}
    for s in submissions:
        by_student.setdefault(s["student"], {})[s["problem"]] = s
    results = {}
    for student in sorted(by_student):
        tests = [t for p in problems
                 for t in grade_problem(p, by_student[student].get(p["id"]), rtol, atol)]
        results[student] = {"score": sum(t["score"] for t in tests),
                            "max_score": sum(t["max_score"] for t in tests), "tests": tests}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("problems", type=Path)
    parser.add_argument("submissions", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--tol", type=float, default=RTOL, help="relative tolerance")
    parser.add_argument("--atol", type=float, default=ATOL, help="absolute tolerance")
    args = parser.parse_args(argv)
    problems = json.loads(args.problems.read_text("utf-8"))
    lines = args.submissions.read_text("utf-8").splitlines()
    submissions = [json.loads(line) for line in lines if line.strip()]
    results = grade(problems, submissions, args.tol, args.atol)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "summary.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "score", "max_score"])
        for student, r in results.items():
            (args.out / f"{student}.json").write_text(
                json.dumps(r, indent=1, ensure_ascii=False) + "\n", "utf-8")
            writer.writerow([student, f"{r['score']:g}", f"{r['max_score']:g}"])
            print(f"{student:<10} {r['score']:>4g} / {r['max_score']:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
