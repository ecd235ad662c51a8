"""Checking given answers (a value and partial derivatives) against the computed ones.

An answer matches when |got - expected| <= atol + rtol * |expected|, with got the computed
number and expected the given one (RTOL = 1e-6, ATOL = 1e-9 by default), the rule of
math.isclose and numpy.isclose with the expected answer as the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import GradResult, is_scalar
from .api import result as api_result
from .core import evaluate, prepare
from .errors import UsageError

RTOL = 1e-6
ATOL = 1e-9


@dataclass
class Answer:
    """One answer: key is "value" or a variable's name."""

    key: str
    expected: float
    got: float
    ok: bool

    @property
    def difference(self) -> float:
        return self.got - self.expected


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
    return abs(got - expected) <= atol + rtol * abs(expected)


def check_answers(expression: str, at: Mapping[str, Any] | None = None,
                  expect: Mapping[str, float] | None = None, value: float | None = None,
                  rtol: float = RTOL, atol: float = ATOL) -> AnswerCheck:
    """Compare the value (if given) and each expected partial derivative with what grad
    computes. Names in expect must be variables of the expression."""
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
    answers = []
    if value is not None:
        answers.append(Answer("value", value, result.value, close(result.value, value, rtol,
                                                                   atol)))
    for name, want in expect.items():
        got = result.gradient[name]
        answers.append(Answer(name, want, got, close(got, want, rtol, atol)))
    return AnswerCheck(result, answers, rtol, atol)
