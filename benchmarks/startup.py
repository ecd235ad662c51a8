"""Start-up benchmark: `autodiff grad "(a+b)*(b+1)" --at a=3,b=2` against
`python -c "import typer, rich, lark"`, and `--help` against grad, median wall time of
interleaved runs, stdout a pipe.

    PYTHONPATH=. python benchmarks/startup.py            # the installed console script
    PYTHONPATH=. python benchmarks/startup.py --module   # python -m autodiff_cli.cli
    PYTHONPATH=. python benchmarks/startup.py --runs 40

The console script is the `autodiff` next to this Python, if there is one; PYTHONPATH
decides which autodiff_cli it imports. Bytecode caching is switched on for the runs (as after
`pip install`, which compiles the package), even if PYTHONDONTWRITEBYTECODE is set here.
Targets: grad within 1.3x of the bare imports; `autodiff --help` and `autodiff grad --help`
faster than grad (help loads no parser, numpy or rich).
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


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, which other load on the machine hardly
    changes) of one run, its output read through a pipe."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=ENV)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stdout.close()
    if child.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{output.decode()}")
    return seconds, usage.ru_utime + usage.ru_stime


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
        "autodiff --help": [*base, "--help"],
        "autodiff grad --help": [*base, "grad", "--help"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    for command in commands.values():  # warm the file cache and Lark's table cache
        run(command)
    wall: dict[str, list[float]] = {label: [] for label in commands}
    cpu: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(options.runs):
        for label, command in commands.items():
            seconds, used = run(command)
            wall[label].append(seconds)
            cpu[label].append(used)
    print(f"command: {' '.join(base)} {' '.join(ARGS)}")
    print(f"medians of {options.runs} interleaved runs, stdout a pipe, "
          f"PYTHONPATH={os.environ.get('PYTHONPATH', '')!r}\n")
    print(f"  {'':30}{'wall':>10}{'CPU':>10}")
    for label in commands:
        print(f"  {label:30}{statistics.median(wall[label]) * 1e3:7.1f} ms"
              f"{statistics.median(cpu[label]) * 1e3:7.1f} ms")
    ok = True
    for what, times in (("wall", wall), ("CPU", cpu)):
        ratio = (statistics.median(times["autodiff grad (table)"])
                 / statistics.median(times["import typer, rich, lark"]))
        ok = ok and (ratio <= TARGET or what == "CPU")
        print(f"  ratio grad / imports, {what:5}   {ratio:8.2f}x  (target <= {TARGET}x)  "
              f"{'ok' if ratio <= TARGET else 'MISSED'}")
    grad = statistics.median(wall["autodiff grad (table)"])
    for label in ("autodiff --help", "autodiff grad --help"):
        ratio = statistics.median(wall[label]) / grad
        ok = ok and ratio < 1
        print(f"  ratio {label[9:] + ' / grad, wall':24}{ratio:8.2f}x  (target < 1x)     "
              f"{'ok' if ratio < 1 else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
