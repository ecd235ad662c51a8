"""Pages for a browser: the trace as a graph to step through, and the train-gate report.

One self-contained HTML file each (inline CSS, JS and SVG, nothing fetched), built here for
`--format html` and for Jupyter alike (`_repr_html_` wraps the same page in an iframe).
The report's `--format json` is embedded verbatim (`<script type="application/json">`), and
every text a person reads comes from the terminal's own words (render/trace.py,
render/train.py, render/numbers.py); the script only shows and hides. The layout (a column
per depth, left to right) is drawing, so it is done here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..trace import ChainSum, Step, TraceNode, TraceReport, partial
from . import source_text, to_json
from .matrix import is_array, is_small, matrix_lines, shape_text
from .numbers import human
from .trace import MAX_TERMS, chain_text, local_text, product_text, show, tangent_text, term_lines

if TYPE_CHECKING:
    from ..train import TrainResult
    from ..train_loop import FitReport

MAX_SVG_NODES = 500  # larger graphs are shown as a table of nodes: an SVG that big is unreadable
TITLE_CHARS = 28  # a node's title (name = text) is cut beyond this
CHAR_W = 7.3  # width of a character of the 12px monospace font, in px
LINE_H = 16
PAD = 8
ROW_GAP = 22
NODE_TERMS = 3  # terms of a chain-rule sum drawn in its node (the status line shows more)
LABEL_CHARS = 44  # an edge's label is cut beyond this (the panel and status show it whole)


# -- shared ---------------------------------------------------------------------------------

def script_json(data: Any) -> str:
    """JSON for a <script> element: '<', '>' and '&' as \\u escapes, so that no text (an
    expression holding '</script>') can end the element; JSON.parse reads back the same data.
    ASCII only, as the whole page is."""
    text = to_json(data, ascii_only=True)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _asset(name: str) -> str:
    return (resources.files("autodiff_cli.render") / "assets" / name).read_text("utf-8")


def _document(title: str, body: str, data_id: str, data: Any, extra: str = "",
              script: str = "") -> str:
    js = f"<script>\n{_asset(script)}</script>\n" if script else ""
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"color-scheme\" content=\"light dark\">\n"
        f"<title>{escape(title)}</title>\n<style>\n{_asset('page.css')}</style>\n</head>\n"
        f"<body>\n{body}\n"
        f"<script type=\"application/json\" id=\"{data_id}\">{script_json(data)}</script>\n"
        f"{extra}{js}</body>\n</html>\n")
    # ASCII, so that any stream takes it unchanged: the scripts and styles are ASCII already,
    # and elsewhere a character reference (&#8706;) is the character (∂)
    return page.encode("ascii", "xmlcharrefreplace").decode("ascii")


def notebook(page: str, height: int = 640) -> str:
    """The page inside an iframe, as Jupyter shows it: its ids and keys stay its own."""
    return (f'<iframe srcdoc="{escape(page, quote=True)}" title="autodiff report" '
            f'style="width: 100%; height: {height}px; border: 1px solid #8884"></iframe>')


def _lines(x: Any) -> list[str]:
    """A value as lines: a number, a small array's rows, or a big array's shape."""
    return matrix_lines(x) if is_small(x) else [show(x)]


# -- the trace page -------------------------------------------------------------------------

def trace_page(r: TraceReport, *, stepping: bool = True) -> str:
    """The trace as a page; stepping=False (graph --format html) opens it at the last step."""
    from .trace import trace_json

    doc = trace_json(r)
    view = _trace_view(r)
    big = len(r.nodes) > MAX_SVG_NODES
    title = f"autodiff trace: {_cut(' '.join(r.expression.split()), 60)}"
    forward = r.mode == "forward"
    steps = "forward pass (values and tangents)" if forward else "forward pass, then backward"
    parts = [
        '<header><h1>autodiff <span class="muted">trace</span></h1>',
        f'<p class="source"><code>{escape(source_text(r.expression))}</code></p>',
        f'<p class="result">{escape(_result_line(r))}</p></header>',
        '<nav class="controls" aria-label="Step through the passes">',
        '<button type="button" data-go="home" aria-keyshortcuts="Home">|◀ Start</button>',
        '<button type="button" data-go="back" aria-keyshortcuts="ArrowLeft Backspace">'
        '◀ Back</button>',
        '<button type="button" data-go="next" aria-keyshortcuts="ArrowRight Space">'
        'Next ▶</button>',
        '<button type="button" data-go="end" aria-keyshortcuts="End">End ▶|</button>',
        f'<span class="keys">{steps}: keys → ← (or Space, Backspace), Home, End; '
        'click a node (or Tab to it and press Enter) for its chain rule</span></nav>',
        '<p id="status" class="status" role="status" aria-live="polite"></p>',
        '<main class="layout">',
    ]
    if big:
        parts.append(f'<p class="note">{len(r.nodes):,} nodes: more than {MAX_SVG_NODES} do not '
                     'make a readable drawing, so the nodes are listed as a table; stepping '
                     'and the chain rule work on its rows.</p>')
    else:
        parts.append(_svg(r))
    parts += ['<aside id="detail" class="detail" aria-live="polite">'
              '<h2>Node</h2><p class="muted">Click a node to see its formula, its local '
              'derivatives and its gradient\'s chain-rule expansion.</p></aside>',
              '</main>', _node_table(r, big)]
    view["start"] = "home" if stepping else "end"
    extra = (f'<script type="application/json" id="trace-view">{script_json(view)}'
             '</script>\n')
    return _document(title, "\n".join(parts), "trace-data", doc, extra, "trace.js")


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _result_line(r: TraceReport) -> str:
    """e = 75; ∂e/∂a = 35, with what a non-scalar output was reduced by."""
    from .grad import reduction_note

    def brief(x: Any) -> str:
        lines = _lines(x)
        return lines[0] if len(lines) == 1 else show(x)

    line = f"{r.output_name} = {brief(r.value)}"
    if r.gradient:
        line += "; " + ", ".join(f"{partial(r.output_name, n)} = {brief(g)}"
                                 for n, g in r.gradient.items())
    if r.mode == "forward":
        line += " (forward mode: one pass of dual numbers per variable)"
    note = reduction_note(r.output_name, r.value, r.seed_grad)
    return f"{line}. {note}" if note else line


def _title(n: TraceNode) -> str:
    text = " ".join(n.text.split())
    if n.op in ("var", "const") or text == n.name:
        return n.name
    return f"{n.name} = {text}"


def _sums(r: TraceReport) -> dict[int, ChainSum]:
    return {c.node: c for c in r.sums}


def _node_lines(r: TraceReport, n: TraceNode, sums: dict[int, ChainSum]
                ) -> list[tuple[str, str]]:
    """The lines drawn in a node, each with its class: title, op, value, grad, sum."""
    meta = n.op if not is_array(n.value) else f"{n.op}  {shape_text(n.value)}"
    lines = [("title", _cut(_title(n), TITLE_CHARS)), ("op", meta)]
    value = _lines(n.value)
    if len(value) == 1:
        lines.append(("value", f"value {value[0]}"))
    else:
        lines += [("value", "value ="), *(("value", v) for v in value)]
    if r.mode == "forward":
        if n.op != "const":
            lines += [("grad", f"{partial(n.name, name)} = {show(t[n.id])}")
                      for name, t in r.tangent.items()]
        return lines
    if n.reached or n.op == "var":
        d = partial(r.output_name, n.name)
        grad = _lines(n.grad)
        lines += [("grad", f"{d} = {grad[0]}")] if len(grad) == 1 else \
            [("grad", f"{d} ="), *(("grad", g) for g in grad)]
        c = sums.get(n.id)
        if c is not None and len(c.terms) > 1:
            lines.append(("sum", _running(r, c, terms=NODE_TERMS)))
    return lines


def _running(r: TraceReport, c: ChainSum, sent: set[int] | None = None,
             terms: int = MAX_TERMS) -> str:
    """The chain-rule sum at a node, in the chain rule's order, once the terms `sent` (all,
    if None) have come in from the backward pass: … + 15, then 20 + 15 = 35. Beyond `terms`
    terms, how many more there are."""
    shown = c.terms[:terms]
    parts = [show(s.contribution) if sent is None or k in sent else "…"
             for k, s in enumerate(shown)]
    text = parts[0]
    for p in parts[1:]:
        text += f" - {p[1:]}" if p.startswith("-") else f" + {p}"
    if len(c.terms) > terms:
        text += f" + … ({len(c.terms) - terms:,} more terms)"
    done = sent is None or len(sent) == len(c.terms)
    return f"{text} = {show(r.nodes[c.node].grad)}" if done else text


# -- layout: a column per depth -------------------------------------------------------------

@dataclass
class _Box:
    x: float
    y: float
    w: float
    h: float
    lines: list[tuple[str, str]]
    gap: float  # the room left of the box's column, where its edges' labels go


def _layout(r: TraceReport) -> tuple[list[_Box], float, float]:
    """Each node's box; columns by depth (a leaf one column left of its first consumer,
    variables in column 0), nodes in a column ordered by where their inputs stand."""
    nodes = r.nodes
    depth = [0] * len(nodes)
    for n in nodes:
        if n.inputs:
            depth[n.id] = 1 + max(depth[a] for a in n.inputs)
    first_use: dict[int, int] = {}
    for n in nodes:
        for a in n.inputs:
            first_use[a] = min(first_use.get(a, depth[n.id]), depth[n.id])
    for n in nodes:
        if n.op == "const" and n.id in first_use:
            depth[n.id] = first_use[n.id] - 1
    sums = _sums(r)
    lines = [_node_lines(r, n, sums) for n in nodes]
    columns: list[list[int]] = [[] for _ in range(max(depth) + 1)]
    for n in nodes:
        columns[depth[n.id]].append(n.id)
    rank = [0.0] * len(nodes)
    for col in columns:
        def key(i: int) -> tuple[float, int]:
            ins = nodes[i].inputs
            return (sum(rank[a] for a in ins) / len(ins) if ins else i, i)
        col.sort(key=key)
        for k, i in enumerate(col):
            rank[i] = k
    widths = [max(len(text) for _c, text in ln) * CHAR_W + 2 * PAD for ln in lines]
    heights = [len(ln) * LINE_H + 2 * PAD - 4 for ln in lines]
    gaps = _gaps(r, depth, len(columns))
    boxes: list[_Box | None] = [None] * len(nodes)
    x = 16.0
    tallest = max(sum(heights[i] + ROW_GAP for i in col) for col in columns)
    for c, col in enumerate(columns):
        width = max((widths[i] for i in col), default=0.0)
        total = sum(heights[i] + ROW_GAP for i in col)
        y = 40 + (tallest - total) / 2
        for i in col:
            boxes[i] = _Box(x, y, widths[i], heights[i], lines[i], gaps[c - 1] if c else 0)
            y += heights[i] + ROW_GAP
        x += width + gaps[c]
    placed = [b for b in boxes if b is not None]
    return placed, x, tallest + 60


def _gaps(r: TraceReport, depth: list[int], ncols: int) -> list[float]:
    """Room after each column for the labels of the edges that arrive in the next one."""
    gaps = [64.0] * ncols
    for s in r.steps:
        c = depth[s.node] - 1
        if 0 <= c < ncols:
            chars = max(len(t) for t in _edge_label(r, s))
            gaps[c] = max(gaps[c], min(chars, LABEL_CHARS) * 6.4 + 36)
    return gaps


def _edge_label(r: TraceReport, s: Step) -> list[str]:
    local = _cut(local_text(r, s), LABEL_CHARS)
    if r.mode == "forward" or s.contribution is None:
        return [local]
    return [local, _cut(f"sends {product_text(r, s)}", LABEL_CHARS)]


def _svg(r: TraceReport) -> str:
    boxes, width, height = _layout(r)
    steps = {(s.node, s.position): s for s in r.steps}
    edges: list[str] = []
    labels: list[_Label] = []
    for n in r.nodes:
        b = boxes[n.id]
        for k, a in enumerate(n.inputs):
            src = boxes[a]
            sx, sy = src.x + src.w, src.y + src.h / 2
            tx, ty = b.x, b.y + b.h * (k + 1) / (len(n.inputs) + 1)
            dx = max(30.0, (tx - sx) / 2)
            path = f"M{sx:.1f},{sy:.1f} C{sx + dx:.1f},{sy:.1f} {tx - dx:.1f},{ty:.1f} " \
                   f"{tx:.1f},{ty:.1f}"
            s = steps.get((n.id, k))
            flows = " flows" if s is not None else ""
            edges.append(f'<g class="edge{flows}" data-key="{n.id}:{k}" data-from="{a}" '
                         f'data-to="{n.id}"><path d="{path}" marker-end="url(#arrow)"/></g>')
            if s is not None:
                labels.append(_label(r, s, sx, sy, tx, ty, b.gap, k))
    node_svg = [_node_svg(r, n, boxes[n.id]) for n in r.nodes]
    height = max(height, _spread(labels) + 16)
    return (f'<div class="graph" tabindex="-1"><svg xmlns="http://www.w3.org/2000/svg" '
            f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'role="group" aria-label="computational graph, inputs on the left, output on the '
            f'right"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" '
            f'orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>'
            f'<g class="edges">{"".join(edges)}</g><g class="nodes">{"".join(node_svg)}</g>'
            f'<g class="labels">{"".join(map(_label_svg, labels))}</g></svg></div>')


@dataclass
class _Label:
    key: str
    x: float  # centre
    top: float
    w: float
    h: float
    lines: list[str]


def _label(r: TraceReport, s: Step, sx: float, sy: float, tx: float, ty: float,
           gap: float, k: int) -> _Label:
    """An edge's label in the room before its head's column: above the edge for input 0,
    below it for the others."""
    x = tx - gap / 2
    t = 0.5 if tx - sx <= 0 else 1 - (gap / 2) / (tx - sx)
    y = (1 - t) ** 3 * sy + 3 * (1 - t) ** 2 * t * sy + 3 * (1 - t) * t ** 2 * ty + t ** 3 * ty
    text = _edge_label(r, s)
    w = max(len(t) for t in text) * 6.4 + 8
    h = len(text) * 13 + 4
    return _Label(f"{s.node}:{s.position}", x, y - h - 3 if k == 0 else y + 3, w, h, text)


def _spread(labels: list[_Label]) -> float:
    """Labels in one gap moved down until none covers another; the lowest bottom."""
    bottom = 0.0
    by_gap: dict[float, list[_Label]] = {}
    for lab in labels:
        by_gap.setdefault(round(lab.x, 1), []).append(lab)
    for group in by_gap.values():
        group.sort(key=lambda lab: lab.top)
        below = -math.inf
        for lab in group:
            lab.top = max(lab.top, below + 2)
            below = lab.top + lab.h
        bottom = max(bottom, below)
    return bottom


def _label_svg(lab: _Label) -> str:
    spans = "".join(f'<text x="{lab.x:.1f}" y="{lab.top + 13 * (j + 1) - 1:.1f}">'
                    f'{escape(line)}</text>' for j, line in enumerate(lab.lines))
    return (f'<g class="label" data-key="{lab.key}"><rect x="{lab.x - lab.w / 2:.1f}" '
            f'y="{lab.top:.1f}" width="{lab.w:.1f}" height="{lab.h:.1f}" rx="3"/>{spans}</g>')


def _node_svg(r: TraceReport, n: TraceNode, b: _Box) -> str:
    texts = []
    for j, (cls, line) in enumerate(b.lines):
        y = b.y + PAD + LINE_H * j + 11
        texts.append(f'<text class="{cls}" x="{b.x + PAD:.1f}" y="{y:.1f}">'
                     f'{escape(line)}</text>')
    return (f'<g class="node op-{escape(n.op)}" {_node_attrs(r, n)} tabindex="0" '
            f'role="button" aria-label="{escape(_aria(r, n), quote=True)}">'
            f'<title>{escape(_cut(" ".join(n.text.split()), 200))}</title>'
            f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="6"/>'
            f'{"".join(texts)}</g>')


def _node_attrs(r: TraceReport, n: TraceNode) -> str:
    """data-id, data-name, and the node's numbers exactly as the JSON has them."""
    from .matrix import to_json as plain

    attrs = [f'data-id="{n.id}"', f'data-name="{escape(n.name, quote=True)}"',
             f'data-value="{escape(to_json(plain(n.value)), quote=True)}"']
    if r.mode == "forward":
        tangent = {name: plain(t[n.id]) for name, t in r.tangent.items()}
        attrs.append(f'data-tangent="{escape(to_json(tangent), quote=True)}"')
    else:
        attrs.append(f'data-grad="{escape(to_json(plain(n.grad)), quote=True)}"')
    return " ".join(attrs)


