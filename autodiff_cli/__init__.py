"""autodiff: differentiate expressions and train tiny networks, with a graph you can read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["AutodiffError", "GradResult", "MathError", "__version__", "compile", "grad"]

if TYPE_CHECKING:
    from .api import GradResult, compile, grad
    from .errors import AutodiffError, MathError


def __getattr__(name: str) -> Any:
    """The library's names, imported on first use: `autodiff --help` needs no parser."""
    if name in ("GradResult", "compile", "grad"):
        from . import api

        return getattr(api, name)
    if name in ("AutodiffError", "MathError"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
