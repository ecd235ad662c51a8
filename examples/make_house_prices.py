"""Write examples/house_sales.csv and examples/house_prices.csv: 200 made-up house sales.

Deterministic (Python's random.Random(15), the same on every platform): running it again
writes the same bytes. Each house has the columns of examples/houses.csv: size in 1000 sq ft
(0.6 to 3.0), bedrooms (1 to 5, more in bigger houses) and bathrooms (1 to 3.5, in halves);
its price, in $100k, is

    price = 0.5 + 1.2 * size + 0.15 * bedrooms + 0.3 * bathrooms + noise,  noise ~ N(0, 0.15)

rounded to $100. A linear regression recovers about those coefficients; least squares gives
the exact best fit, which `autodiff train` reaches by gradient descent (see docs/train.md).

    python examples/make_house_prices.py
"""

from __future__ import annotations

import random
from pathlib import Path

HOUSES = 200
HERE = Path(__file__).parent


def houses(seed: int = 15) -> list[tuple[float, int, float, float]]:
    rng = random.Random(seed)
    out = []
    for _ in range(HOUSES):
        size = round(rng.uniform(0.6, 3.0), 2)
        bedrooms = max(1, min(5, round(size * 1.5 + rng.uniform(-1.0, 1.0))))
        bathrooms = max(1.0, min(3.5, round((size + rng.uniform(-0.7, 0.7)) * 2) / 2))
        price = 0.5 + 1.2 * size + 0.15 * bedrooms + 0.3 * bathrooms + rng.gauss(0.0, 0.15)
        out.append((size, bedrooms, bathrooms, round(price, 3)))
    return out


def main() -> None:
    rows = houses()
    features = ["size,bedrooms,bathrooms"] + [f"{s:g},{b},{t:g}" for s, b, t, _ in rows]
    prices = ["price"] + [f"{p:g}" for *_, p in rows]
    (HERE / "house_sales.csv").write_text("\n".join(features) + "\n", encoding="utf-8")
    (HERE / "house_prices.csv").write_text("\n".join(prices) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
