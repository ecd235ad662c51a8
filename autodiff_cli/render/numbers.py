"""Number formatting: one formatter for people, one for machines."""

from __future__ import annotations

import math


def human(x: float) -> str:
    """How a person writes it: 15, 0.333333, -2.5, 1.5e-07 (and inf, -inf, nan, which the
    numeric policy keeps out of every report but check's difference of two huge numbers)."""
    if not math.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return "-0" if x == 0 and math.copysign(1.0, x) < 0 else str(int(x))
    return f"{x:.6g}"


def exact(x: float) -> str:
    """Shortest text that reads back as the same float: 15, 0.1, 0.3333333333333333."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def telling(a: float, b: float) -> tuple[str, str]:
    """a and b as human() writes them, with more digits where that would write two
    different numbers alike (expected 6, got 6: wrong), up to the digits that tell them
    apart."""
    x, y = human(a), human(b)
    if x != y or a == b or not (math.isfinite(a) and math.isfinite(b)):
        return x, y
    for digits in range(7, 18):
        x, y = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if x != y:
            break
    return x, y
