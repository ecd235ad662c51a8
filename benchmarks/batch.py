"""How many small expressions per second `autodiff grad --batch` handles on one core.

Generates N JSON lines of homework-sized expressions (a few operations, one to three
variables), every 50th line bad on purpose, twice: once as graders send them (a few
expressions, each checked at many points: the compile cache helps) and once with every
expression different (no cache hits). Each time it measures:
  - the library, autodiff_cli.batch.run, in this process;
  - the command, `autodiff grad --batch -`, as a subprocess reading stdin (start-up included).
Target: at least 2 000 expressions per second on one core. Rates are per CPU second (the
process's own time, so other work on a shared machine does not count) and per wall-clock
second.

    python benchmarks/batch.py [N]
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autodiff_cli.batch import run  # noqa: E402

TEMPLATES = [
    "(a+{k})*(b+1)", "sin({k}*x)^2 + x*y", "exp(-x^2/{k}) * y", "sigmoid(w*x + {k})",
    "log(x + {k}) - y/x", "b = {k}*a; c = b + 3; d = a + 2; e = c*d", "sqrt(x^2 + y^2 + {k})",
    "tanh(w*x + b) * {k}", "max(x, y) + min(x, {k})", "x^3 - {k}*x*y + y^2",
]


def lines(n: int, distinct: bool, seed: int = 0) -> list[str]:
    """n JSON lines; every 50th is bad on purpose. distinct: every expression differs (no
    cache hits); else 90 expressions checked at many points, as graders do."""
    rnd = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        if i % 50 == 49:
            out.append(json.dumps({"id": i, "expr": "2x +* 3", "at": {"x": 1}}))
            continue
        template = rnd.choice(TEMPLATES)
        expr = template.format(k=i + 1 if distinct else rnd.randint(1, 9))
        names = ["a"] if "b = " in template else [
            v for v in ("a", "b", "w", "x", "y") if re.search(rf"\b{v}\b", expr)]
        at = {v: round(rnd.uniform(0.5, 3.0), 3) for v in names}
        out.append(json.dumps({"id": i, "expr": expr, "at": at}))
    return out


def measure(n: int, distinct: bool) -> None:
    data = lines(n, distinct)
    wall, cpu = time.perf_counter(), time.process_time()
    results = list(run(data))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    errors = sum("error" in r for r in results)
    text = "\n".join(data) + "\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autodiff_cli.cli", "grad", "--batch", "-"],
                          input=text, capture_output=True, text=True, env=env, check=False)
    command = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    command_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert len(proc.stdout.splitlines()) == n, proc.stderr
    kind = "all expressions distinct" if distinct else "90 expressions, many points each"
    print(f"{n} lines, {kind} ({errors} bad on purpose):")
    print(f"  library  autodiff_cli.batch.run   {n / cpu:8.0f} lines per CPU second  "
          f"({n / wall:.0f} per wall-clock second)")
    print(f"  command  autodiff grad --batch -  {n / command_cpu:8.0f} lines per CPU second  "
          f"({n / command:.0f} per wall-clock second; start-up included; exit "
          f"{proc.returncode})")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    measure(n, distinct=False)
    measure(n, distinct=True)
    print("target: at least 2000 lines/s")


if __name__ == "__main__":
    main()
