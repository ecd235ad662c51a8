"""Time `autodiff trace` on big graphs: build the report, render the tables (default
--max-rows and all rows), the --graph tree, JSON, DOT and Mermaid. Prints figures; the
target is a 10 000-node trace rendered in under 2 s.

    python benchmarks/trace_render.py [NODES]
"""

from __future__ import annotations

import io
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from autodiff_cli.render import print_rich
from autodiff_cli.render.dot import to_dot, to_mermaid
from autodiff_cli.render.trace import trace_json, trace_table
from autodiff_cli.trace import trace


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


def nested(depth: int) -> tuple[str, dict[str, float]]:
    """((((x + 1)*0.5 + 1)*0.5 ...: depth levels of parentheses."""
    return "(" * depth + "x" + "+1)*0.5" * depth, {"x": 0.3}


def timed(label: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = fn()
    print(f"  {label:<34} {time.perf_counter() - start:8.3f} s")
    return result


def table_text(report: Any, max_rows: int, tree: bool = False) -> str:
    out = _Out()
    print_rich(trace_table(report, False, max_rows, tree), out)
    return out.getvalue()


def run(name: str, source: str, at: dict[str, float]) -> None:
    start = time.perf_counter()
    report = timed("compile + forward + backward + report", lambda: trace(source, at))
    print(f"  ({len(report.nodes):,} nodes, {len(report.steps):,} backward steps)")
    timed("tables, --max-rows 200", lambda: table_text(report, 200))
    total = time.perf_counter() - start
    print(f"  {name}: trace with default options, end to end {total:.3f} s")
    timed("tables and --graph, --max-rows 200", lambda: table_text(report, 200, True))
    timed("tables, --max-rows 0 (all rows)", lambda: table_text(report, 0))
    timed("--format json", lambda: json.dumps(trace_json(report)))
    timed("graph --format dot", lambda: to_dot(report))
    timed("graph --format mermaid", lambda: to_mermaid(report))


def main() -> None:
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    sys.setrecursionlimit(1000)  # the default: nothing may recurse over the graph
    print(f"shared sum, about {nodes:,} nodes")
    run("shared sum", *shared_sum(nodes))
    print(f"nested parentheses, {nodes // 4:,} levels")
    run("nested", *nested(nodes // 4))


if __name__ == "__main__":
    main()
