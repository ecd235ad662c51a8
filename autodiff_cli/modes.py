"""The two modes of differentiation and what each costs in passes over the graph: plain
data, cheap to import (the CLI offers them as --mode's choices).

Reverse mode needs one forward pass for the values and one reverse sweep for every partial
derivative at once. Forward mode carries a tangent beside each value (dual numbers) and needs
one pass per variable. Both apply the same local derivatives from the op table; they multiply
them along each path in opposite orders, so they agree exactly on integer and dyadic examples
and to a few ulp in general. core.evaluate runs both.
"""

from __future__ import annotations

MODES = ("reverse", "forward")


def passes(mode: str, n: int) -> dict[str, int]:
    """Passes each mode needs for n variables: reverse 1 + 1, forward one per variable."""
    return {"forward": 1, "reverse": 1} if mode == "reverse" else {"forward": max(1, n),
                                                                     "reverse": 0}
