"""Huge inputs through the CLI: wall time, peak memory and exit code of each command on a
10^5- and a 10^6-term sum, 100 000 nested parentheses, and inputs beyond the limits of
autodiff_cli/limits.py (which must fail at once with exit 2). The figures behind the section
"Limits" of docs/limits.md.

    PYTHONPATH=. python benchmarks/limits.py            # everything (several minutes)
    PYTHONPATH=. python benchmarks/limits.py --quick    # 10^5 terms and the refusals only

Each command runs as its own process (python -m autodiff_cli.cli), its input on stdin and
its output read through a pipe and thrown away; peak memory is that process's maximum
resident set size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

WRAPPER = """
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdin=sys.stdin, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{wall:.2f} {peak:.0f} {p.returncode} {p.stderr.decode('utf-8', 'replace')[:60]!r}")
"""
VARIABLES = 20
AT = ",".join(f"x{k}=1" for k in range(VARIABLES))


def total(n: int) -> str:
    """A sum of n terms over VARIABLES shared variables: n - 1 additions."""
    return " + ".join(f"x{k % VARIABLES}" for k in range(n))


def measure(args: list[str], text: str) -> tuple[float, float, int, str]:
    p = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-m",
                        "autodiff_cli.cli", *args], input=text.encode("utf-8"),
                       capture_output=True, env={**os.environ, "NO_COLOR": "1"}, check=True)
    wall, peak, code, err = p.stdout.decode().split(" ", 3)
    return float(wall), float(peak), int(code), err.strip()


def report(label: str, args: list[str], text: str) -> None:
    wall, peak, code, err = measure(args, text)
    shown = " ".join("x0..x19=1" if a == AT else a for a in args)
    print(f"{label:<28} {shown:<52} {wall:7.2f} s {peak:7.0f} MB  exit {code}"
          + (f"  {err}" if code == 2 else ""), flush=True)


COMMANDS = [
    ["grad", "-", "--at", AT, "--format", "json"],
    ["grad", "-", "--at", AT],
    ["grad", "-", "--at", AT, "--mode", "forward", "--format", "plain"],
    ["grad", "-", "--at", AT, "--check", "--format", "plain"],
    ["grad", "-", "--at", AT, "--order", "2", "--format", "plain"],
    ["trace", "-", "--at", AT, "--format", "json"],
    ["trace", "-", "--at", AT],
    ["graph", "-", "--at", AT],
    ["hessian", "-", "--at", AT, "--wrt", "x0", "--format", "plain"],
    ["diff", "-", "--wrt", "x0"],
    ["check", "-", "--at", AT, "--expect", "x0=1"],
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^5 terms and the refusals")
    quick = parser.parse_args().quick
    from autodiff_cli import limits

    print(f"limits: {limits.MAX_CHARS:,} characters, {limits.MAX_TOKENS:,} tokens "
          f"({limits.MAX_REPORT_TOKENS:,} for trace and graph), {limits.MAX_NODES:,} nodes")
    print(f"{'input':<28} {'command':<52} {'wall':>9} {'peak':>10}")
    for n in (10**5,) if quick else (10**5, 10**6):
        text = total(n)
        for args in COMMANDS:
            report(f"sum of {n:,} terms", args, text)
    depth = 100_000
    report(f"{depth:,} nested parentheses", ["grad", "-", "--at", "x=2", "--format", "json"],
           "(" * depth + "x" + ")" * depth)
    over = limits.MAX_TOKENS // 2 + 1
    report(f"sum of {over:,} terms", ["grad", "-", "--at", AT], total(over))
    report(f"{limits.MAX_CHARS + 1:,} characters", ["grad", "-"], "x" * (limits.MAX_CHARS + 1))
    report("sum of 1,000,000 terms", ["trace", "-", "--at", AT], total(10**6))


if __name__ == "__main__":
    main()
