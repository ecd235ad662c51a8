"""grad with --mode, --check or --order: the grad report plus what those options add."""

from __future__ import annotations

from typing import Any

from ..gradcheck import PartialCheck
from ..gradoptions import GradReport
from ..words import partial_symbol
from . import source_text
from .grad import grad_json, grad_plain, grad_table
from .numbers import exact, human
from .table import Block, Table, styled


def passes_text(r: GradReport) -> str:
    return passes_line(r.mode, r.passes, len(r.result.gradient))


def passes_line(mode: str, passes: dict[str, int], n: int) -> str:
    """How many passes over the graph `mode` needed for n partial derivatives (grad and
    trace say it in the same words)."""
    if mode == "forward":
        k = passes.get("forward", n)
        return (f"forward mode: {k} forward pass{'es' if k != 1 else ''} of dual numbers, "
                "one per variable")
    return (f"reverse mode: 1 forward pass + 1 reverse sweep for {'all' if n != 1 else 'the'} "
            f"{n} partial derivative{'s' if n != 1 else ''}")


def check_text(r: GradReport) -> list[str]:
    return ["finite difference: (f(x+h) - f(x-h)) / 2h at h, h/√5, h/5, Richardson-"
            f"extrapolated; h from {r.step:.3g}·|x| ({r.step:.3g} at x = 0), adapted to f; "
            "forward/backward: one-sided",
            "bound: the finite difference's own error estimate; "
            "error: |∂ - fd| / max(1, |∂|, |fd|)",
            f"a partial fails when its error is above {human(r.tol)} (--tol) and |∂ - fd| "
            "is above its bound"]


def kink_text(c: PartialCheck) -> str:
    left, right = c.kink or (0.0, 0.0)
    return (f"{c.name} is at a kink: the derivative is {human(left)} from the left, "
            f"{human(right)} from the right; fd sees their mean")


def report_json(r: GradReport) -> dict[str, Any]:
    data = grad_json(r.result)
    if r.mode:
        data["mode"] = r.mode
        data["passes"] = dict(r.passes)
    if r.checks is not None:
        data["check"] = {
            "ok": r.ok, "tol": r.tol, "step": r.step,
            "partials": {c.name: {"finite_difference": c.finite_difference,
                                  "error": c.error, "ok": c.ok, "method": c.method,
                                  "step": c.step, "bound": c.bound,
                                  "kink": None if c.kink is None else
                                  {"left": c.kink[0], "right": c.kink[1]}}
                         for c in r.checks}}
    if r.order != 1:
        data["order"] = r.order
        data["derivative"] = dict(r.derivative)
    return data


def report_plain(r: GradReport) -> str:
    if r.checks is not None:
        lines = [exact(r.result.value)]
        for c in r.checks:
            fd = "-" if c.finite_difference is None else exact(c.finite_difference)
            err = "-" if c.error is None else exact(c.error)
            lines.append(f"{c.name} {exact(c.gradient)} {fd} {err} {'ok' if c.ok else 'FAIL'}")
        return "\n".join(lines) + "\n"
    if r.order != 1:
        lines = [exact(r.result.value)]
        lines += [f"{n} {exact(g)} {exact(r.derivative[n])}"
                  for n, g in r.result.gradient.items()]
        return "\n".join(lines) + "\n"
    return grad_plain(r.result)


def report_table(r: GradReport, fancy: bool = False) -> list[Block]:
    if r.checks is None and r.order == 1:
        return [*grad_table(r.result), "", passes_text(r)]
    res = r.result
    f = res.output or "f"
    headers = ["variable", "value", partial_symbol(f, "variable")]
    parts: list[Block] = [source_text(res.expression), f"{f} = {human(res.value)}", ""]
    if r.order != 1:
        headers.append(partial_symbol(f, "variable", r.order))
        rows = [(name, human(res.at[name]), human(g), human(r.derivative[name]))
                for name, g in res.gradient.items()]
        return [*parts, Table(tuple(headers), ("left", *("right",) * 3), rows, pad_edge=False)]
    headers += ["finite difference", "bound", "method", "error", "check"]
    checked: list[tuple[str, ...]] = []
    for c in r.checks or []:
        fd = "-" if c.finite_difference is None else human(c.finite_difference)
        bound = "-" if c.bound is None else f"{c.bound:.2g}"
        err = "-" if c.error is None else f"{c.error:.2g}"
        verdict = "ok" if c.ok and c.error is not None else "skipped" if c.ok else "FAIL"
        checked.append((c.name, human(res.at[c.name]), human(c.gradient), fd, bound,
                     c.method or "-", err, verdict if c.ok else styled(verdict, "bold red")))
    parts += [Table(tuple(headers), ("left", *("right",) * 4, "left", "right", "right"), checked,
                    pad_edge=False), "", *check_text(r)]
    parts += [kink_text(c) for c in r.checks or [] if c.kink is not None]
    if any(c.error is None for c in r.checks or []):
        parts.append("skipped: f is not defined on either side of x")
    if r.mode:
        parts.append(passes_text(r))
    return parts
