"""How large an input may be. Larger inputs are refused at once with a LimitError (exit 2)
rather than taking minutes, gigabytes or the machine's swap. The "Limits" section of docs/limits.md
gives these numbers and what they cost."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from .errors import LimitError

MAX_CHARS = 10_000_000  # characters of one source: EXPR, --file, standard input, a batch line
MAX_TOKENS = 3_000_000  # its numbers, names, operators, brackets and separators
MAX_REPORT_TOKENS = 1_000_000  # tokens of a source that trace and graph report node by node
MAX_NODES = 5_000_000  # nodes of one graph, the graphs of symbolic derivatives included
MAX_TANGENTS = 10_000_000  # tangents a forward-mode trace keeps: variables x nodes
MAX_ENTRIES = 10_000_000  # entries of one array value (80 MB): a CSV file, randn, a result
MAX_TOTAL_ENTRIES = 50_000_000  # entries of all array values of one graph together
MAX_CSV_BYTES = 200_000_000  # size of a CSV file given with --at NAME=FILE.csv
MAX_ID_CHARS = 1_000  # characters of a student's name or a problem's id (grade)

# one match per token of the grammar, near enough: a name, a number, '**', a comment, or
# any other character that is not white space
_TOKEN = re.compile(r"[^\W\d]\w*|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|\*\*|#[^\n]*|\S")


def check_source(source: str, max_tokens: int | None = None, what: str = "") -> None:
    """Raise LimitError if source is longer than MAX_CHARS or has more than max_tokens
    (MAX_TOKENS) tokens. Costs one pass of a regular expression (C speed), and nothing for
    text shorter than the limit."""
    max_tokens = MAX_TOKENS if max_tokens is None else max_tokens
    if len(source) > MAX_CHARS:
        raise LimitError(f"the input has {len(source):,} characters; the limit is "
                         f"{MAX_CHARS:,}", hint=HINT)
    if len(source) > max_tokens:
        tokens = _TOKEN.subn("", source)[1]
        if tokens > max_tokens:
            raise LimitError(f"the input has {tokens:,} tokens (numbers, names, operators "
                             f"and brackets); the limit{what} is {max_tokens:,}", hint=HINT)


def read_text(stream: TextIO, what: str) -> str:
    """All of stream without its final line break(s), or LimitError once it is longer than
    MAX_CHARS (it is never read whole into memory then)."""
    text = stream.read(MAX_CHARS + 1)
    if len(text) > MAX_CHARS:
        raise LimitError(f"{what} is longer than {MAX_CHARS:,} characters, the limit",
                         hint=HINT)
    return text.rstrip("\r\n")


def bounded_lines(stream: TextIO) -> Iterator[str]:
    """The lines of stream, none read whole if longer than MAX_CHARS: such a line comes as
    its first MAX_CHARS + 1 characters (the rest is skipped), for the reader to refuse."""
    while True:
        line = stream.readline(MAX_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_CHARS and not line.endswith("\n"):
            rest = line
            while rest and not rest.endswith("\n"):
                rest = stream.readline(MAX_CHARS)
        yield line


def check_nodes(count: int) -> None:
    if count > MAX_NODES:
        raise LimitError(f"the graph would have more than {MAX_NODES:,} nodes", hint=HINT)


def check_tangents(variables: int, nodes: int) -> None:
    if variables * nodes > MAX_TANGENTS:
        raise LimitError(f"a forward-mode trace of {nodes:,} nodes and {variables:,} variables "
                         f"keeps {variables * nodes:,} tangents; the limit is "
                         f"{MAX_TANGENTS:,}", hint="--wrt names fewer variables; grad --mode "
                         "forward keeps only the output's tangents")


def check_entries(entries: int, what: str = "an array") -> None:
    if entries > MAX_ENTRIES:
        raise LimitError(f"{what} would have {entries:,} entries; the limit is "
                         f"{MAX_ENTRIES:,}", hint=HINT)


HINT = "docs/limits.md, section \"Limits\", says what fits and why"


# -- the work budget of untrusted input (a --batch line, a submission) -------------------
#
# Estimated before anything runs, from what the work is made of, at rates measured on one
# core (benchmarks/limits.py; docs/limits.md, "Safety"); deliberately simple and a little
# generous, so that honest input never meets it and a hostile line costs about a second.

BUDGET = 1.0  # seconds of estimated work per untrusted line, by default
SECONDS_PER_TOKEN = 6e-6  # parsing and lowering, per token of the source
SECONDS_PER_NODE = 1e-6  # one pass over a scalar node
SECONDS_PER_ARRAY_NODE = 1e-5  # one pass over a node whose value is an array (numpy's call)
SECONDS_PER_ENTRY = 1e-8  # one element-wise op on one entry, or one entry of a reduction
SECONDS_PER_RANDOM = 4e-8  # one entry of randn
SECONDS_PER_FLOP = 4e-11  # one multiply-add of a matrix product
Shape = tuple[int, ...]


@dataclass(frozen=True)
class Work:
    """What evaluating a source would cost, counted before it runs. A node that depends on
    a variable counts three times (its forward pass and its two passes of the reverse
    sweep: local derivatives, then accumulation)."""

    tokens: int = 0
    nodes: int = 0
    arrays: int = 0  # passes over nodes whose value is an array (each a numpy call)
    entries: int = 0  # array entries made or read by element-wise ops and reductions
    random: int = 0  # entries drawn by randn
    flops: int = 0  # multiply-adds of matrix products

    @property
    def seconds(self) -> float:
        return (self.tokens * SECONDS_PER_TOKEN + self.nodes * SECONDS_PER_NODE
                + self.arrays * SECONDS_PER_ARRAY_NODE + self.entries * SECONDS_PER_ENTRY
                + self.random * SECONDS_PER_RANDOM + self.flops * SECONDS_PER_FLOP)

    def describe(self) -> str:
        parts = [f"{n:,} {what}" for n, what in (
            (self.tokens, "tokens"), (self.nodes, "node passes"),
            (self.entries, "array entries"), (self.random, "random numbers"),
            (self.flops, "multiply-adds of matrix products")) if n]
        return ", ".join(parts) or "nothing"


class Budget:
    """Seconds of estimated work an untrusted line may still spend: each source it brings
    (an expression, a value, an answer) spends its estimate before it runs, and one that
    does not fit is refused with a LimitError."""

    def __init__(self, seconds: float = BUDGET) -> None:
        self.seconds = seconds
        self.left = seconds

    def spend(self, work: Work, what: str = "this input") -> None:
        cost = work.seconds
        if cost > self.left:
            left = "" if self.left > 0.99 * self.seconds else \
                f", {max(self.left, 0):.2g} s of it left"
            raise LimitError(f"{what} is over the work budget: about {cost:.2g} s of work "
                             f"({work.describe()}); the budget is {self.seconds:g} s{left}",
                             hint="--budget SECONDS allows more; docs/limits.md, section "
                             "\"Safety and determinism\", says how work is counted")
        self.left -= cost

    def source(self, text: str, what: str = "this input") -> None:
        """Spend the parse of text, before it is parsed: its tokens, counted by one pass of
        a regular expression (a short text is charged a token per character)."""
        tokens = len(text) if len(text) <= 256 else _TOKEN.subn("", text)[1]
        self.spend(Work(tokens=tokens), what)


def estimate(ops: Sequence[str], args: Sequence[tuple[int, ...]], leaves: Sequence[Any],
             variables: Iterable[int] = ()) -> Work:
    """The work of one forward pass and of the reverse sweep over the nodes that depend on
    one of the `variables`, for a graph given as op names, input ids (each below its
    node's id) and leaf values (a float or an array at each leaf, anything elsewhere; only
    their shapes are read, and the values of the scalars that give randn's shape or an
    axis). No numpy, and nothing is evaluated but scalar ops. Iterative."""
    n = len(ops)
    depends = [False] * n
    for v in variables:
        depends[v] = True
    from .ops import OPS

    rows = [OPS.get(name) for name in ops]
    if not (any(op is not None and op.shape == "make" for op in rows)
            or any(getattr(leaves[i], "shape", ()) for i in range(n) if not args[i])):
        return Work(nodes=3 * n if any(depends) else n)  # all scalars: nodes say it all
    shapes: list[Shape] = [()] * n
    scalars: list[float | None] = [None] * n  # the value of a scalar node, where known
    nodes = arrays = entries = random = flops = 0
    for i, (op, a) in enumerate(zip(rows, args, strict=True)):
        if not a or op is None:
            leaf = leaves[i]
            shapes[i] = tuple(getattr(leaf, "shape", ()))
            if not shapes[i]:
                with contextlib.suppress(TypeError, ValueError):
                    scalars[i] = float(leaf)
            continue
        ins = [shapes[k] for k in a]
        shape: Shape | None = ()
        size = mults = 0  # entries this node reads or writes, multiply-adds it does
        kind = op.shape
        if kind == "make":
            shape = _made(scalars[a[0]], scalars[a[-1]])
            random += _size(shape or ()) if op.name == "randn" else 0
        elif kind == "matmul":
            shape, mults = _matmul(ins[0], ins[1])
        elif kind == "transpose":
            shape = ins[0][::-1]
        elif kind == "reduce":
            size = _size(ins[0])
        elif kind == "reduce_axis":
            size = _size(ins[0])
            shape = _drop_axis(ins[0], scalars[a[1]])
        elif len(ins) == 2:
            shape = _broadcast(ins[0], ins[1])
        else:
            shape = ins[0]
        shapes[i] = shape = shape or ()
        if shape and kind not in ("make", "matmul"):
            size = max(size, _size(shape))
        passes = 3 if any(depends[k] for k in a) else 1
        depends[i] = passes == 3
        nodes += passes
        arrays += passes if shape or size else 0
        entries += passes * size
        flops += passes * mults
        if not shape and not size and all(scalars[k] is not None for k in a):
            with contextlib.suppress(ArithmeticError, ValueError, TypeError):
                scalars[i] = float(op.forward(*(scalars[k] for k in a)))
    return Work(nodes=nodes + sum(1 for a in args if not a), arrays=arrays, entries=entries,
                random=random, flops=flops)


def graph_work(graph: Any, point: Mapping[str, Any]) -> Work:
    """estimate() of a compiled graph with the variables at `point`: the one place that
    reads a Graph for the budget (its ops, inputs, and the values of its constants)."""
    from .ops import CONST

    if not graph.makes_arrays and not any(hasattr(x, "shape") for x in point.values()):
        n = len(graph.ops)  # scalars only (no array constant, no randn): nodes say it all
        return Work(nodes=3 * n if graph.variables else n)
    leaves = [None] * len(graph.ops)
    for i, op in enumerate(graph.ops):
        if op is CONST:
            leaves[i] = graph.consts[i]
    for name, i in graph.variables.items():
        leaves[i] = point.get(name, 0.0)
    return estimate([op.name for op in graph.ops], graph.args, leaves,
                    graph.variables.values())


def _size(shape: Shape) -> int:
    size = 1
    for k in shape:
        size *= k
    return size


def _made(rows: float | None, cols: float | None) -> Shape | None:
    """The shape randn(rows, cols) makes, or None where it refuses (then it costs nothing)."""
    if rows is None or cols is None or rows != int(rows) or cols != int(cols) \
            or rows < 1 or cols < 1 or rows * cols > MAX_ENTRIES:
        return None
    return (int(rows), int(cols))


def _broadcast(a: Shape, b: Shape) -> Shape | None:
    if len(a) < len(b):
        a, b = b, a
    b = (1,) * (len(a) - len(b)) + b
    out = []
    for x, y in zip(a, b, strict=True):
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y))
    return tuple(out)


def _matmul(a: Shape, b: Shape) -> tuple[Shape | None, int]:
    """The shape of a @ b and its multiply-adds (numpy's rules for vectors and stacks)."""
    if not a or not b:
        return _broadcast(a, b), 0
    a2 = a if len(a) > 1 else (1, *a)
    b2 = b if len(b) > 1 else (*b, 1)
    stack = _broadcast(a2[:-2], b2[:-2])
    if stack is None or a2[-1] != b2[-2]:
        return None, 0
    shape = (*stack, *a[-2:-1], *(b[-1:] if len(b) > 1 else ()))
    return shape, _size(stack) * a2[-2] * a2[-1] * b2[-1]


def _drop_axis(shape: Shape, axis: float | None) -> Shape:
    if not shape:
        return shape
    k = len(shape) - 1 if axis is None or axis != int(axis) else int(axis) % len(shape)
    return shape[:k] + shape[k + 1:]