def _aria(r: TraceReport, n: TraceNode) -> str:
    label = f"{_title(n)}, {n.op}, value {show(n.value)}"
    if r.mode != "forward" and (n.reached or n.op == "var"):
        label += f", {partial(r.output_name, n.name)} = {show(n.grad)}"
    return label


def _node_table(r: TraceReport, big: bool) -> str:
    """Every node's numbers in a table; for a big graph its rows are the nodes."""
    forward = r.mode == "forward"
    heads = ["node", "expression", "op", "inputs", "value"]
    heads += [partial("node", n) for n in r.tangent] if forward else \
        [partial(r.output_name, "node")]
    rows = []
    for n in r.nodes:
        inputs = ", ".join(r.nodes[a].name for a in n.inputs)
        cells = [n.name, _cut(" ".join(n.text.split()), 80), n.op, inputs,
                 "\n".join(_lines(n.value))]
        cells += ["\n".join(_lines(t[n.id])) for t in r.tangent.values()] if forward else \
            ["\n".join(_lines(n.grad))]
        html = [f"<td>{escape(c)}</td>" for c in cells]
        if not forward and not (n.reached or n.op == "var"):
            html[-1] = (f'<td class="muted" title="no gradient flows to {escape(n.name)}; '
                        f'the JSON says {escape(show(n.grad))}">{escape(cells[-1])}</td>')
        cls = ' class="node" tabindex="0"' if big else ""
        rows.append(f'<tr{cls} {_node_attrs(r, n)}>{"".join(html)}</tr>')
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in heads)
    table = (f'<table class="nodes-table"><thead><tr>{head}</tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    if big:
        return f'<section class="table-view"><h2>Nodes</h2>{table}</section>'
    return (f'<details class="table-view"><summary>Every node as a table</summary>{table}'
            '</details>')


# -- what the script steps through ----------------------------------------------------------

def _trace_view(r: TraceReport) -> dict[str, Any]:
    """The steps, each with the node it is at and the words the status line says, and each
    node's detail (formula, local derivatives, chain rule), all as the terminal writes them."""
    by_node: dict[int, list[Step]] = {}
    for s in r.steps:
        by_node.setdefault(s.node, []).append(s)
    steps: list[dict[str, Any]] = [
        {"kind": "value", "node": n.id,
         "text": "forward: " + _forward_text(r, n, by_node.get(n.id, []))} for n in r.nodes]
    sums = _sums(r)
    term = {(s.node, s.position): k for c in r.sums for k, s in enumerate(c.terms)}
    sent: dict[int, set[int]] = {}
    for i in r.order if r.mode != "forward" else []:
        head = "backward starts at the output: " if i == r.output else "backward: "
        steps.append({"kind": "grad", "node": i,
                      "text": head + chain_text(r, sums[i], MAX_TERMS)})
        for s in by_node.get(i, []):
            j, c = s.input, sums[s.input]
            got = sent.setdefault(j, set())
            got.add(term[s.node, s.position])
            step: dict[str, Any] = {
                "kind": "edge", "node": i, "edge": f"{i}:{s.position}", "to": j,
                "text": f"backward: {r.nodes[i].name} → {r.nodes[j].name}: "
                        f"{local_text(r, s)}; sends {product_text(r, s)}"}
            if len(c.terms) > 1:
                step["sum"] = _running(r, c, got)
                step["short"] = _running(r, c, got, NODE_TERMS)
            if len(got) == len(c.terms):
                step["done"] = j
            steps.append(step)
    details = [_detail(r, n, sums, by_node.get(n.id, [])) for n in r.nodes]
    return {"mode": r.mode or "reverse", "output": r.output, "order": list(r.order),
            "steps": steps, "details": details}


def _forward_text(r: TraceReport, n: TraceNode, steps: list[Step]) -> str:
    value = " ".join(_lines(n.value))
    if n.op == "var":
        return f"{n.name} = {value} (a variable)"
    if n.op == "const":
        return f"{n.name} (a constant)"
    text = f"{_title(n)} = {value}"
    if r.mode == "forward":
        text += "".join(f"; {partial(n.name, name)} = {tangent_text(r, n, steps, name)}"
                        for name in r.tangent)
    return text


def _detail(r: TraceReport, n: TraceNode, sums: dict[int, ChainSum], steps: list[Step]
            ) -> dict[str, Any]:
    rows: list[list[str]] = [["formula", f"{n.name} = {' '.join(n.text.split())}"
                              if n.op not in ("var", "const") else f"{n.name}: {n.op}"],
                             ["op", n.op + (f", shape {shape_text(n.value)}"
                                            if is_array(n.value) else "")]]
    if n.inputs:
        rows.append(["inputs", ", ".join(r.nodes[a].name for a in n.inputs)])
    rows.append(["value", "\n".join(_lines(n.value))])
    if steps:
        rows.append(["local derivatives", "\n".join(local_text(r, s) for s in steps)])
    if r.mode == "forward":
        if n.op != "const":
            rows += [[f"tangent {partial(n.name, name)}", tangent_text(r, n, steps, name)]
                     for name in r.tangent]
    elif n.id in sums:
        c = sums[n.id]
        rows.append(["chain rule", chain_text(r, c, MAX_TERMS)])
        rows.append(["terms", "\n".join(term_lines(r, c, MAX_TERMS))])
        if is_small(n.grad):
            rows.append([partial(r.output_name, n.name), "\n".join(matrix_lines(n.grad))])
    else:
        rows.append(["gradient", f"no gradient flows to {n.name}"])
    return {"title": _title(n), "rows": rows}


# -- the train-gate page --------------------------------------------------------------------

def train_page(r: TrainResult) -> str:
    from .table import lay_out
    from .train import _summary, note, train_json

    said = note(r)
    body = [
        '<header><h1>autodiff <span class="muted">train-gate</span></h1>',
        f'<pre class="summary">{escape(lay_out(_summary(r), 10**6).rstrip())}</pre></header>',
        f'<p class="note">{escape(said)}</p>' if said else "",
        '<main class="report">',
        '<section><h2>Loss</h2>', _loss_svg(r.history_sample(), f"{r.loss} loss"),
        '</section>',
        '<section><h2>Decision boundary</h2>', _boundary_svg(r), '</section>',
        '<section><h2>Truth table</h2>', _truth_html(r), '</section>',
        '<section><h2>Weights</h2>', _weights_html(r), '</section>',
        '</main>',
    ]
    return _document(f"autodiff train-gate: {r.gate}", "\n".join(b for b in body if b),
                     "train-data", train_json(r))


def fit_page(r: FitReport) -> str:
    """train's report: the loss curve and the trained params, with train --format json's
    numbers embedded as #train-data."""
    from .train import fit_json

    show = human

    rows = []
    for name, x in r.params.items():
        if is_array(x):
            cells = "".join("<tr>" + "".join(f"<td>{escape(show(float(v)))}</td>"
                                             for v in row) + "</tr>"
                            for row in (x if x.ndim == 2 else [x]))
            rows.append(f'<h3>{escape(name)} <span class="muted">'
                        f'({"x".join(map(str, x.shape))})</span></h3>'
                        f"<table><tbody>{cells}</tbody></table>")
        else:
            rows.append(f"<h3>{escape(name)}</h3><p>{escape(show(float(x)))}</p>")
    loss = r.loss_name or "loss"
    body = [
        '<header><h1>autodiff <span class="muted">train</span></h1>',
        f'<pre class="summary">{escape(r.program)}</pre>',
        f'<p>{escape(r.settings.optimizer)}, lr {escape(show(r.settings.lr))}: after '
        f'{r.epochs_run} epochs, {escape(loss)} = {escape(show(r.final_loss))}</p></header>',
        '<main class="report">',
        '<section><h2>Loss</h2>', _loss_svg(r.history_sample(), loss), '</section>',
        '<section><h2>Params</h2>', *rows, '</section>',
        '</main>',
    ]
    return _document("autodiff train", "\n".join(body), "train-data", fit_json(r))


def _loss_svg(sample: list[tuple[int, float]], label: str) -> str:
    """The loss after each epoch on a log scale, with a tick per power of ten."""
    w, h, left, right, top, bottom = 560, 300, 64, 16, 16, 44
    pw, ph = w - left - right, h - top - bottom
    logs = [math.log10(max(loss, 1e-300)) for _e, loss in sample]
    lo, hi = math.floor(min(logs)), math.ceil(max(logs))
    if hi == lo:
        hi += 1
    last = max(sample[-1][0], 1)

    def px(epoch: float) -> float:
        return left + pw * epoch / last

    def py(log: float) -> float:
        return top + ph * (hi - log) / (hi - lo)

    out = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" role="img" aria-labelledby="loss-title">'
           f'<title id="loss-title">loss by epoch, log scale: {escape(human(sample[0][1]))} '
           f'at epoch {sample[0][0]} to {escape(human(sample[-1][1]))} at epoch '
           f'{sample[-1][0]}</title>']
    every = max(1, math.ceil((hi - lo) / 8))
    for p in range(lo, hi + 1):
        y = py(p)
        out.append(f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/>')
        if (p - lo) % every == 0:
            out.append(f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" '
                       f'text-anchor="end">10<tspan dy="-5" font-size="9">{p}</tspan></text>')
    for e in _ticks(last):
        x = px(e)
        out.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{top + ph}" '
                   f'y2="{top + ph + 5}"/><text class="tick" x="{x:.1f}" y="{top + ph + 18}" '
                   f'text-anchor="middle">{e:g}</text>')
    out.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}"/>'
               f'<line class="axis" x1="{left}" x2="{left + pw}" y1="{top + ph}" '
               f'y2="{top + ph}"/>')
    points = " ".join(f"{px(e):.1f},{py(v):.1f}" for (e, _l), v in zip(sample, logs,
                                                                       strict=True))
    out.append(f'<polyline class="curve" points="{points}"/>')
    out.append(f'<text class="axis-label" x="{left + pw / 2}" y="{h - 6}" '
               'text-anchor="middle">epoch</text>'
               f'<text class="axis-label" transform="translate(14 {top + ph / 2}) rotate(-90)" '
               f'text-anchor="middle">{escape(label)} (log scale)</text></svg>')
    return "".join(out)


