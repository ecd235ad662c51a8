"""The same command prints the same bytes: run again, and under other PYTHONHASHSEED values
(which reorder sets and the hash of every str). Each command runs as its own process,
`python -m autodiff_cli.cli` with PYTHONPATH at the code under test; training too, given
--seed, and randn, given --seed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, subprocess_env

SLIDE = "b = 4*a; c = b + 3; d = a + 2; e = c*d"
HOUSES = str(REPO / "examples" / "houses.csv")
GRADER = REPO / "examples" / "grader"
BATCH = "\n".join(json.dumps(line) for line in [
    {"id": 1, "expr": "(a+b)*(b+1)", "at": {"a": 3, "b": 2}},
    {"id": "two", "expr": "x*y + sin(x)", "at": "x=pi/4,y=2", "wrt": ["y", "x"]},
    {"id": [3], "expr": "log(x)", "at": {"x": 0}},
    {"id": None, "expr": "θ^2 + α*θ", "at": {"θ": 1.5, "α": -2}},
]) + "\n"

COMMANDS: list[list[str]] = [
    ["grad", "(a+b)*(b+1)", "--at", "a=3,b=2"],
    ["grad", "(a+b)*(b+1)", "--at", "a=3,b=2", "--format", "json"],
    ["grad", SLIDE, "--at", "a=3", "--format", "plain"],
    ["grad", "z*θ + α*θ^2 + β", "--at", "z=1,θ=2,α=3,β=4"],
    ["grad", "x*y^2 + exp(x*y)", "--at", "x=0.3,y=-1.2", "--mode", "forward"],
    ["grad", "x*y^2 + exp(x*y)", "--at", "x=0.3,y=-1.2", "--check"],
    ["grad", "x*y^2 + exp(x*y)", "--at", "x=0.3,y=-1.2", "--order", "2", "--format", "json"],
    ["grad", "mean(sigmoid(X @ W), 1)", "--at", f"X={HOUSES}", "--at", "W=0.1*randn(3,3)",
     "--seed", "7"],
    ["grad", "sum(randn(3, 3) * x)", "--at", "x=2", "--seed", "11", "--format", "json"],
    ["grad", "--batch", "-"],
    ["trace", SLIDE, "--at", "a=3"],
    ["trace", SLIDE, "--at", "a=3", "--graph"],
    ["trace", "(a+b)*(b+1)", "--at", "a=3,b=2", "--format", "json"],
    ["trace", "sin(x)*x + x", "--at", "x=1", "--mode", "forward"],
    ["graph", SLIDE, "--at", "a=3"],
    ["graph", SLIDE, "--at", "a=3", "--format", "mermaid"],
    ["hessian", "x^2*y + y^3 + x*z", "--at", "x=1,y=2,z=3"],
    ["hessian", "x^2*y + y^3", "--at", "x=1,y=2", "--format", "json"],
    ["diff", "x^2*sin(x) + exp(x*y)/y"],
    ["diff", SLIDE, "--wrt", "a", "--format", "latex"],
    ["diff", "exp(-x^2)*θ", "--order", "2", "--format", "json"],
    ["check", "(a+b)*(b+1)", "--at", "a=3,b=2", "--expect", "a=3,b=7", "--value", "15"],
    ["check", "(a+b)*(b+1)", "--at", "a=3,b=2", "--expect", "a=3,b=8", "--format", "json"],
    ["grade", str(GRADER / "problems.json"), str(GRADER / "submissions.jsonl")],
    ["grade", str(GRADER / "problems.json"), str(GRADER / "submissions.jsonl"), "--format",
     "json"],
    ["train-gate", "xor", "--seed", "3"],
    ["train-gate", "xor", "--seed", "5", "--hidden", "4,4", "--format", "json"],
    ["train-gate", "--table", "1,0,1,1", "--hidden", "0", "--activation", "relu",
     "--loss", "bce", "--epochs", "300"],
    ["grad", "1/x", "--at", "x=0"],  # errors too
    ["grad", "x +* y"],
]


def run(args: list[str], hash_seed: str) -> tuple[int, bytes, bytes]:
    env = {**subprocess_env(), "PYTHONHASHSEED": hash_seed}
    stdin = BATCH.encode("utf-8") if "--batch" in args else None
    p = subprocess.run([sys.executable, "-m", "autodiff_cli.cli", *args], input=stdin,
                       capture_output=True, env=env, timeout=120, check=False,
                       cwd=Path(__file__).parent)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a)[:60])
def test_same_bytes_every_run_and_every_hash_seed(args: list[str]) -> None:
    first = run(args, "0")
    assert first[0] in (0, 1, 2) and first[1] + first[2], first
    assert b"internal error" not in first[2]
    for seed in ("0", "4242"):  # again, then another hash seed
        assert run(args, seed) == first, (seed, args)
