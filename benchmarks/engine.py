"""Engine benchmark: parse, lower and forward+backward on generated expressions of 10^3,
10^4 and 10^5 operations over 20 shared variables, side by side with Lark's bare parse of
the same text (same grammar, no transformer) and the reference tape of reference_tape.py
on the same graph.

    PYTHONPATH=. python benchmarks/engine.py            # all three sizes
    PYTHONPATH=. python benchmarks/engine.py 1000 10000 # chosen sizes

Times are CPU times of this process (time.process_time: single-threaded work, so on an idle
machine the same as wall time, and hardly moved by other load), medians over repeats, ours
and the yardsticks interleaved. Memory is measured in separate untimed runs: tracemalloc's
peak in this process, and the peak RSS of a fresh process doing parse + lower + grad once.
"""

from __future__ import annotations

import gc
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_tape
from lark import Lark

from autodiff_cli.lower import lower
from autodiff_cli.parse import grammar_text, parse

VARIABLES = [f"x{i}" for i in range(20)]
VALUES = {name: 0.05 * (i + 1) - 0.4 for i, name in enumerate(VARIABLES)}
# (template, number of ops); {0} {1} {2} are variables
TERMS = [
    ("{0}*{1}", 1), ("{0}*{1}*{2}", 2), ("sin({0})", 1), ("cos({0})*{1}", 2),
    ("tanh({0} - {1})", 2), ("exp(-{0}*{1})", 3), ("({0} + 2.5)*{1}", 2),
    ("{0}/(1 + {1}*{1})", 3), ("{0}", 0),
]
TARGET_TAPE = 1.5  # forward+backward / reference tape
TARGET_PARSE = 1.5  # parse+lower+grad / Lark's bare parse, at 10^5 ops
TARGET_MB = 300.0


def expression(n_ops: int, seed: int = 0) -> str:
    """A sum of small random terms with about n_ops operations in all."""
    rng = random.Random(seed)
    parts: list[str] = []
    ops = -1
    while ops < n_ops:
        template, k = rng.choice(TERMS)
        term = template.format(*rng.sample(VARIABLES, 3))
        if parts:
            parts.append(rng.choice((" + ", " - ")))
        parts.append(term)
        ops += k + 1
    return "".join(parts)


def bare_lark() -> Lark:
    return Lark(grammar_text(), start="program", parser="lalr", lexer="contextual",
                keep_all_tokens=True, maybe_placeholders=True)


def clock(fn: Callable[[], Any], collect: bool = False) -> tuple[float, Any]:
    if collect:
        gc.collect()
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def measure(text: str, lark: Lark, repeats: int) -> dict[str, Any]:
    runs: dict[str, list[float]] = {}
    for _ in range(repeats):
        for key, seconds in one_round(text, lark):
            runs.setdefault(key, []).append(seconds)
        runs.setdefault("pipeline", []).append(clock(lambda: pipeline(text), collect=True)[0])
    result: dict[str, Any] = {k: statistics.median(v) for k, v in runs.items()}
    graph = lower(parse(text), VARIABLES)
    result["nodes"] = len(graph)
    result["ops"] = sum(1 for a in graph.args if a)
    return result


def one_round(text: str, lark: Lark) -> list[tuple[str, float]]:
    """One timing of every stage, ours and the yardsticks', on the same text and graph. Each
    stage starts after a full collection, so garbage collection work left over by the stage
    before (deferred by paused_gc, say) is not charged to it; measure() also times parse,
    lower and grad in one go ("pipeline"), with everything they leave."""
    times = [("lark", clock(lambda: lark.parse(text), collect=True)[0])]
    gc.disable()  # as our parse, lower and compile do
    times.append(("lark_nogc", clock(lambda: lark.parse(text), collect=True)[0]))
    gc.enable()
    seconds, program = clock(lambda: parse(text), collect=True)
    times.append(("parse", seconds))
    seconds, graph = clock(lambda: lower(program, VARIABLES), collect=True)
    times.append(("lower", seconds))
    seconds, (value, grads) = clock(lambda: graph.gradient(VALUES), collect=True)
    times.append(("first", seconds))
    times.append(("again", clock(lambda: graph.gradient(VALUES))[0]))
    leaves, names = list(graph.values), [op.name for op in graph.ops]
    seconds, tape = clock(lambda: reference_tape.build(names, graph.args, leaves), collect=True)
    times.append(("tape_build", seconds))
    seconds, (ref_value, ref_g) = clock(lambda: reference_tape.gradient(tape, graph.output))
    times.append(("tape", seconds))
    check(graph, value, grads, ref_value, ref_g)
    return times


def check(graph: Any, value: float, grads: dict[str, float], ref_value: float,
          ref_g: list[float]) -> None:
    """Ours and the reference tape must agree (to rounding: the sums run in other orders)."""
    assert abs(value - ref_value) <= 1e-9 * max(1.0, abs(value)), (value, ref_value)
    for name, i in graph.variables.items():
        assert abs(grads[name] - ref_g[i]) <= 1e-9 * max(1.0, abs(ref_g[i])), name


