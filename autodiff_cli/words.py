"""The symbols every output spells the same way: ∂f/∂x, ∂²f/∂x², ∂²f/∂x∂y. Plain text
(no rich): the library's trace rules and every renderer read them from here."""

from __future__ import annotations

SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def partial_symbol(f: str, x: str, order: int = 1) -> str:
    """∂f/∂x, and ∂²f/∂x² for order 2."""
    if order == 1:
        return f"∂{f}/∂{x}"
    n = str(order).translate(SUPERSCRIPT)
    return f"∂{n}{f}/∂{x}{n}"


def mixed_symbol(f: str, x: str, y: str) -> str:
    """∂²f/∂x∂y (∂²f/∂x² when x is y)."""
    return partial_symbol(f, x, 2) if x == y else f"∂²{f}/∂{x}∂{y}"
