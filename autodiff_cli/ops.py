"""The primitive table: the one place that says what an op is.

A row gives the op's name (the grammar alias, the JSON "op", the column in trace), its arity,
its forward function on floats, and its local derivative with respect to each input, written
once in the expression language over x, y (the inputs) and z (the output). That rule is
printed by trace, compiled to numbers by derivatives.py (floats and arrays alike) and, being
an expression, can itself be differentiated. In a rule, a product whose first factor is 0 is 0
even where the second is not defined: d/dx x^y = y*x^(y - 1) is 0 at y = 0, also at x = 0.
On arrays the row names its numpy kernel (or arrays.py's) and, if it is not element-wise, its
vector-Jacobian product. Everything else reads this table.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    forward: Callable[..., float]
    rules: tuple[str, ...]  # d out / d input_k, over x, y (inputs) and z (output)
    symbol: str = ""  # infix or prefix symbol; empty for functions
    precedence: int = 9  # binding strength when printed: 1 + -, 2 * / @, 3 unary -, 4 ^
    call: str = ""  # the function name users write, if not `name` (log(x, b) is op "logb")
    domain: str = ""  # what the inputs {x}, {y} must satisfy, for error messages
    note: str = ""  # the derivative chosen at a kink or domain edge
    hints: tuple[str, ...] = ()  # per input, over {x} and {y}: said when its derivative
    # is not finite (else the note)
    vjp: str = ""  # not element-wise: its vector-Jacobian product, a function of arrays.py
    # with vjp: what input k receives on arrays, in words over {g} (the node's gradient),
    # {x}, {y} (the inputs) and {z} (the output); printed by trace
    vjp_rule: tuple[str, ...] = ()
    creates: bool = False  # makes a new array from its arguments (a shape): a constant
    array: str = ""  # on arrays: numpy's function of this name, or "arrays.NAME" for one of
    # arrays.py (the ones numpy lacks); "" for numpy's function of the op's own name
    latex: str = ""  # how the op prints in LaTeX, over {x} and {y} ({(x)}: x in
    # parentheses if it binds more weakly than latex_precedence); else \operatorname
    latex_precedence: int = 9  # how strongly the LaTeX form binds (9: an atom; a fraction
    # binds 8: it needs parentheses only as the base of a power)
    grouping: str = "left"  # an infix op, where a chain needs no parentheses: "left"
    # (a - b - c is (a - b) - c), "right" (a^b^c is a^(b^c)), "both" (associative)
    shape: str = "broadcast"  # its result's shape on arrays: "broadcast" (element-wise),
    # "first" (its first input's), "matmul", "transpose", "reduce" (a scalar), "reduce_axis"
    # (its input's without axis y), "make" (the shape y x y its inputs give)

    @property
    def written(self) -> str:
        return self.call or self.name

    @property
    def is_function(self) -> bool:
        return not self.symbol


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


def _relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0.0 else x * math.log(y)


def _logb(x: float, b: float) -> float:
    return math.log(x) / math.log(b)


def _same(x: float) -> float:
    return x


def _first(x: float, _axis: float) -> float:
    return x


def _array_only(*_args: float) -> float:
    raise TypeError("this op makes an array")


def _infix(name: str, symbol: str, precedence: int, forward: Callable[..., float],
           rules: tuple[str, ...], **kw: Any) -> Op:
    return Op(name, len(rules), forward, rules, symbol=symbol, precedence=precedence, **kw)


def _fn(name: str, forward: Callable[..., float], *rules: str, **kw: Any) -> Op:
    return Op(name, len(rules), forward, rules, **kw)


# Leaves of the graph: named inputs and literal constants. They have no inputs.
VAR = Op("var", 0, float, ())
CONST = Op("const", 0, float, ())

_SHAPE = "x rows and y columns, whole numbers >= 1, at most 10^7 entries"
_ATTR = "{x} > 0, or {x} = 0 with {y} >= 0, or {x} < 0 with a whole {y}"

OPS: dict[str, Op] = {op.name: op for op in (
    _infix("add", "+", 1, operator.add, ("1", "1"), grouping="both"),
    _infix("sub", "-", 1, operator.sub, ("1", "-1"), array="subtract"),
    _infix("mul", "*", 2, operator.mul, ("y", "x"), array="multiply", grouping="both"),
    _infix("div", "/", 2, operator.truediv, ("1/y", "-x/y^2"), domain="{y} != 0",
           array="divide", latex=r"\frac{{x}}{{y}}", latex_precedence=8),
    _infix("pow", "^", 4, math.pow, ("y*x^(y - 1)", "xlogy(z, x)"), domain=_ATTR,
           note="d/dy needs x > 0", array="power", grouping="right",
           hints=("the slope of {x}^{y} at {x} = 0 is infinite when {y} < 1",
                  "d/d{y} of {x}^{y} needs {x} > 0")),
    _infix("neg", "-", 3, operator.neg, ("-1",), array="negative"),
    _fn("sin", math.sin, "cos(x)", latex=r"\sin\left({x}\right)"),
    _fn("cos", math.cos, "-sin(x)", latex=r"\cos\left({x}\right)"),
    _fn("tan", math.tan, "1 + z*z", latex=r"\tan\left({x}\right)"),
    _fn("asin", math.asin, "1/sqrt(1 - x*x)", domain="-1 <= {x} <= 1",
        note="not finite at x = -1 and x = 1: an error",
        array="arcsin", latex=r"\arcsin\left({x}\right)"),
    _fn("acos", math.acos, "-1/sqrt(1 - x*x)", domain="-1 <= {x} <= 1",
        note="not finite at x = -1 and x = 1: an error",
        array="arccos", latex=r"\arccos\left({x}\right)"),
    _fn("atan", math.atan, "1/(1 + x*x)", array="arctan", latex=r"\arctan\left({x}\right)"),
    _fn("atan2", math.atan2, "y/(x*x + y*y)", "-x/(x*x + y*y)", domain="{x} and {y} not both 0",
        array="arctan2", latex=r"\operatorname{{atan2}}\left({x}, {y}\right)"),
    _fn("sinh", math.sinh, "cosh(x)", latex=r"\sinh\left({x}\right)"),
    _fn("cosh", math.cosh, "sinh(x)", latex=r"\cosh\left({x}\right)"),
    _fn("tanh", math.tanh, "1 - z*z", latex=r"\tanh\left({x}\right)"),
    _fn("exp", math.exp, "z", latex=r"\exp\left({x}\right)"),
    _fn("log", math.log, "1/x", domain="{x} > 0", latex=r"\ln\left({x}\right)"),
    _fn("logb", _logb, "1/(x*log(y))", "-z/(y*log(y))", call="log",
        domain="{x} > 0, {y} > 0, {y} != 1", array="arrays.logb",
        latex=r"\log_{{y}}\left({x}\right)"),
    _fn("log2", math.log2, "1/(x*log(2))", domain="{x} > 0", latex=r"\log_{2}\left({x}\right)"),
    _fn("log10", math.log10, "1/(x*log(10))", domain="{x} > 0", latex=r"\log_{10}\left({x}\right)"),
    _fn("sqrt", math.sqrt, "1/(2*z)", domain="{x} >= 0", note="not finite at x = 0: an error",
        hints=("the slope of sqrt({x}) is infinite at {x} = 0",),
        latex=r"\sqrt{{x}}"),
    _fn("abs", abs, "sign(x)", note="0 at x = 0", latex=r"\left|{x}\right|"),
    _fn("sigmoid", _sigmoid, "z*(1 - z)", latex=r"\sigma\left({x}\right)",
        array="arrays.sigmoid"),
    _fn("relu", _relu, "step(x)", note="0 at x = 0", array="arrays.relu"),
    _fn("softplus", _softplus, "sigmoid(x)", array="arrays.softplus"),
    _fn("xlogy", _xlogy, "log(y)", "x/y", domain="{y} > 0 unless {x} = 0",
        note="xlogy(0, y) = 0 for every y", array="arrays.xlogy",
        latex=r"{(x)} \cdot \ln\left({y}\right)", latex_precedence=2),
    _fn("sign", _sign, "0", note="0 everywhere, also at the jump x = 0"),
    _fn("step", _step, "0", note="step(0) = 0; derivative 0 everywhere, also at the jump",
        array="arrays.step"),
    _fn("max", max, "(1 + sign(x - y))/2", "(1 - sign(x - y))/2",
        note="1/2 to each input at a tie", array="maximum", latex=r"\max\left({x}, {y}\right)"),
    _fn("min", min, "(1 - sign(x - y))/2", "(1 + sign(x - y))/2",
        note="1/2 to each input at a tie", array="minimum", latex=r"\min\left({x}, {y}\right)"),
    # not element-wise: on arrays, arrays.py gives their vector-Jacobian products
    _infix("matmul", "@", 2, operator.mul, ("y", "x"), vjp="vjp_matmul",
           vjp_rule=("{g} @ {y}ᵀ", "{x}ᵀ @ {g}"), shape="matmul"),
    _fn("transpose", _same, "1", vjp="vjp_transpose", vjp_rule=("transpose of {g}",),
        array="transpose", shape="transpose"),
    _fn("sum", _same, "1", vjp="vjp_sum", vjp_rule=("{g} copied to every entry of {x}",),
        array="arrays.total", shape="reduce"),
    _fn("mean", _same, "1", vjp="vjp_mean", vjp_rule=("{g} ÷ n copied to all n entries of {x}",),
        array="arrays.average", shape="reduce"),
    _fn("sum_axis", _first, "1", "0", call="sum", vjp="vjp_sum_axis", array="arrays.sum_axis",
        shape="reduce_axis",
        vjp_rule=("{g} copied along axis {y} of {x}", "0")),
    _fn("mean_axis", _first, "1", "0", call="mean", vjp="vjp_mean_axis", array="arrays.mean_axis",
        shape="reduce_axis",
        vjp_rule=("{g} ÷ n copied along axis {y} of {x}", "0")),
    # new arrays of shape (r, c): constants, so no gradient flows into r and c
    _fn("randn", _array_only, "0", "0", creates=True, vjp="vjp_shape", vjp_rule=("0", "0"),
        array="arrays.randn", shape="make",
        domain=_SHAPE,
        note="standard normal entries, fixed by --seed and the call's place in the source"),
    _fn("zeros", _array_only, "0", "0", creates=True, vjp="vjp_shape", vjp_rule=("0", "0"),
        array="arrays.zeros", shape="make",
        domain=_SHAPE),
)}

FUNCTIONS: dict[str, dict[int, Op]] = {}
for _op in OPS.values():
    if _op.is_function:
        FUNCTIONS.setdefault(_op.written, {})[_op.arity] = _op
FUNCTIONS["pow"] = {2: OPS["pow"]}  # pow(x, y) is x^y

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def lookup(name: str, nargs: int) -> Op | None:
    """The op a call `name(...)` with nargs arguments denotes, if any."""
    return FUNCTIONS.get(name, {}).get(nargs)