def _ticks(last: int) -> list[float]:
    """About five round ticks from 0 to last."""
    raw = last / 5
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return [k * step for k in range(int(last // step) + 1)]


def _boundary_svg(r: TrainResult) -> str:
    """The network's output over the unit square as cells (blue 0 ... orange 1), the line
    where the prediction changes drawn black, and the four corners with their targets."""
    b = r.boundary
    rows, cols = len(b.outputs), len(b.outputs[0])
    size, left, top = 320, 64, 12
    cw, ch = size / cols, size / rows
    out = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{size + left + 180}" '
           f'height="{size + top + 44}" role="img" aria-labelledby="boundary-title">'
           '<title id="boundary-title">decision boundary over the unit square: the '
           'network\'s output at each point, the thick line where its prediction changes '
           'from 0 to 1, and the four inputs with their targets</title>']
    for i, row in enumerate(b.outputs):
        for j, o in enumerate(row):
            out.append(f'<rect x="{left + j * cw:.2f}" y="{top + i * ch:.2f}" '
                       f'width="{cw + 0.3:.2f}" height="{ch + 0.3:.2f}" fill="{_shade(o)}">'
                       f'<title>output {human(o)}</title></rect>')
    p = b.predicted
    for i in range(rows):
        for j in range(cols):
            if j + 1 < cols and p[i][j] != p[i][j + 1]:
                x = left + (j + 1) * cw
                out.append(f'<line class="edge-line" x1="{x:.2f}" x2="{x:.2f}" '
                           f'y1="{top + i * ch:.2f}" y2="{top + (i + 1) * ch:.2f}"/>')
            if i + 1 < rows and p[i][j] != p[i + 1][j]:
                y = top + (i + 1) * ch
                out.append(f'<line class="edge-line" x1="{left + j * cw:.2f}" '
                           f'x2="{left + (j + 1) * cw:.2f}" y1="{y:.2f}" y2="{y:.2f}"/>')
    # the grid's first and last columns and rows are x = 0 and 1: cell centres
    for pred in r.predictions:
        x1, x2 = pred.inputs
        cx = left + (x1 * (cols - 1) + 0.5) * cw
        cy = top + ((1 - x2) * (rows - 1) + 0.5) * ch
        ok = "right" if pred.predicted == pred.target else "wrong"
        out.append(f'<g class="corner {ok}"><circle cx="{cx:.1f}" cy="{cy:.1f}" r="11"/>'
                   f'<text x="{cx:.1f}" y="{cy + 5:.1f}" text-anchor="middle">{pred.target}'
                   '</text></g>')
    out.append(f'<rect class="frame" x="{left}" y="{top}" width="{size}" height="{size}"/>')
    for v in (0, 0.5, 1):
        x = left + (v * (cols - 1) + 0.5) * cw
        y = top + ((1 - v) * (rows - 1) + 0.5) * ch
        out.append(f'<text class="tick" x="{x:.1f}" y="{top + size + 16}" '
                   f'text-anchor="middle">{v:g}</text>'
                   f'<text class="tick" x="{left - 16}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{v:g}</text>')
    out.append(f'<text class="axis-label" x="{left + size / 2}" y="{top + size + 34}" '
               'text-anchor="middle">x1</text>'
               f'<text class="axis-label" x="{left - 60}" y="{top + size / 2 - 14}">x2</text>')
    lx = left + size + 14
    out.append(f'<rect x="{lx}" y="{top}" width="14" height="14" fill="{_shade(1)}"/>'
               f'<text class="tick" x="{lx + 20}" y="{top + 12}">output 1</text>'
               f'<rect x="{lx}" y="{top + 22}" width="14" height="14" fill="{_shade(0)}"/>'
               f'<text class="tick" x="{lx + 20}" y="{top + 34}">output 0</text>'
               f'<line class="edge-line" x1="{lx}" x2="{lx + 14}" y1="{top + 52}" '
               f'y2="{top + 52}"/><text class="tick" x="{lx + 20}" y="{top + 56}">'
               'output = 0.5</text>'
               f'<text class="tick" x="{lx}" y="{top + 80}">circles: the four</text>'
               f'<text class="tick" x="{lx}" y="{top + 94}">inputs, their target</text>'
               f'<text class="tick" x="{lx}" y="{top + 108}">(dashed: predicted</text>'
               f'<text class="tick" x="{lx}" y="{top + 122}">wrongly)</text></svg>')
    return "".join(out)


def _shade(o: float) -> str:
    """Blue at 0, light at 0.5, orange at 1: readable for red-green colour blindness."""
    o = min(1.0, max(0.0, o))
    lo, mid, hi = (33, 102, 172), (247, 247, 247), (230, 97, 1)
    a, c, t = (lo, mid, o * 2) if o < 0.5 else (mid, hi, o * 2 - 1)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, c, strict=True))


