"""Local derivatives as numbers: each op's rule (an expression over x, y, z) compiled once
into a float, a reference to an input or the output, or a small function of (x, y, z)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from . import ast
from .ops import OPS, Op

# A compiled rule: a constant, the index of x, y or z, or a function of (x, y, z).
Local = float | int | Callable[[Any, Any, Any], Any]
Impl = Callable[[Op], Callable[..., Any]]

REFS = {"x": 0, "y": 1, "z": 2}


def scalar_impl(op: Op) -> Callable[..., Any]:
    return op.forward


@cache
def scalar_partials(name: str) -> tuple[Local, ...]:
    """The compiled rules of op `name` on floats."""
    return tuple(compile_rule(rule, scalar_impl) for rule in OPS[name].rules)


@cache
def array_partials(name: str) -> tuple[Local, ...]:
    """The compiled rules of op `name` on numpy arrays."""
    from .arrays import implementation

    return tuple(compile_rule(rule, implementation) for rule in OPS[name].rules)


@cache
def rule_tree(rule: str) -> ast.Expr:
    from .parse import parse

    stmt = parse(rule).stmts[0]
    assert isinstance(stmt, ast.Expr)
    return stmt


def compile_rule(rule: str, impl: Impl) -> Local:
    return _compile(rule_tree(rule), impl)


def _compile(node: ast.Expr, impl: Impl) -> Local:
    if isinstance(node, ast.Num):
        return node.value
    if isinstance(node, ast.Name):
        return REFS[node.id]
    assert isinstance(node, ast.Call)
    fn = impl(OPS[node.op])
    args = [_compile(a, impl) for a in node.args]
    if all(isinstance(a, float) for a in args):
        return float(fn(*args))
    parts = [_as_function(a) for a in args]
    if len(parts) == 1:
        (p,) = parts
        return lambda x, y, z: fn(p(x, y, z))
    p, q = parts
    return lambda x, y, z: fn(p(x, y, z), q(x, y, z))


def _as_function(local: Local) -> Callable[[Any, Any, Any], Any]:
    if isinstance(local, float):
        return lambda x, y, z: local
    if isinstance(local, int):
        return (lambda x, y, z: x, lambda x, y, z: y, lambda x, y, z: z)[local]
    return local


def evaluate(local: Local, x: Any, y: Any, z: Any) -> Any:
    if isinstance(local, float):
        return local
    if isinstance(local, int):
        return (x, y, z)[local]
    return local(x, y, z)
