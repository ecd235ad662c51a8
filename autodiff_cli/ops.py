"""The primitive table: the one place that says what an op is.

Each row gives the op's name (the grammar alias, the JSON "op", the column in trace), its
arity, its forward function on floats, one local derivative per input as a float function of
(inputs..., output), the same derivatives written in the expression language over x, y (the
inputs) and z (the output), and how it prints. Everything else reads this table.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

Partial = Callable[..., float] | float


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    forward: Callable[..., float]
    partials: tuple[Partial, ...]
    rules: tuple[str, ...]
    symbol: str = ""  # infix or prefix symbol; empty for functions
    precedence: int = 9  # binding strength when printed: 1 + -, 2 * /, 3 unary -, 4 ^, 9 atoms
    call: str = ""  # the function name users write, if not `name` (log(x, b) is op "logb")
    domain: str = ""  # what the inputs must satisfy, for error messages
    note: str = ""  # the derivative chosen at a kink or domain edge

    @property
    def written(self) -> str:
        return self.call or self.name

    @property
    def is_function(self) -> bool:
        return not self.symbol


def _pow(x: float, y: float) -> float:
    return math.pow(x, y)


def _dpow_dx(x: float, y: float, z: float) -> float:
    if y == 1.0:
        return 1.0
    return y * math.pow(x, y - 1.0)


def _dpow_dy(x: float, y: float, z: float) -> float:
    if x == 0.0 and y > 0.0:
        return 0.0  # lim x->0+ of x^y log x
    return math.log(x) * z


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    t = math.exp(x)
    return t / (1.0 + t)


def _softplus(x: float) -> float:
    return math.log1p(math.exp(-abs(x))) + (x if x > 0.0 else 0.0)


def _sign(x: float) -> float:
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0


def _step(x: float) -> float:
    return 1.0 if x > 0.0 else 0.0


def _logb(x: float, b: float) -> float:
    return math.log(x) / math.log(b)


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _unary(
    name: str,
    forward: Callable[[float], float],
    partial: Partial,
    rule: str,
    domain: str = "",
    note: str = "",
) -> Op:
    return Op(name, 1, forward, (partial,), (rule,), domain=domain, note=note)


def _binary_fn(
    name: str,
    forward: Callable[[float, float], float],
    partials: tuple[Partial, Partial],
    rules: tuple[str, str],
    call: str = "",
    domain: str = "",
    note: str = "",
) -> Op:
    return Op(name, 2, forward, partials, rules, call=call, domain=domain, note=note)


def _infix(
    name: str,
    symbol: str,
    precedence: int,
    forward: Callable[[float, float], float],
    partials: tuple[Partial, Partial],
    rules: tuple[str, str],
    domain: str = "",
) -> Op:
    return Op(name, 2, forward, partials, rules, symbol=symbol, precedence=precedence,
              domain=domain)


# Leaves of the graph: named inputs and literal constants. They have no inputs.
VAR = Op("var", 0, float, (), ())
CONST = Op("const", 0, float, (), ())

# fmt: off
OPS: dict[str, Op] = {op.name: op for op in (
    _infix("add", "+", 1, operator.add, (1.0, 1.0), ("1", "1")),
    _infix("sub", "-", 1, operator.sub, (1.0, -1.0), ("1", "-1")),
    _infix("mul", "*", 2, operator.mul, (lambda x, y, z: y, lambda x, y, z: x), ("y", "x")),
    _infix("div", "/", 2, operator.truediv,
           (lambda x, y, z: 1.0 / y, lambda x, y, z: -x / (y * y)), ("1/y", "-x/y^2"),
           domain="a non-zero divisor"),
    _infix("pow", "^", 4, _pow, (_dpow_dx, _dpow_dy), ("y*x^(y - 1)", "log(x)*z"),
           domain="x > 0, or x = 0 with y >= 0, or x < 0 with a whole y"),
    Op("neg", 1, operator.neg, (-1.0,), ("-1",), symbol="-", precedence=3),
    _unary("sin", math.sin, lambda x, z: math.cos(x), "cos(x)"),
    _unary("cos", math.cos, lambda x, z: -math.sin(x), "-sin(x)"),
    _unary("tan", math.tan, lambda x, z: 1.0 + z * z, "1 + z^2"),
    _unary("asin", math.asin, lambda x, z: 1.0 / math.sqrt(1.0 - x * x), "1/sqrt(1 - x^2)",
           domain="-1 <= x <= 1", note="not finite at x = -1 and x = 1: an error"),
    _unary("acos", math.acos, lambda x, z: -1.0 / math.sqrt(1.0 - x * x), "-1/sqrt(1 - x^2)",
           domain="-1 <= x <= 1", note="not finite at x = -1 and x = 1: an error"),
    _unary("atan", math.atan, lambda x, z: 1.0 / (1.0 + x * x), "1/(1 + x^2)"),
    _unary("sinh", math.sinh, lambda x, z: math.cosh(x), "cosh(x)"),
    _unary("cosh", math.cosh, lambda x, z: math.sinh(x), "sinh(x)"),
    _unary("tanh", math.tanh, lambda x, z: 1.0 - z * z, "1 - z^2"),
    _unary("exp", math.exp, lambda x, z: z, "z"),
    _unary("log", math.log, lambda x, z: 1.0 / x, "1/x", domain="x > 0"),
    _binary_fn("logb", _logb,
               (lambda x, b, z: 1.0 / (x * math.log(b)),
                lambda x, b, z: -z / (b * math.log(b))),
               ("1/(x*log(y))", "-z/(y*log(y))"), call="log", domain="x > 0, b > 0, b != 1"),
    _unary("log2", math.log2, lambda x, z: 1.0 / (x * _LN2), "1/(x*log(2))", domain="x > 0"),
    _unary("log10", math.log10, lambda x, z: 1.0 / (x * _LN10), "1/(x*log(10))",
           domain="x > 0"),
    _unary("sqrt", math.sqrt, lambda x, z: 0.5 / z, "1/(2*z)", domain="x >= 0",
           note="not finite at x = 0: an error"),
    _unary("abs", abs, lambda x, z: _sign(x), "sign(x)", note="0 at x = 0"),
    _unary("sigmoid", _sigmoid, lambda x, z: z * (1.0 - z), "z*(1 - z)"),
    _unary("relu", lambda x: x if x > 0.0 else 0.0, lambda x, z: _step(x), "step(x)",
           note="0 at x = 0"),
    _unary("softplus", _softplus, lambda x, z: _sigmoid(x), "sigmoid(x)"),
    _unary("sign", _sign, 0.0, "0", note="0 everywhere, also at the jump x = 0"),
    _unary("step", _step, 0.0, "0", note="step(0) = 0; derivative 0, also at the jump"),
    _binary_fn("max", max,
               (lambda x, y, z: 0.5 * (1.0 + _sign(x - y)), lambda x, y, z: 0.5 * (1.0 - _sign(x - y))),
               ("(1 + sign(x - y))/2", "(1 - sign(x - y))/2"), note="1/2 to each input at a tie"),
    _binary_fn("min", min,
               (lambda x, y, z: 0.5 * (1.0 - _sign(x - y)), lambda x, y, z: 0.5 * (1.0 + _sign(x - y))),
               ("(1 - sign(x - y))/2", "(1 + sign(x - y))/2"), note="1/2 to each input at a tie"),
)}
# fmt: on

# pow(x, y) is written as a function too; it is the same op as x^y.
FUNCTIONS: dict[str, dict[int, Op]] = {}
for _op in OPS.values():
    if _op.is_function:
        FUNCTIONS.setdefault(_op.written, {})[_op.arity] = _op
FUNCTIONS["pow"] = {2: OPS["pow"]}

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def lookup(name: str, nargs: int) -> Op | None:
    """The op a call `name(...)` with nargs arguments denotes, if any."""
    return FUNCTIONS.get(name, {}).get(nargs)