def _truth_html(r: TrainResult) -> str:
    heads = ["x1", "x2", "target", "output", "predicted", ""]
    rows = []
    for p in r.predictions:
        ok = p.predicted == p.target
        cells = [str(p.inputs[0]), str(p.inputs[1]), str(p.target), f"{p.output:.4f}",
                 str(p.predicted), "✓ right" if ok else "✗ wrong"]
        rows.append(f'<tr class="{"right" if ok else "wrong"}">'
                    + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f'<th scope="col">{h}</th>' for h in heads)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _weights_html(r: TrainResult) -> str:
    from .train import _column

    if len(r.layers) == 2:
        head = "".join(f'<th scope="col">{escape(w.name)}</th>' for w in r.weights)
        cells = "".join(f"<td>{escape(human(w.value))}</td>" for w in r.weights)
        return (f"<p>the seed's w1, w2 and bias b</p><table><thead><tr>{head}</tr></thead>"
                f"<tbody><tr>{cells}</tr></tbody></table>")
    out = ["<p>W<sup>l</sup><sub>jk</sub>: layer l's weight into neuron j from input k; "
           "b<sup>l</sup><sub>j</sub>: neuron j's bias</p>"]
    last = len(r.layers) - 1
    for layer in range(1, last + 1):
        ws = [w for w in r.weights if w.layer == layer]
        kind = f"hidden, {r.activation}" if layer < last else "output, sigmoid"
        inputs = [*sorted({w.input for w in ws if w.input}), 0]
        value = {(w.neuron, w.input): human(w.value) for w in ws}
        neurons = list(range(1, r.layers[layer] + 1))
        first = {w.input: w for w in ws if w.neuron == 1}
        # W^1_j1 ... b^1_j, as the terminal
        names = [_column(first[k], max(r.layers) > 9) for k in inputs]
        if len(neurons) >= len(inputs):  # a row per neuron
            heads = ["neuron j", *names]
            rows = [[str(j), *(value[j, k] for k in inputs)] for j in neurons]
        else:  # a row per input: the output layer's one neuron stays narrow
            heads = ["", *(f"neuron {j}" for j in neurons)]
            rows = [[n, *(value[j, k] for j in neurons)] for n, k in zip(names, inputs,
                                                                        strict=True)]
        head = "".join(f'<th scope="col">{escape(h)}</th>' for h in heads)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                       for row in rows)
        out.append(f"<h3>layer {layer} ({kind})</h3><table><thead><tr>{head}</tr></thead>"
                   f"<tbody>{body}</tbody></table>")
    return "".join(out)
