"""The yardstick: a minimal hand-written reverse-mode tape in plain Python.

A tape is a list of (out, fn, a, b) entries in topological order, b = -1 for unary ops,
with a parallel list of (out, code, a, b). Forward calls each entry's function; backward
walks the tape in reverse with one inline if-chain of local derivatives, the most frequent
ops first. Nothing is skipped or cached
beyond what any careful hand-written tape would do. Independent of autodiff_cli on purpose.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence

ADD, SUB, MUL, DIV, NEG, SIN, COS, TANH, EXP, LOG, SQRT, POW = range(12)

FORWARD: dict[str, tuple[int, Callable[..., float]]] = {
    "add": (ADD, operator.add), "sub": (SUB, operator.sub), "mul": (MUL, operator.mul),
    "div": (DIV, operator.truediv), "neg": (NEG, operator.neg), "sin": (SIN, math.sin),
    "cos": (COS, math.cos), "tanh": (TANH, math.tanh), "exp": (EXP, math.exp),
    "log": (LOG, math.log), "sqrt": (SQRT, math.sqrt), "pow": (POW, math.pow),
}


class Tape:
    """Nodes 0..n-1; leaves hold values, every other node is one tape entry."""

    def __init__(self, size: int) -> None:
        self.values = [0.0] * size
        self.entries: list[tuple[int, Callable[..., float], int, int]] = []
        self.codes: list[tuple[int, int, int, int]] = []

    def record(self, out: int, op: str, a: int, b: int = -1) -> None:
        code, fn = FORWARD[op]
        self.entries.append((out, fn, a, b))
        self.codes.append((out, code, a, b))

    def forward(self) -> None:
        v = self.values
        for out, f, a, b in self.entries:
            v[out] = f(v[a]) if b < 0 else f(v[a], v[b])

    def backward(self, output: int) -> list[float]:
        v = self.values
        g = [0.0] * len(v)
        g[output] = 1.0
        for out, code, a, b in reversed(self.codes):
            go = g[out]
            if code == ADD:
                g[a] += go
                g[b] += go
            elif code == MUL:
                g[a] += go * v[b]
                g[b] += go * v[a]
            elif code == SUB:
                g[a] += go
                g[b] -= go
            elif code == NEG:
                g[a] -= go
            elif code == SIN:
                g[a] += go * math.cos(v[a])
            elif code == COS:
                g[a] -= go * math.sin(v[a])
            elif code == TANH:
                g[a] += go * (1.0 - v[out] * v[out])
            elif code == EXP:
                g[a] += go * v[out]
            elif code == DIV:
                g[a] += go / v[b]
                g[b] -= go * v[a] / (v[b] * v[b])
            elif code == LOG:
                g[a] += go / v[a]
            elif code == SQRT:
                g[a] += go / (2.0 * v[out])
            else:  # POW
                g[a] += go * v[b] * v[a] ** (v[b] - 1.0)
                g[b] += go * math.log(v[a]) * v[out]
        return g


def build(ops: Sequence[str], args: Sequence[Sequence[int]], leaves: Sequence[float]) -> Tape:
    """A tape for a graph given as parallel lists: op name and input ids of each node, and
    each node's value (used only for leaves, nodes without inputs)."""
    tape = Tape(len(ops))
    for i, (op, a) in enumerate(zip(ops, args, strict=True)):
        if a:
            tape.record(i, op, *a)
        else:
            tape.values[i] = leaves[i]
    return tape


def gradient(tape: Tape, output: int) -> tuple[float, list[float]]:
    tape.forward()
    return tape.values[output], tape.backward(output)
