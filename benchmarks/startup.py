"""Start-up benchmark: `autodiff grad "(a+b)*(b+1)" --at a=3,b=2` against
`python -c "import typer, rich, lark"`, median wall time of interleaved runs, stdout a pipe.

    PYTHONPATH=. python benchmarks/startup.py            # the installed console script
    PYTHONPATH=. python benchmarks/startup.py --module   # python -m autodiff_cli.cli
    PYTHONPATH=. python benchmarks/startup.py --runs 40

The console script is the `autodiff` next to this Python, if there is one; PYTHONPATH
decides which autodiff_cli it imports. Target: within 1.3x of the bare imports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 1.3
ARGS = ["grad", "(a+b)*(b+1)", "--at", "a=3,b=2"]


def autodiff_command(module: bool) -> list[str]:
    script = Path(sys.executable).parent / "autodiff"
    if module or not script.exists():
        return [sys.executable, "-m", "autodiff_cli.cli"]
    return [sys.executable, str(script)]


def run(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr.decode()}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--module", action="store_true", help="use python -m autodiff_cli.cli")
    options = parser.parse_args()
    base = autodiff_command(options.module)
    commands = {
        "import typer, rich, lark": [sys.executable, "-c", "import typer, rich, lark"],
        "autodiff grad (table)": base + ARGS,
        "autodiff grad --format json": [*base, *ARGS, "--format", "json"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    for command in commands.values():  # warm the file cache and Lark's table cache
        run(command)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(options.runs):
        for label, command in commands.items():
            times[label].append(run(command))
    median = {label: statistics.median(t) for label, t in times.items()}
    print(f"command: {' '.join(base)} {' '.join(ARGS)}")
    print(f"median of {options.runs} interleaved runs, stdout a pipe, "
          f"PYTHONPATH={os.environ.get('PYTHONPATH', '')!r}\n")
    for label, seconds in median.items():
        print(f"  {label:30}{seconds * 1e3:8.1f} ms")
    ratio = median["autodiff grad (table)"] / median["import typer, rich, lark"]
    ok = ratio <= TARGET
    print(f"\n  ratio grad / imports          {ratio:8.2f}x  (target <= {TARGET}x)  "
          f"{'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
