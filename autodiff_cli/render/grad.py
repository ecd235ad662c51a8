"""The grad report as a table, plain text and JSON data."""

from __future__ import annotations

from typing import Any

from ..api import GradResult
from .numbers import exact, human
from .table import Table


def grad_json(r: GradResult) -> dict[str, Any]:
    return {"expression": r.expression, "value": r.value, "at": dict(r.at),
            "gradient": dict(r.gradient)}


def grad_plain(r: GradResult) -> str:
    lines = [exact(r.value)]
    lines += [f"{name} {exact(g)}" for name, g in r.gradient.items()]
    return "\n".join(lines) + "\n"


def grad_table(r: GradResult, fancy: bool) -> Table:
    return Table(("variable", "value", "∂/∂variable"), ("left", "right", "right"),
                 [(name, human(r.at[name]), human(g)) for name, g in r.gradient.items()],
                 title=r.expression, caption=f"value = {human(r.value)}")
