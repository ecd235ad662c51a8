"""autodiff: differentiate expressions and train tiny networks, with a graph you can read."""

from .api import GradResult, compile, grad
from .errors import AutodiffError, MathError

__version__ = "0.1.0"
__all__ = ["AutodiffError", "GradResult", "MathError", "__version__", "compile", "grad"]
