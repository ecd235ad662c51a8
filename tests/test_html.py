"""The pages of --format html: the embedded JSON is exactly --format json's, and in a real
headless Chromium (network blocked, file://) the page steps through the passes the trace
reports, node by node, with the numbers of that JSON."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from screenshots import HOUSE, HOUSE_AT, SEED, browser, chromium, open_page, trace_args
from typer.testing import CliRunner

from autodiff_cli.cli import app
from autodiff_cli.render.html import MAX_SVG_NODES, script_json, trace_page
from autodiff_cli.render.numbers import human
from autodiff_cli.trace import trace
from autodiff_cli.train import train_gate

runner = CliRunner()
BIG = " + ".join(f"sin({k}*x)" for k in range(1, 76))  # 300 nodes


def invoke(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


def embedded(page: str, element: str) -> Any:
    found = re.search(f'<script type="application/json" id="{element}">(.*?)</script>', page,
                      re.S)
    assert found is not None
    return json.loads(found.group(1))


def page_of(args: list[str], tmp_path: Path, name: str = "page.html") -> Path:
    out = tmp_path / name
    invoke([*args, "--format", "html", "--output", str(out)])
    return out


# -- without a browser ----------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    trace_args(SEED, ["a=3"]),
    [*trace_args(SEED, ["a=3"]), "--mode", "forward"],
    trace_args(HOUSE, HOUSE_AT),
    [*trace_args("x*x + y", ["x=2,y=-1"]), "--wrt", "x"],
])
def test_trace_page_embeds_exactly_the_json(args: list[str]) -> None:
    page = invoke([*args, "--format", "html"]).output
    assert embedded(page, "trace-data") == json.loads(invoke([*args, "--format", "json"]).output)
    assert page.isascii()  # any stream takes it as it is: &#8706; in the text, \u2202 in JSON
    assert page.startswith("<!DOCTYPE html>") and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_graph_page_and_html_suffix(tmp_path: Path) -> None:
    out = tmp_path / "g.html"
    invoke(["graph", SEED, "--at", "a=3", "--output", str(out)])
    page = out.read_text(encoding="utf-8")
    assert embedded(page, "trace-data") == json.loads(
        invoke(["trace", SEED, "--at", "a=3", "--format", "json"]).output)
    assert embedded(page, "trace-view")["start"] == "end"
    assert invoke(["graph", SEED, "--at", "a=3", "--format", "html"]).output == page


def test_train_page_embeds_exactly_the_json() -> None:
    args = ["train-gate", "xor", "--epochs", "300"]
    page = invoke([*args, "--format", "html"]).output
    assert embedded(page, "train-data") == json.loads(invoke([*args, "--format", "json"]).output)


def test_script_text_cannot_end_the_element() -> None:
    data = {"expression": "x # </script><script>alert(1)</script> & <!--"}
    text = script_json(data)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == data
    source = "x*2 # </script><script>alert(1)</script>"
    page = invoke(["trace", source, "--at", "x=1", "--format", "html"]).output
    assert page.count("</script>") == 3  # trace-data, trace-view, the page's own script
    assert embedded(page, "trace-data")["expression"] == source


def test_output_needs_html(tmp_path: Path) -> None:
    result = runner.invoke(app, ["trace", "x", "--at", "x=1", "--output",
                                 str(tmp_path / "p.html")])
    assert result.exit_code == 2 and "--format html" in result.output
    assert not (tmp_path / "p.html").exists()


def test_one_svg_node_per_json_node_and_a_table_beyond() -> None:
    r = trace(SEED, a=3)
    page = trace_page(r)
    assert len(re.findall(r'<g class="node ', page)) == len(r.nodes)
    big = trace("+".join(f"x*{k}" for k in range(MAX_SVG_NODES // 2)), x=1)
    assert len(big.nodes) > MAX_SVG_NODES
    page = trace_page(big)
    assert "<svg" not in page.split("<script")[0] and "more than" in page
    assert len(re.findall(r'<tr class="node"', page)) == len(big.nodes)


def test_pages_are_deterministic() -> None:
    assert trace_page(trace(SEED, a=3)) == trace_page(trace(SEED, a=3))
    pages = [invoke(["train-gate", "xor", "--epochs", "50", "--format", "html"]).output
             for _ in range(2)]
    assert pages[0] == pages[1]


def test_notebook_reprs_are_the_pages() -> None:
    r = trace(SEED, a=3)
    html = r._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "trace-data" in html and "<script" not in html
    t = train_gate("and", hidden=(), epochs=10)
    assert "train-data" in t._repr_html_()


# -- in Chromium ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    import importlib.util

    missing = ("no chromium on PATH (apt-get install chromium)" if chromium() is None else
               "no playwright (the test extras)" if importlib.util.find_spec("playwright") is None
               else None)
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {missing}")  # .ci/run installs chromium
    if missing:
        pytest.skip(missing)
    with browser() as b:
        yield b


def nodes_on_page(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(".node", """els => els.map(el => ({
        id: Number(el.dataset.id), value: JSON.parse(el.dataset.value),
        grad: el.dataset.grad === undefined ? null : JSON.parse(el.dataset.grad),
        tangent: el.dataset.tangent === undefined ? null : JSON.parse(el.dataset.tangent),
        text: Array.from(el.querySelectorAll('text')).filter(
            t => getComputedStyle(t).visibility === 'visible').map(t => t.textContent)}))""")


def current(page: Any) -> int | None:
    ids = page.eval_on_selector_all('[aria-current="step"]', "els => els.map(e => e.dataset.id)")
    assert len(ids) <= 1
    return int(ids[0]) if ids else None


def test_seed_program_steps_through_the_backward_pass(chrome: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    page = open_page(chrome, page_of(trace_args(SEED, ["a=3"]), tmp_path), errors)
    doc = json.loads(invoke([*trace_args(SEED, ["a=3"]), "--format", "json"]).output)
    assert doc["value"] == 75 and doc["gradient"] == {"a": 35}
    shown = nodes_on_page(page)
    assert [n["id"] for n in shown] == [n["id"] for n in doc["nodes"]]
    for n, want in zip(shown, doc["nodes"], strict=True):
        assert n["value"] == want["value"] and n["grad"] == want["grad"]

    page.keyboard.press("Home")
    seen = [current(page)]
    status = [page.inner_text("#status")]
    total = page.evaluate(
        "JSON.parse(document.getElementById('trace-view').textContent).steps.length")
    for _ in range(total - 1):
        page.keyboard.press("ArrowRight")
        seen.append(current(page))
        status.append(page.inner_text("#status"))
    page.keyboard.press("ArrowRight")  # the last step stays the last
    assert current(page) == seen[-1] and page.inner_text("#status") == status[-1]
    n = len(doc["nodes"])
    assert seen[:n] == list(range(n))  # the forward pass in evaluation order
    back = seen[n:]  # then the backward pass, a node and the edges it sends along
    backward = [i for k, i in enumerate(back) if k == 0 or i != back[k - 1]]
    names = {d["id"]: d["name"] for d in doc["nodes"]}
    assert [names[i] for i in backward] == ["e", "c", "d", "b", "a"]
    assert "∂e/∂a = 20 + 15 = 35" in status[-1]
    assert any("sends 5 * 4 = 20" in s and "at a: 20 + 15 = 35" in s for s in status)

    a = next(d["id"] for d in doc["nodes"] if d["name"] == "a")
    by_id = {x["id"]: x for x in nodes_on_page(page)}  # at the end every number is shown
    assert "20 + 15 = 35" in by_id[a]["text"] and "∂e/∂a = 35" in by_id[a]["text"]
    for want in doc["nodes"]:
        assert f"value {human(want['value'])}" in by_id[want["id"]]["text"]
    labels = page.eval_on_selector_all(".label.shown", "els => els.map(e => e.textContent)")
    assert "∂e/∂c = d = 5sends 1 * 5 = 5" in labels

    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Backspace")
    assert current(page) == seen[-3]
    page.keyboard.press(" ")
    assert current(page) == seen[-2]
    page.keyboard.press("Home")
    assert current(page) == 0
    page.keyboard.press("End")
    assert current(page) == a
    page.click("text=Back")
    page.click("text=Next")
    assert current(page) == a
    page.click("text=Start")
    page.focus("text=Next")
    page.keyboard.press(" ")  # Space steps once, it does not also press the button
    assert current(page) == 1

    assert page.get_attribute("#status", "data-kind") == "value"
    page.keyboard.press("End")
    assert page.get_attribute("#status", "data-kind") == "grad"
    assert page.get_attribute("#status", "data-node") == str(a)
    page.click(f'.node[data-id="{a}"]')
    detail = page.inner_text("#detail")
    assert "∂e/∂a = 20 + 15 = 35" in detail
    assert "∂e/∂b * ∂b/∂a = 5 * 4 = 20" in detail and "∂e/∂d * ∂d/∂a = 15 * 1 = 15" in detail
    e = next(d["id"] for d in doc["nodes"] if d["name"] == "e")
    page.focus(f'.node[data-id="{e}"]')
    page.keyboard.press("Enter")
    assert "∂e/∂c = d = 5" in page.inner_text("#detail")
    assert errors == []


def test_house_network(chrome: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    args = trace_args(HOUSE, HOUSE_AT)
    page = open_page(chrome, page_of(args, tmp_path), errors)
    doc = json.loads(invoke([*args, "--format", "json"]).output)
    shown = nodes_on_page(page)
    assert len(shown) == len(doc["nodes"])
    for n, want in zip(shown, doc["nodes"], strict=True):
        assert (n["id"], n["value"], n["grad"]) == (want["id"], want["value"], want["grad"])
    page.keyboard.press("End")
    page.click('.node[data-name="W"]')
    detail = page.inner_text("#detail")
    assert "shape (3x3)" in detail and "Xᵀ @ ∂f/∂v1" in detail
    text = page.inner_text(".graph")
    assert "(4x3)" in text and "vjp: ∂f/∂v1 @ Wᵀ" in text
    assert errors == []


def test_three_hundred_nodes(chrome: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    args = trace_args(BIG, ["x=0.5"])
    page = open_page(chrome, page_of(args, tmp_path), errors)
    doc = json.loads(invoke([*args, "--format", "json"]).output)
    assert len(doc["nodes"]) == 300
    shown = nodes_on_page(page)
    assert [(n["id"], n["value"], n["grad"]) for n in shown] == \
        [(d["id"], d["value"], d["grad"]) for d in doc["nodes"]]
    page.keyboard.press("End")
    x = next(d for d in doc["nodes"] if d["name"] == "x")
    assert current(page) == x["id"]
    status = page.inner_text("#status")
    assert "∂f/∂x = " in status and status.endswith(f"(65 more terms) = {human(x['grad'])}")
    assert errors == []


def test_a_big_graph_is_a_table_that_steps(chrome: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    args = trace_args("+".join(f"x*{k}" for k in range(MAX_SVG_NODES // 2)), ["x=2"])
    page = open_page(chrome, page_of(args, tmp_path), errors)
    doc = json.loads(invoke([*args, "--format", "json"]).output)
    assert page.locator("svg .node").count() == 0
    shown = nodes_on_page(page)
    assert [(n["id"], n["value"], n["grad"]) for n in shown] == \
        [(d["id"], d["value"], d["grad"]) for d in doc["nodes"]]
    page.keyboard.press("End")
    x = next(d for d in doc["nodes"] if d["name"] == "x")
    assert current(page) == x["id"]
    page.click(f'tr.node[data-id="{x["id"]}"]')
    assert "∂f/∂x = " in page.inner_text("#detail")
    assert errors == []


def test_forward_mode_shows_tangents(chrome: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    args = [*trace_args(SEED, ["a=3"]), "--mode", "forward"]
    page = open_page(chrome, page_of(args, tmp_path), errors, dark=True)
    doc = json.loads(invoke([*args, "--format", "json"]).output)
    shown = nodes_on_page(page)
    assert [n["tangent"] for n in shown] == [d["tangent"] for d in doc["nodes"]]
    page.keyboard.press("End")
    assert current(page) == len(doc["nodes"]) - 1
    assert "∂e/∂a = 5 * 4 + 15 * 1 = 35" in page.inner_text("#status")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 22, 22)"  # dark
    assert errors == []


def test_train_gate_page(chrome: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    args = ["train-gate", "xor", "--epochs", "300"]
    page = open_page(chrome, page_of(args, tmp_path), errors)
    doc = json.loads(invoke([*args, "--format", "json"]).output)
    data = page.evaluate("JSON.parse(document.getElementById('train-data').textContent)")
    assert data == doc
    assert page.locator(".corner").count() == 4
    assert page.locator("polyline.curve").count() == 1
    ticks = page.eval_on_selector_all(".plot .tick", "els => els.map(e => e.textContent)")
    assert "100" in ticks and "x1" in page.inner_text("main")
    rows = page.eval_on_selector_all("main table tbody tr", "els => els.length")
    assert rows >= 4
    assert errors == []


@pytest.mark.parametrize("args", [
    ["3"], ["x", "--at", "x=1,y=2"], ["x*x", "--at", "x=3"], ["θ*x", "--at", "θ=2,x=1"],
    ["x*y", "--at", "x=[1,2],y=[3,4]", "--seed-grad", "[1,0]"],
    ["sum(X @ X)", "--at", "X=randn(6,6)"], ["x*x", "--at", "x=3", "--mode", "forward"],
])
def test_odd_graphs_render_and_step(chrome: Any, tmp_path: Path, args: list[str]) -> None:
    errors: list[str] = []
    page = open_page(chrome, page_of(["trace", *args], tmp_path), errors)
    doc = json.loads(invoke(["trace", *args, "--format", "json"]).stdout)
    key = "tangent" if "forward" in args else "grad"
    assert [(n["id"], n["value"], n[key]) for n in nodes_on_page(page)] == \
        [(d["id"], d["value"], d[key]) for d in doc["nodes"]]
    for press in ("End", "Home", "ArrowLeft", "End", "ArrowRight"):
        page.keyboard.press(press)
        assert current(page) is not None
    page.click(".node")
    assert page.inner_text("#detail h2")
    assert errors == []


def test_notebook_iframe_works(chrome: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    cell = tmp_path / "cell.html"
    cell.write_text(f"<!DOCTYPE html><html><body>{trace(SEED, a=3)._repr_html_()}</body></html>",
                    encoding="utf-8")
    page = open_page(chrome, cell, errors)
    frame = page.frame_locator("iframe")
    frame.locator(".node").first.press("End")  # keys reach the page inside the frame
    assert frame.locator(".node").count() == len(trace(SEED, a=3).nodes)
    assert "∂e/∂a = 20 + 15 = 35" in frame.locator("#status").inner_text()
    assert errors == []
