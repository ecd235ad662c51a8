"""Option values without pydantic: start-up is a feature.

Recent typer versions coerce every option, even one left out (None), through a pydantic
TypeAdapter, and importing pydantic costs more than typer, rich and lark together. Options
left out, strings, lists of strings, enums, and plain numbers (defaults, or digits such as
3, -2, 0.5, 1e-3) need no pydantic: this coerces those exactly as typer would and hands every
other value to typer's own coercion, built when first needed (so typer still writes every
error message). These are typer's private internals, so each is checked first: with a typer
that lacks them, or has them in another shape, it does nothing (typer then coerces everything
itself, slower to start but the same), and a descriptor it cannot read goes to typer's own
coercion too.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from typing import Any

# Numbers as typer (through pydantic) reads them, where Python's int() and float() agree
NUMBERS = {"int": re.compile(r"[+-]?[0-9]+"),
           "float": re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")}


def install() -> None:
    """Route typer's coercion of option values through `_Direct`."""
    try:
        from typer import core
        from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
        from typer._param_types import coerce_cli_choice
    except ImportError:
        return
    if getattr(core, "build_runtime_param", None) is not build_runtime_param or \
            not fits(RuntimeParam, TypeDescriptor):
        return  # already installed, or typer changed shape

    class _Direct(RuntimeParam):
        """Typer's RuntimeParam, plus the descriptor to build typer's own coercion from and
        the kind of plain coercion that fits: "str", "list", "enum", "int", "float" or ""."""

        descriptor: TypeDescriptor
        kind: str

        def __init__(self, descriptor: TypeDescriptor) -> None:
            super().__init__(parameter_info=descriptor.parameter_info,
                             annotation=descriptor.annotation)
            object.__setattr__(self, "descriptor", descriptor)
            object.__setattr__(self, "kind", _kind(descriptor))

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if value is None and self.kind:
                return None
            if self.kind == "str" and type(value) is str:
                return value
            if (self.kind == "list" and isinstance(value, (list, tuple))
                    and all(type(v) is str for v in value)):
                return list(value)
            if self.kind in NUMBERS and (type(value) is self.annotation or (
                    type(value) is str and NUMBERS[self.kind].fullmatch(value))):
                number = self.annotation(value)
                if _in_range(number, self.parameter_info):
                    return number
            if self.kind == "enum":
                try:
                    return coerce_cli_choice(
                        value, choices=tuple(self.annotation),
                        case_sensitive=self.parameter_info.case_sensitive, ctx=ctx)
                except ValueError:
                    pass
            real = build_runtime_param(self.descriptor)
            return real._coerce_value(value, param=param, ctx=ctx)

    def build(descriptor: TypeDescriptor) -> RuntimeParam:
        try:
            return _Direct(descriptor)
        except (AttributeError, TypeError):
            return build_runtime_param(descriptor)

    core.build_runtime_param = build  # type: ignore[attr-defined]


def fits(runtime_param: Any, type_descriptor: Any) -> bool:
    """typer's RuntimeParam and TypeDescriptor have the shape _Direct is written for."""
    def fields(cls: Any) -> set[str]:
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            return set()
        return {f.name for f in dataclasses.fields(cls)}

    return ({"parameter_info", "annotation"} == fields(runtime_param)
            and callable(getattr(runtime_param, "_coerce_value", None))
            and {"parameter_info", "annotation", "file_annotation"} <= fields(type_descriptor))


def _kind(descriptor: Any) -> str:
    """Which plain coercion fits this option's values, if any."""
    info, annotation = descriptor.parameter_info, descriptor.annotation
    if descriptor.file_annotation is not None or getattr(info, "parser", None) is not None:
        return ""
    if annotation is str:
        return "str"
    if annotation in (int, float) and not getattr(info, "clamp", False):
        return "int" if annotation is int else "float"
    if annotation == list[str]:
        return "list"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "enum"
    return ""


def _in_range(number: float, info: Any) -> bool:
    """Within the option's min and max; typer's own coercion words the error otherwise."""
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    return (low is None or number >= low) and (high is None or number <= high)
