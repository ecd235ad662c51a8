"""Checking given answers (a value and partial derivatives) against the computed ones.

An answer matches when |got - expected| <= atol + rtol * |expected|, with got the computed
number and expected the given one (RTOL = 1e-6, ATOL = 1e-9 by default), the rule of
math.isclose and numpy.isclose with the expected answer as the reference. An answer that is
not a finite number never matches; one that cannot be read (read_answer) is that answer's
failure, with the reason, and the other answers are checked all the same.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .api import GradResult, is_scalar
from .api import result as api_result
from .core import evaluate, prepare
from .errors import AutodiffError, LimitError, NameError_, UsageError

if TYPE_CHECKING:
    from .limits import Budget

RTOL = 1e-6
ATOL = 1e-9


@dataclass(frozen=True)
class Refused:
    """A given answer that is not a finite number: what was given, and why it is refused."""

    text: str
    reason: str
    limit: bool = False  # refused by a limit or the work budget, not for what it says


Given = float | Refused


@dataclass
class Answer:
    """One answer: key is "value" or "d/dNAME" (grade's spelling: a variable may be named
    value). An answer that could not be read has expected nan and says why in reason
    (text: what was given); it is never ok."""

    key: str
    expected: float
    got: float
    ok: bool
    reason: str = ""
    text: str = ""

    @property
    def difference(self) -> float:
        return self.got - self.expected

    @property
    def variable(self) -> str | None:
        """The variable of a partial derivative; None for the value."""
        return self.key[3:] if self.key.startswith("d/d") else None


@dataclass
class AnswerCheck:
    result: GradResult
    answers: list[Answer] = field(default_factory=list)
    rtol: float = RTOL
    atol: float = ATOL

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.answers)

    @property
    def wrong(self) -> list[Answer]:
        return [a for a in self.answers if not a.ok]


def close(got: float, expected: float, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """|got - expected| <= atol + rtol*|expected|, and both finite (inf is never close)."""
    return math.isfinite(got) and math.isfinite(expected) and \
        abs(got - expected) <= atol + rtol * abs(expected)


_PLAIN = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*\Z")  # 3, -0.5, 1e-3
NUMBER_HINT = "a number or a constant expression such as \"1/3\" or \"pi/4\""


def read_answer(x: Any, budget: Budget | None = None) -> Given:
    """A given answer as a finite float, or Refused with the reason: x is a number, or text
    holding a number or a constant expression (inputs.constant: "1/3", "pi/4", never a
    file), whose work spends from budget if one is given."""
    if isinstance(x, bool) or not isinstance(x, (int, float, str)):
        kind = {type(None): "null", bool: "true or false", list: "a list", dict: "an object"
                }.get(type(x), type(x).__name__)
        return Refused(kind, f"not a number: expected {NUMBER_HINT}, got {kind}")
    if isinstance(x, int):
        try:
            return float(x)
        except OverflowError:
            return Refused(str(x), "the number is too large for a float")
    if isinstance(x, float):
        return x if math.isfinite(x) else Refused(str(x), f"{x} is not a finite number")
    text = x
    if _PLAIN.match(text):
        number = float(text)
        if math.isfinite(number):
            return number
        return Refused(text, f"the number {text.strip()} is too large for a float")
    from .inputs import NOT_FINITE, constant

    try:
        value = constant(text, budget=budget)
    except AutodiffError as err:
        reason = err.message
        if isinstance(err, NameError_):
            span = err.span or (0, len(text))
            word = text[span[0]:span[1]]
            reason = f"{word} is not a finite number" if word.lower() in NOT_FINITE else \
                f"not a constant: {reason}"
        return Refused(text, reason, isinstance(err, LimitError))
    if not is_scalar(value):
        from .arrays import shape_text

        return Refused(text, f"not a number: an array of shape {shape_text(value)}")
    return float(value)


def read_answers(specs: Iterable[str], option: str = "--expect") -> dict[str, Given]:
    """{"a": 3.0, "b": Refused(...)} from ["a=3,b=abc"]: each value read by read_answer.
    A piece that is not NAME=VALUE, or a name given twice, is a UsageError, since it
    names no answer (inputs.assignments splits them, as for --at)."""
    from .inputs import assignments

    return {name: read_answer(rhs) for name, rhs, _spec, _at in assignments(specs, option)}


def check_answers(expression: str, at: Mapping[str, Any] | None = None,
                  expect: Mapping[str, Given] | None = None, value: Given | None = None,
                  rtol: float = RTOL, atol: float = ATOL) -> AnswerCheck:
    """Compare the value (if given) and each expected partial derivative with what grad
    computes. Names in expect must be variables of the expression. A Refused answer (or
    one that is not finite) is wrong, with its reason."""
    expect = dict(expect or {})
    if value is None and not expect:
        raise UsageError("nothing to check: give --expect NAME=NUMBER,... and/or --value "
                         "NUMBER")
    p = prepare(expression, at, list(expect), option="--expect")  # only the partials asked
    result = api_result(evaluate(p))
    for what, got in ([("the value", result.value)] if value is not None else []) + \
            [(f"the derivative by {n}", result.gradient[n]) for n in expect]:
        if not is_scalar(got):
            from .arrays import shape_text

            raise UsageError(f"check compares numbers, and {what} has shape "
                             f"{shape_text(got)}", hint="check a scalar: sum(...) or an "
                             "entry's own expression")
    given = ([("value", value, result.value)] if value is not None else []) + \
        [(f"d/d{name}", want, result.gradient[name]) for name, want in expect.items()]
    answers = []
    for key, want, got in given:
        if isinstance(want, Refused):
            answers.append(Answer(key, math.nan, got, False, want.reason, want.text))
        elif not math.isfinite(want):
            answers.append(Answer(key, math.nan, got, False, f"{want} is not a finite number",
                                  str(want)))
        else:
            answers.append(Answer(key, want, got, close(got, want, rtol, atol)))
    return AnswerCheck(result, answers, rtol, atol)
