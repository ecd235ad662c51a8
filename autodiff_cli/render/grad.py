"""The grad report as a rich table, plain text and JSON data."""

from __future__ import annotations

from typing import Any

from ..api import GradResult
from .numbers import exact, human


def grad_json(r: GradResult) -> dict[str, Any]:
    return {"expression": r.expression, "value": r.value, "at": dict(r.at),
            "gradient": dict(r.gradient)}


def grad_plain(r: GradResult) -> str:
    lines = [exact(r.value)]
    lines += [f"{name} {exact(g)}" for name, g in r.gradient.items()]
    return "\n".join(lines) + "\n"


def grad_table(r: GradResult, fancy: bool) -> Any:
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    f = r.output or "f"
    table = Table(box=box.SIMPLE_HEAD if fancy else None, show_edge=False,
                  header_style="bold" if fancy else "", pad_edge=False)
    table.add_column("variable")
    table.add_column("value", justify="right")
    table.add_column(f"∂{f}/∂variable", justify="right")
    for name, g in r.gradient.items():
        table.add_row(Text(name), human(r.at[name]), human(g))
    return Group(Text(r.expression.strip()), Text(f"{f} = {human(r.value)}"), Text(""), table)
