"""A graph node printed back as an expression in our language, with as few parentheses as
the grammar needs. Iterative: deep graphs print without recursion."""

from __future__ import annotations

from ..engine import Graph
from ..ops import CONST, CONSTANTS, VAR
from .numbers import exact

ATOM = 9


def to_text(graph: Graph, root: int) -> str:
    done: dict[int, tuple[str, int]] = {}
    stack = [root]
    while stack:
        i = stack[-1]
        if i in done:
            stack.pop()
            continue
        pending = [a for a in graph.args[i] if a not in done]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        done[i] = _node_text(graph, i, done)
    return done[root][0]


def _node_text(graph: Graph, i: int, done: dict[int, tuple[str, int]]) -> tuple[str, int]:
    op = graph.ops[i]
    if op is VAR:
        return graph.labels[i], ATOM
    if op is CONST:
        label, value = graph.labels[i], graph.values[i]
        if label in CONSTANTS and CONSTANTS[label] == value:
            return label, ATOM
        text = exact(value)
        return text, (3 if text.startswith("-") else ATOM)
    parts = [done[a] for a in graph.args[i]]
    if op.is_function:
        return f"{op.written}({', '.join(t for t, _ in parts)})", ATOM
    p = op.precedence
    if len(parts) == 1:
        (text, q), = parts
        return op.symbol + (f"({text})" if q < p else text), p
    (left, lp), (right, rp) = parts
    if lp < p or (op.name == "pow" and lp <= p):
        left = f"({left})"
    if (rp < p or (rp == p and op.name in ("sub", "div", "matmul"))) if op.name != "pow" \
            else rp < 3:
        right = f"({right})"
    return f"{left} {op.symbol} {right}" if p == 1 else f"{left}{op.symbol}{right}", p
