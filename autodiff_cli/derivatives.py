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
    if node.op == "mul" and not isinstance(args[0], float):
        return _zero_first(_as_function(args[0]), _as_function(args[1]), impl is scalar_impl)
    if len(args) == 1:
        return _unary(fn, args[0])
    return _binary(fn, *args)


# Closures with as few calls inside as possible: backward calls them once per edge.

def _unary(fn: Callable[..., Any], a: Local) -> Callable[[Any, Any, Any], Any]:
    if isinstance(a, int):
        return (lambda x, y, z: fn(x), lambda x, y, z: fn(y), lambda x, y, z: fn(z))[a]
    p = _as_function(a)
    return lambda x, y, z: fn(p(x, y, z))


def _binary(fn: Callable[..., Any], a: Local, b: Local) -> Callable[[Any, Any, Any], Any]:
    if isinstance(a, float) and isinstance(b, int):
        return lambda x, y, z: fn(a, (x, y, z)[b])
    if isinstance(a, int) and isinstance(b, float):
        return lambda x, y, z: fn((x, y, z)[a], b)
    if isinstance(a, int) and isinstance(b, int):
        return lambda x, y, z: fn((x, y, z)[a], (x, y, z)[b])
    if isinstance(a, float):
        q = _as_function(b)
        return lambda x, y, z: fn(a, q(x, y, z))
    if isinstance(b, float):
        p = _as_function(a)
        return lambda x, y, z: fn(p(x, y, z), b)
    p, q = _as_function(a), _as_function(b)
    return lambda x, y, z: fn(p(x, y, z), q(x, y, z))


def _zero_first(p: Callable[[Any, Any, Any], Any], q: Callable[[Any, Any, Any], Any],
                scalar: bool) -> Callable[[Any, Any, Any], Any]:
    """p * q, and 0 where p is 0 even if q is not defined there (y*x^(y - 1) at y = 0)."""
    if scalar:
        def product(x: Any, y: Any, z: Any) -> Any:
            a = p(x, y, z)
            if a == 0.0:
                try:
                    return a * q(x, y, z)
                except (ArithmeticError, ValueError):
                    return a * 0.0
            return a * q(x, y, z)

        return product
    from .arrays import zero_first

    return lambda x, y, z: zero_first(p(x, y, z), lambda: q(x, y, z))


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
