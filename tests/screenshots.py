"""The manual's screenshots (docs/img), taken by the browser the tests drive:
python -m tests.screenshots

Headless Chromium (Debian's `chromium`) through Playwright, the network blocked, the pages
loaded from file://. test_html.py opens its pages the same way."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
IMG = REPO / "docs" / "img"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SEED = "b = 4*a; c = b + 3; d = a + 2; e = c*d"
HOUSE = "mean(sigmoid(X @ W), 1)"
HOUSE_AT = [f"X={REPO / 'examples' / 'houses.csv'}", "W=randn(3,3)"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def browser() -> Iterator[Any]:
    """The system's Chromium, headless, through Playwright (whose own browsers are never
    downloaded)."""
    from playwright.sync_api import sync_playwright

    path = chromium()
    if path is None:
        raise RuntimeError("no chromium on PATH (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def block_network(route: Any) -> None:
    if route.request.url.startswith(("file:", "data:", "about:")):
        route.continue_()
    else:
        route.abort()


def open_page(b: Any, path: Path, errors: list[str], *, width: int = 1400,
              height: int = 900, dark: bool = False) -> Any:
    """A new tab on the file at path: network requests fail, console errors and page
    errors are collected in `errors`."""
    page = b.new_page(viewport={"width": width, "height": height},
                      color_scheme="dark" if dark else "light")
    page.route("**/*", block_network)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri())
    return page


def cli(args: list[str], out: Path) -> Path:
    """The page `autodiff ARGS --format html --output out` writes."""
    from typer.testing import CliRunner

    from autodiff_cli.cli import app

    result = CliRunner().invoke(app, [*args, "--format", "html", "--output", str(out)])
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    return out


def trace_args(expr: str, at: list[str]) -> list[str]:
    return ["trace", expr, *(x for a in at for x in ("--at", a))]


SHOTS: dict[str, tuple[list[str], Callable[[Any], None], int]] = {}


def _seed(page: Any) -> None:
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")  # the edge b -> a: 20 + 15 = 35 arrives at a
    page.click('.node[data-id="1"]')


def _house(page: Any) -> None:
    page.keyboard.press("End")
    page.click('.node[data-name="W"]')


SHOTS["trace-seed.png"] = (trace_args(SEED, ["a=3"]), _seed, 1300)
SHOTS["trace-house.png"] = (trace_args(HOUSE, HOUSE_AT), _house, 2100)
SHOTS["train-gate.png"] = (["train-gate", "xor"], lambda page: None, 1300)


def main() -> int:
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, browser() as b:
        for name, (args, act, width) in SHOTS.items():
            errors: list[str] = []
            page = open_page(b, cli(args, Path(tmp) / "page.html"), errors, width=width,
                             height=700)
            act(page)
            page.screenshot(path=str(IMG / name), full_page=True)
            page.close()
            if errors:
                print(f"{name}: {errors}", file=sys.stderr)
                return 1
            print(IMG / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
