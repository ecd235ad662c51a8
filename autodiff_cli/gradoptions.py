"""`grad` with the toolkit's options: --mode, --check, --order. One report for all three,
so the renderers can show whichever parts were asked for."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import GradResult, result
from .core import evaluate, prepare
from .errors import UsageError
from .gradcheck import STEP, TOL, PartialCheck, check
from .higher import higher
from .modes import passes


@dataclass
class GradReport:
    result: GradResult
    mode: str = ""  # set when a mode was asked for explicitly
    passes: dict[str, int] = field(default_factory=dict)
    checks: list[PartialCheck] | None = None  # with --check
    tol: float = TOL
    step: float = STEP
    order: int = 1
    derivative: dict[str, float] = field(default_factory=dict)  # d^order f / d x^order

    @property
    def ok(self) -> bool:
        return self.checks is None or all(c.ok for c in self.checks)


def grad_report(expression: str, at: Mapping[str, Any] | None = None,
                wrt: Iterable[str] | None = None, mode: str | None = None,
                check_fd: bool = False, tol: float = TOL, order: int = 1) -> GradReport:
    """The gradient by mode (reverse if None), with finite-difference checks if check_fd,
    or the order-th derivatives if order > 1."""
    if order != 1:
        if mode is not None or check_fd:
            raise UsageError("--order 2 and higher is computed by differentiating the graph "
                             "(reverse over reverse): it does not combine with --mode or "
                             "--check")
        h = higher(expression, at, wrt, order)
        return GradReport(h.result, order=order, derivative=h.derivative)
    if not 0 < tol < math.inf:
        raise UsageError(f"--tol must be a positive number, got {tol}")
    p = prepare(expression, at, wrt)
    r = result(evaluate(p, mode=mode or "reverse"))
    report = GradReport(r, mode or "", passes(mode, len(p.wrt)) if mode else {}, tol=tol)
    if check_fd:
        report.checks = check(p, r.gradient, tol)
    return report