def pipeline(text: str) -> None:
    graph = lower(parse(text), VARIABLES)
    graph.gradient(VALUES)


def traced_peak_mb(text: str) -> float:
    gc.collect()
    tracemalloc.start()
    pipeline(text)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def peak_rss_kb() -> int:
    """This process's peak resident set size. VmHWM, unlike ru_maxrss, does not carry over
    the parent's peak through fork and exec."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_rss_mb(n_ops: int) -> float:
    """Peak RSS of a fresh interpreter that runs parse + lower + grad once."""
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            f"import engine; engine.pipeline(engine.expression({n_ops})); "
            "print(engine.peak_rss_kb())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return int(out.stdout) / 1024


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds / 1e6:.2f} M/s"


def report(sizes: list[int]) -> bool:
    lark = bare_lark()
    results = []
    for n in sizes:
        text = expression(n)
        r = measure(text, lark, repeats=max(3, min(20, 200_000 // n)))
        r["tracemalloc"] = traced_peak_mb(text)
        r["rss"] = child_rss_mb(n)
        r["chars"] = len(text)
        results.append(r)
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("text length", lambda r: f"{r['chars']:,} chars"),
        ("graph nodes (ops)", lambda r: f"{r['nodes']:,} ({r['ops']:,})"),
        ("Lark bare parse", lambda r: ms(r["lark"])),
        ("Lark bare parse, GC paused", lambda r: ms(r["lark_nogc"])),
        ("our parse", lambda r: ms(r["parse"])),
        ("lower", lambda r: ms(r["lower"])),
        ("fwd+bwd, first (with compile)", lambda r: ms(r["first"])),
        ("fwd+bwd, repeated", lambda r: ms(r["again"])),
        ("parse+lower+grad, one clock", lambda r: ms(r["pipeline"])),
        ("reference tape: build", lambda r: ms(r["tape_build"])),
        ("reference tape: fwd+bwd", lambda r: ms(r["tape"])),
        ("ops/s, ours repeated", lambda r: rate(r["ops"], r["again"])),
        ("ops/s, ours first", lambda r: rate(r["ops"], r["first"])),
        ("ops/s, reference tape", lambda r: rate(r["ops"], r["tape"])),
        ("nodes/s, parse+lower+grad", lambda r: rate(r["nodes"], r["pipeline"])),
        ("peak memory (tracemalloc)", lambda r: f"{r['tracemalloc']:.0f} MB"),
        ("peak RSS (fresh process)", lambda r: f"{r['rss']:.0f} MB"),
    ]
    width = 32
    print(f"{'':{width}}" + "".join(f"{f'{n:,} ops':>16}" for n in sizes))
    for label, cell in rows:
        print(f"{label:{width}}" + "".join(f"{cell(r):>16}" for r in results))
    print()
    return targets(sizes, results)


def targets(sizes: list[int], results: list[dict[str, Any]]) -> bool:
    """The issue's targets, each ok or MISSED, and comparisons for information (no target)."""
    ok = True

    def line(label: str, ratio: float, limit: float | None, unit: str = "x") -> None:
        nonlocal ok
        if limit is None:
            print(f"{label:60}{ratio:8.2f}{unit}  (for information)")
            return
        ok = ok and ratio <= limit
        print(f"{label:60}{ratio:8.2f}{unit}  (target <= {limit:g}{unit})  "
              f"{'ok' if ratio <= limit else 'MISSED'}")

    for n, r in zip(sizes, results, strict=True):
        line(f"{n:>7,} ops: fwd+bwd / reference tape fwd+bwd", r["again"] / r["tape"],
             TARGET_TAPE)
    big = results[-1]
    if sizes[-1] >= 100_000:
        line(f"{sizes[-1]:>7,} ops: parse+lower+grad / Lark's bare parse",
             big["pipeline"] / big["lark"], TARGET_PARSE)
        line(f"{sizes[-1]:>7,} ops: peak RSS of parse+lower+grad", big["rss"], TARGET_MB,
             " MB")
        line(f"{sizes[-1]:>7,} ops: parse+lower+grad / Lark's bare parse, GC paused",
             big["pipeline"] / big["lark_nogc"], None)
    for n, r in zip(sizes, results, strict=True):
        line(f"{n:>7,} ops: first fwd+bwd (compile) / tape build + fwd+bwd",
             r["first"] / (r["tape_build"] + r["tape"]), None)
    return ok


if __name__ == "__main__":
    chosen = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000]
    print(f"Python {sys.version.split()[0]}; CPU time, medians, ours and the yardsticks "
          "interleaved\n")
    sys.exit(0 if report(chosen) else 1)
