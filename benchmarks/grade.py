"""How many answers per second `autodiff grade` grades on one core.

A class of N students (10 000 by default), each answering the 10 questions of three
problems (values, partial derivatives, a mixed second derivative and a derivative given as
an expression) in one JSON line per problem: most answers right, some wrong, some written
as constant expressions ("1/2"), a few unreadable, and every 500th line broken on purpose.
It measures:
  - the library, autodiff_cli.grade (load_problems + grade), in this process;
  - the command, `autodiff grade PROBLEMS SUBMISSIONS --out DIR`, as a subprocess (start-up,
    rendering and writing N results.json files included).
Target: at least 20 000 answers a second through the library. Rates are per CPU second
(the process's own time, so other work on a shared machine does not count) and per
wall-clock second.

    python benchmarks/grade.py [N]
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autodiff_cli.grade import grade, load_problems  # noqa: E402

PROBLEMS = [
    {"id": "p1", "expr": "(a+b)*(b+1)", "at": {"a": 3, "b": 2}},
    {"id": "p2", "expr": "sin(x)*y", "at": {"x": "pi/6", "y": 2},
     "ask": ["value", "d/dx", "d/dy", "d2/dxdy"]},
    {"id": "p3", "expr": "x^2*exp(y)", "at": {"x": 1.5, "y": 0},
     "ask": ["value", "d/dx", "d/dx expr"]},
]
ANSWERS = 10
RIGHT = {  # a few ways to write each right answer, and the wrong answers students give
    "p1": {"value": ([15, "15"], [16, 14]), "gradient": {"a": ([3, "3"], [2, 4]),
                                                         "b": ([8, "8.0"], [7, 5])}},
    "p2": {"value": ([1, "1.0", "2*1/2"], [0.5]),
           "gradient": {"x": ([1.7320508075688772, "sqrt(3)"], [1, 0.866]),
                        "y": ([0.5, "1/2", "sin(pi/6)"], [0.866])},
           "second": {"x,y": ([0.8660254037844386, "sqrt(3)/2", "cos(pi/6)"], [0.5])}},
    "p3": {"value": ([2.25, "9/4"], [3]), "gradient": {"x": ([3, "3"], [1.5, 6])},
           "derivative": {"x": (["2*x*exp(y)", "exp(y)*x*2", "x*2*exp(y)"],
                                ["2*x", "x^2*exp(y)"])}},
}


def _pick(rnd: random.Random, choices: tuple[list[object], list[object]]) -> object:
    right, wrong = choices
    return rnd.choice(wrong if rnd.random() < 0.2 else right)


def lines(n: int, seed: int = 0) -> list[str]:
    rnd = random.Random(seed)
    out: list[str] = []
    for k in range(n):
        student = f"s{k:05d}"
        for pid, spec in RIGHT.items():
            if len(out) % 500 == 499:
                out.append('{"student": "' + student + '", "problem": ')  # broken on purpose
                continue
            line: dict[str, object] = {"student": student, "problem": pid,
                                       "value": _pick(rnd, spec["value"])}  # type: ignore[arg-type]
            for group in ("gradient", "second", "derivative"):
                if group in spec:
                    line[group] = {name: _pick(rnd, c)
                                   for name, c in spec[group].items()}  # type: ignore[attr-defined]
            if rnd.random() < 0.01:
                line["value"] = rnd.choice(["a quarter", "Infinity", "1e999", [1, 2]])
            out.append(json.dumps(line))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    data = lines(n)
    answers = n * ANSWERS
    print(f"{n} students x {ANSWERS} answers in {len(data)} lines "
          f"({sum(1 for x in data if not x.endswith('}'))} broken on purpose):")
    wall, cpu = time.perf_counter(), time.process_time()
    report = grade(load_problems(json.dumps(PROBLEMS)), data)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert len(report.students) == n and report.issues, "the class was not graded"
    library = answers / cpu
    print(f"  library  autodiff_cli.grade   {library:8.0f} answers per CPU second  "
          f"({answers / wall:.0f} per wall-clock second)")
    with tempfile.TemporaryDirectory() as tmp:
        problems, submissions = Path(tmp, "problems.json"), Path(tmp, "submissions.jsonl")
        problems.write_text(json.dumps(PROBLEMS), "utf-8")
        submissions.write_text("\n".join(data) + "\n", "utf-8")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "autodiff_cli.cli", "grade",
                               str(problems), str(submissions), "--out", str(Path(tmp, "out")),
                               "--format", "csv"], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
        wall = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"  command  autodiff grade --out {answers / cpu:8.0f} answers per CPU second  "
          f"({answers / wall:.0f} per wall-clock second; start-up and {n} results.json "
          f"files included; exit {proc.returncode})")
    print(f"target: at least 20000 answers/s through the library: "
          f"{'met' if library >= 20_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
