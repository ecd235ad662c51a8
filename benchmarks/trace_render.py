"""Time `autodiff trace` on big graphs, end to end as a user runs it (a fresh process, output
to a pipe): the tables with the default --max-rows and with --max-rows 0 (every row), and
--format json, at 10^3, 10^4 and 10^5 nodes, for two shapes: deep nesting and a long sum
over shared variables. Then, in one process, where the time of a 10^4-node trace goes.
Prints figures; the target is every row of a 10 000-node trace in under 3 s, growing
linearly.

    python benchmarks/trace_render.py [NODES ...]   (default: 1000 10000 100000)
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT = 300  # seconds one run may take before it is reported as "> TIMEOUT s"
RUNS = [("tables, --max-rows 200", ["--max-rows", "200"]),
        ("tables, --max-rows 0", ["--max-rows", "0"]),
        ("--format json", ["--format", "json"])]


class _Out(io.StringIO):
    def isatty(self) -> bool:
        return False


def shared_sum(nodes: int, names: int = 20) -> tuple[str, dict[str, float]]:
    """About `nodes` nodes: a sum of products and sines over ~20 shared variables."""
    rng = random.Random(0)
    variables = [f"x{k}" for k in range(names)]
    terms, count = [], 0
    while count < nodes:
        a, b = rng.choice(variables), rng.choice(variables)
        terms.append(f"{a}*sin({b})")
        count += 3  # mul, sin and add; the leaves are shared
    return " + ".join(terms), {v: rng.uniform(-2, 2) for v in variables}


def nested(nodes: int) -> tuple[str, dict[str, float]]:
    """((((x + 1)*0.5 + 1)*0.5 ...: about `nodes` nodes, nodes/4 levels of parentheses."""
    depth = nodes // 4
    return "(" * depth + "x" + "+1)*0.5" * depth, {"x": 0.3}


SHAPES: list[tuple[str, Callable[[int], tuple[str, dict[str, float]]]]] = [
    ("nested", nested), ("shared sum", shared_sum)]


def command(nodes: int, shape: Callable[[int], tuple[str, dict[str, float]]],
            folder: Path) -> list[str]:
    source, at = shape(nodes)
    path = folder / f"{shape.__name__}-{nodes}.txt"
    path.write_text(source, encoding="utf-8")
    points = ",".join(f"{k}={v!r}" for k, v in at.items())
    script = Path(sys.executable).with_name("autodiff")  # the console script beside python
    return [str(script), "trace", "--file", str(path), "--at", points]


def end_to_end(argv: list[str]) -> str:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, env=env,
                              timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return f"> {TIMEOUT} s"
    seconds = time.perf_counter() - start
    if done.returncode:
        return f"exit {done.returncode}: {done.stderr.decode()[:60]!r}"
    return f"{seconds:7.2f} s  ({len(done.stdout.splitlines()):,} lines)"


def timed(label: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = fn()
    print(f"    {label:<36} {time.perf_counter() - start:8.3f} s")
    return result


def in_process(name: str, source: str, at: dict[str, float]) -> None:
    from autodiff_cli.render import print_table
    from autodiff_cli.render.trace import trace_json, trace_table
    from autodiff_cli.trace import trace

    def tables(max_rows: int, tree: bool = False) -> str:
        out = _Out()
        print_table(trace_table(report, False, max_rows, tree), out)
        return out.getvalue()

    print(f"  {name}, in one process")
    report = timed("compile + forward + backward + report", lambda: trace(source, at))
    print(f"    ({len(report.nodes):,} nodes, {len(report.steps):,} backward steps)")
    timed("tables, --max-rows 200", lambda: tables(200))
    timed("tables and --graph, --max-rows 200", lambda: tables(200, True))
    timed("tables, --max-rows 0 (every row)", lambda: tables(0))
    timed("tables and --graph, --max-rows 0", lambda: tables(0, True))
    timed("--format json", lambda: json.dumps(trace_json(report)))


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000]
    sys.setrecursionlimit(1000)  # the default: nothing may recurse over the graph
    print("autodiff trace, end to end (a fresh process, output to a pipe)")
    with tempfile.TemporaryDirectory() as folder:
        for name, shape in SHAPES:
            for nodes in sizes:
                argv = command(nodes, shape, Path(folder))
                for label, extra in RUNS:
                    print(f"  {name:<10} {nodes:>7,} nodes  {label:<24} "
                          f"{end_to_end([*argv, *extra])}", flush=True)
    for name, shape in SHAPES:
        in_process(name, *shape(10_000))


if __name__ == "__main__":
    main()
