"""The trace report as tables (forward pass, backward pass, chain rule; in forward mode
tangents instead of the backward pass), an expression tree, plain text and JSON. Long tables
keep their two ends and say how much they leave out. Arrays show their shape, and their
values too when they are small (render/matrix.py); JSON writes them as grad does."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from ..trace import ChainSum, Step, TraceNode, TraceReport, partial, vjp_text
from . import source_text
from .grad import grad_json, reduction_note
from .matrix import SMALL_SIDE, is_array, is_small, matrix_lines, shape_text, to_json
from .numbers import exact, human
from .table import Table, wrap

MAX_ROWS = 200  # default --max-rows: rows per table; 0 shows all
MAX_DEPTH = 12  # levels of the --graph tree; deeper levels are summarised
MAX_TERMS = 10  # terms of one chain-rule sum, unless --max-rows is 0
SMALL = SMALL_SIDE  # arrays up to SMALL x SMALL show their values in the tables


# -- words and numbers, shared with render/dot.py ------------------------------------------

def show(x: Any) -> str:
    """A value as a person writes it (0, never -0); an array by its shape."""
    if isinstance(x, (int, float)):
        return human(x + 0.0)  # -0.0 + 0.0 is 0.0
    from ..arrays import shape_text

    text = shape_text(x)
    return human(float(x)) if text == "scalar" else text


def factor(x: Any) -> str:
    """show(x), in parentheses if negative, for the right side of a product."""
    text = show(x)
    return f"({text})" if text.startswith("-") else text


def local_text(r: TraceReport, s: Step) -> str:
    """∂e/∂c = d = 5: the local derivative as its rule and its value; for a vector-Jacobian
    product, what the input receives: vjp: ∂f/∂v1 @ Wᵀ."""
    head, value = _local_parts(r, s)
    return head if value is None else f"{head} = {show(value)}"


def _local_parts(r: TraceReport, s: Step) -> tuple[str, Any]:
    """local_text before its last " = ", and the value after it (None: nothing after)."""
    if s.local is None:
        return f"vjp: {s.rule}", None
    d = partial(r.nodes[s.node].name, r.nodes[s.input].name)
    value = show(s.local)
    return (d, s.local) if s.rule == value else (f"{d} = {s.rule}", s.local)


def product_text(r: TraceReport, s: Step) -> str:
    """gradient * local = contribution: 5 * 4 = 20; on arrays ⊙ is element by element, and
    a vector-Jacobian product is its rule with the shapes put in: (4x3) @ (3x3)ᵀ = (4x3)."""
    return f"{_product(r, s)} = {show(s.contribution)}"


def _product(r: TraceReport, s: Step) -> str:
    """product_text before its " = contribution"."""
    node = r.nodes[s.node]
    g = node.grad
    if s.local is None:
        args = [factor(r.nodes[a].value) for a in node.inputs]
        x, y = args[0], args[-1]
        text = vjp_text(node.op, s.position, x, y, factor(node.value), factor(g))
    else:
        text = f"{show(g)} {_times(g, s.local)} {factor(s.local)}"
    return text if s.broadcast is None else f"{text}, summed over broadcast axes"


def _times(g: Any, local: Any) -> str:
    """⊙ between two arrays (element by element, as the seed writes it), else *."""
    return "⊙" if is_array(g) and is_array(local) else "*"


def chain_text(r: TraceReport, c: ChainSum, max_terms: int = 0) -> str:
    """The chain-rule line of one node: ∂e/∂a = 20 + 15 = 35. With max_terms > 0, a longer
    sum shows its first max_terms terms and how many more there are."""
    node = r.nodes[c.node]
    d = partial(r.output_name, node.name)
    if c.node == r.output or not c.terms:
        return f"{d} = {show(node.grad)}"
    if len(c.terms) == 1:
        (s,) = c.terms
        g = r.nodes[s.node].grad
        if s.node == r.output and isinstance(g, float) and g == 1.0 and s.local is not None:
            value = show(s.local)
            return f"{d} = {value}" if s.rule == value else f"{d} = {s.rule} = {value}"
        if s.local is None:
            return f"{d} = {s.rule} = {show(node.grad)}"
        return f"{d} = {product_text(r, s)}"
    shown, more = _cut_terms(c, max_terms)
    total = show(shown[0].contribution)
    for s in shown[1:]:
        text = show(s.contribution)
        total += f" - {text[1:]}" if text.startswith("-") else f" + {text}"
    if more:
        total += f" + … ({more:,} more terms)"
    return f"{d} = {total} = {show(node.grad)}"


def _cut_terms(c: ChainSum, max_terms: int) -> tuple[tuple[Step, ...], int]:
    if max_terms <= 0 or len(c.terms) <= max_terms:
        return c.terms, 0
    return c.terms[:max_terms], len(c.terms) - max_terms


def term_lines(r: TraceReport, c: ChainSum, max_terms: int = 0) -> list[str]:
    """Each term of a chain-rule sum: ∂e/∂b * ∂b/∂a = 5 * 4 = 20 (the first max_terms)."""
    if c.node == r.output:
        return ["the output"]
    if not c.terms:
        return [f"{r.output_name} does not depend on {r.nodes[c.node].name}"]
    lines = []
    shown, more = _cut_terms(c, max_terms)
    for s in shown:
        via = r.nodes[s.node].name
        times = _times(r.nodes[s.node].grad, s.local)
        symbolic = s.rule if s.local is None else \
            f"{partial(r.output_name, via)} {times} {partial(via, r.nodes[c.node].name)}"
        lines.append(symbolic if len(c.terms) == 1 else f"{symbolic} = {product_text(r, s)}")
    if more:
        lines.append(f"… {more:,} more terms")
    return lines


# -- tables ------------------------------------------------------------------------------

Cell = list[str]  # the lines of one table cell
GAP = 2  # columns between two columns of a table
MIN_COLUMN = 12  # a column that gives way on a narrow page keeps at least this many
EXPRESSION = 40  # the expression column's widest


class Column(NamedTuple):
    header: str
    justify: str = "left"
    gives: str = ""  # how it gives way on a narrow page: "cut" (ends in …), "wrap" (between
    # words, never inside a number or a name), "" not at all
    short: str = ""  # its header where the long one does not fit


def trace_table(r: TraceReport, fancy: bool, max_rows: int = MAX_ROWS, tree: bool = False,
                width: int = 100) -> list[Any]:
    """The trace as blocks for render.print_table: render/table.py's Tables and lines of
    text, each line fitted to a page `width` columns wide without splitting a number or a
    name. Long cells wrap between words, the expression column is shortened, and where small
    arrays' values still do not fit they give way to their shapes."""
    room = width - (2 if fancy else 0)  # a terminal's tables have an edge on each side
    blocks: list[Any] = _lines(source_text(r.expression), room)
    top = _cell(r.output_name, r.value)
    blocks += top if max(map(len, top)) <= room else _cell(r.output_name, r.value, False)
    note = reduction_note(r.output_name, r.value, r.seed_grad)
    if note:
        blocks += _lines(note, room)
    blocks += ["", *forward_table(r, max_rows, room), ""]
    if r.mode == "forward":
        blocks += tangent_table(r, max_rows, room)
    else:
        blocks += [*backward_table(r, max_rows, room), "", *chain_table(r, max_rows, room)]
    if r.mode:
        from .gradreport import passes_line  # grad --mode's words

        blocks += ["", *_lines(passes_line(r.mode, r.passes, len(r.gradient)), room)]
    if tree:
        blocks += ["", *expression_tree(r, max_rows, room)]
    return blocks


def _value(x: Any, values: bool = True) -> Cell:
    """A number, a small array's values as a bracketed block, or an array's shape."""
    return matrix_lines(x) if values and is_small(x) else [show(x)]


def _cell(head: str, value: Any, values: bool = True) -> Cell:
    """head = value, or, for a small array, "head =" over its values."""
    if values and is_small(value):
        return [f"{head} =", *matrix_lines(value)]
    return [f"{head} = {show(value)}"]


def _cut(items: list[Any], max_rows: int) -> tuple[list[Any], int, list[Any]]:
    """The first and last rows of a long table, and how many lie between them."""
    if max_rows <= 0 or len(items) <= max_rows:
        return items, 0, []
    tail = max_rows // 2
    return items[:max_rows - tail], len(items) - max_rows, items[len(items) - tail:]


def _grid(columns: list[Column], items: list[Any], max_rows: int,
          row: Callable[[Any], list[Cell]]) -> tuple[list[list[Cell]], str]:
    """A row of cells per item, or, if that is too long, its two ends around a "⋮" row; and
    the note that says so."""
    head, hidden, tail = _cut(items, max_rows)
    rows = [row(item) for item in head]
    if not hidden:
        return rows, ""
    rows.append([["⋮"], *[[""]] * (len(columns) - 1)])
    rows += [row(item) for item in tail]
    return rows, f"{hidden:,} of {len(items):,} rows not shown; --max-rows 0 shows all"


def _fitted(title: str, columns: list[Column], rows: list[list[Cell]],
            room: int) -> tuple[Table, int]:
    """The Table of these cells, a line per line of a cell, with the columns that can give
    way narrowed (widest first) until it fits `room` or none can give more; and its width."""
    widths = [max([len(c.header), *(len(line) for row in rows for line in row[j])])
              for j, c in enumerate(columns)]
    headers = [c.header for c in columns]
    for j in sorted(range(len(columns)), key=lambda j: -widths[j]):
        excess = sum(widths) + GAP * (len(widths) - 1) - room
        c = columns[j]
        if excess <= 0:
            break
        least = max(MIN_COLUMN, len(c.short or c.header))
        if not c.gives or widths[j] <= least:
            continue
        target = max(least, widths[j] - excess)
        if c.gives == "cut":
            for row in rows:
                row[j] = [_shorten(line, target) for line in row[j]]
        else:
            for row in rows:
                row[j] = [part for line in row[j] for part in _wrap(line, target)]
        if len(headers[j]) > target:
            headers[j] = c.short
        widths[j] = max([len(headers[j]), *(len(line) for row in rows for line in row[j])])
    lines: list[tuple[str, ...]] = []
    for row in rows:
        height = max(map(len, row))
        if height == 1:
            lines.append(tuple(cell[0] for cell in row))
        else:
            lines += [tuple(cell[k] if k < len(cell) else "" for cell in row)
                      for k in range(height)]
    table = Table(tuple(headers), tuple(c.justify for c in columns), lines, title=title,
                  pad_edge=False)
    return table, sum(widths) + GAP * (len(widths) - 1)


def _table(title: str, columns: list[Column], items: list[Any], max_rows: int,
           row: Callable[[Any, bool], list[Cell]], room: int,
           values: bool = False) -> tuple[list[Any], bool]:
    """The table's blocks (the table and the note on rows not shown) fitted to room, with
    small arrays' values if `values` and they fit; and whether they are shown."""
    rows, note = _grid(columns, items, max_rows, lambda item: row(item, values))
    table, width = _fitted(title, columns, rows, room)
    if values and width > room:
        rows, note = _grid(columns, items, max_rows, lambda item: row(item, False))
        table, width = _fitted(title, columns, rows, room)
        values = False
    return [table, *(_lines(note, room) if note else [])], values


def _shown_note(values: bool, room: int, arrays: list[Any]) -> list[str]:
    """What the tables leave out of arrays, if anything."""
    if values and all(map(is_small, arrays)):
        return []
    if values:
        return _lines(f"arrays larger than {SMALL}x{SMALL} show their shape only; --format "
                      "json gives every entry", room)
    return _lines(f"arrays show their shape only on a page {room} columns wide; --format json "
                  "gives every entry", room)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(line: str, width: int) -> str:
    return line if len(line) <= width else line[:width - 1] + "…"


def forward_table(r: TraceReport, max_rows: int = MAX_ROWS, room: int = 100) -> list[Any]:
    arrays = [n.value for n in r.nodes if is_array(n.value)]
    columns = [Column("node"), Column("expression", gives="cut"), Column("op"),
               Column("inputs"), *([Column("shape")] if arrays else []),
               Column("value", "right")]

    def row(n: TraceNode, values: bool) -> list[Cell]:
        inputs = ", ".join(r.nodes[a].name for a in n.inputs)
        shape = [[shape_text(n.value)]] if arrays else []
        return [[n.name], [_shorten(_one_line(n.text), EXPRESSION)], [n.op], [inputs], *shape,
                _value(n.value, values)]

    blocks, values = _table("Forward pass", columns, r.nodes, max_rows, row, room, True)
    return blocks + _shown_note(values, room, arrays) if arrays else blocks


def backward_table(r: TraceReport, max_rows: int = MAX_ROWS, room: int = 100) -> list[Any]:
    """Each node's gradient and, per input, the local derivative and gradient * local; on
    arrays the last two share a column (a small array's values take several lines)."""
    arrays = any(is_array(n.value) for n in r.nodes)
    columns = [Column("node"), Column(partial(r.output_name, "node"), "right"),
               Column("input")]
    if arrays:
        columns.append(Column("local derivative, and what the input receives", gives="wrap",
                              short="what the input receives"))
    else:
        columns += [Column("local derivative", gives="wrap", short="local"),
                    Column("gradient * local", gives="wrap", short="sent back")]
    by_node: dict[int, list[Step]] = {}
    for s in r.steps:
        by_node.setdefault(s.node, []).append(s)
    items: list[tuple[int, Step | None, bool]] = []
    for i in r.order:
        steps = by_node.get(i, [])
        items += [(i, s, k == 0) for k, s in enumerate(steps)] or [(i, None, True)]

    def row(item: tuple[int, Step | None, bool], values: bool) -> list[Cell]:
        i, s, first = item
        node = r.nodes[i]
        head = [[node.name], _value(node.grad, values)] if first else [[""], [""]]
        if s is None:
            return [*head, *[[""]] * (2 if arrays else 3)]
        if arrays:
            return [*head, [r.nodes[s.input].name], _receives(r, s, values)]
        local_head, local = _local_parts(r, s)
        return [*head, [r.nodes[s.input].name], _cell(local_head, local),
                _cell(_product(r, s), s.contribution)]

    blocks, _ = _table("Backward pass", columns, items, max_rows, row, room, arrays)
    vjps = list(dict.fromkeys(r.nodes[s.node].op for s in r.steps if s.local is None))
    if vjps:
        blocks += _lines(f"vjp: a vector-Jacobian product ({', '.join(vjps)}): no "
                         "element-wise local derivative;\neach input receives the rule "
                         "shown, applied to the node's gradient", room)
    if any(isinstance(s.local, float) and not math.isfinite(s.local) for s in r.steps):
        blocks += _lines("nan, inf: a local derivative that is not finite here (an infinite "
                         "slope, sqrt at 0); the gradient it meets is 0, and a zero factor "
                         "wins: the use sends back 0", room)
    return blocks


def _receives(r: TraceReport, s: Step, values: bool = True) -> Cell:
    """On arrays: the local derivative (or "vjp"), then what the input receives, as a rule
    over the names and its value: ∂f/∂v2 ⊙ ∂v2/∂v1 = ..., ∂f/∂v1 @ Wᵀ = ..."""
    node, name = r.nodes[s.node], r.nodes[s.input].name
    summed = "" if s.broadcast is None else ", summed over broadcast axes"
    if s.local is None:
        return _cell(f"vjp: {s.rule}{summed}", s.contribution, values)
    local_head, local = _local_parts(r, s)
    times = _times(node.grad, local)
    sends = f"{partial(r.output_name, node.name)} {times} {partial(node.name, name)}{summed}"
    return [*_cell(local_head, local, values), *_cell(sends, s.contribution, values)]


def tangent_table(r: TraceReport, max_rows: int = MAX_ROWS, room: int = 100) -> list[Any]:
    """Forward mode: each node's local derivatives and its tangent with respect to each
    variable, as the sum of local derivative * the input's tangent."""
    columns = [Column("node"), Column("local derivative", gives="wrap", short="local"),
               *(Column(partial("node", name), gives="wrap") for name in r.tangent)]
    by_node: dict[int, list[Step]] = {}
    for s in r.steps:
        by_node.setdefault(s.node, []).append(s)

    def row(n: TraceNode, values: bool) -> list[Cell]:
        steps = by_node.get(n.id, [])
        return [[n.name], [local_text(r, s) for s in steps] or [""],
                *([tangent_text(r, n, steps, name)] for name in r.tangent)]

    blocks, _ = _table("Tangents", columns, [n for n in r.nodes if n.op != "const"], max_rows,
                       row, room)
    return blocks


def tangent_text(r: TraceReport, n: TraceNode, steps: list[Step], name: str) -> str:
    """d node / d name as forward mode builds it, the sum over the node's inputs of local
    derivative * the input's tangent: 5 * 4 + 15 * 1 = 35."""
    t = r.tangent[name]
    terms = [s for s in steps if t[s.input]]
    if not terms:
        return show(t[n.id])
    products = [f"{show(s.local) if k == 0 else factor(s.local)} * {factor(t[s.input])}"
                for k, s in enumerate(terms)]
    return f"{' + '.join(products)} = {show(t[n.id])}"


def chain_table(r: TraceReport, max_rows: int = MAX_ROWS, room: int = 100) -> list[Any]:
    columns = [Column("gradient", gives="wrap"),
               Column("terms: what each use sends back", gives="wrap", short="terms")]
    terms = MAX_TERMS if max_rows > 0 else 0

    def row(c: ChainSum, values: bool) -> list[Cell]:
        return [[chain_text(r, c, terms)], term_lines(r, c, terms)]

    blocks, _ = _table("Chain rule", columns, r.sums, max_rows, row, room)
    return blocks


# -- lines of text -----------------------------------------------------------------------------

_MATRIX = "[⎡⎢⎣"  # how a row of matrix_lines begins


def _lines(text: str, room: int) -> list[str]:
    """Text as lines of at most room columns (see _wrap)."""
    return [part for line in text.split("\n") for part in _wrap(line, room)]


def _wrap(line: str, room: int) -> list[str]:
    """render/table.wrap (between words, a long word after an operator: never inside a
    number or a name), but a row of a matrix is never broken (the table shows shapes
    instead where it does not fit)."""
    return [line] if line[:1] in _MATRIX else wrap(line, room)


# -- the expression as a tree ------------------------------------------------------------------

_FORK, _END, _DOWN, _NONE = "├── ", "└── ", "│   ", "    "  # rich's tree guides


def node_label(r: TraceReport, n: TraceNode) -> str:
    """name = text  op  value 12  ∂e/∂b = 5 (the gradient only where one flows)."""
    head = n.name
    text = _one_line(n.text)
    if n.op not in ("var", "const") and text != n.name:
        head += f" = {text if len(text) <= 30 else text[:29] + '…'}"
    label = f"{head}   {n.op}   value {show(n.value)}"
    if r.mode == "forward":
        if n.op == "const":
            return label
        return label + "".join(f"   {partial(n.name, name)} = {show(t[n.id])}"
                               for name, t in r.tangent.items())
    if n.reached or n.op == "var":
        label += f"   {partial(r.output_name, n.name)} = {show(n.grad)}"
    return label


def expression_tree(r: TraceReport, max_nodes: int = MAX_ROWS, width: int = 100,
                    max_depth: int = MAX_DEPTH) -> list[str]:
    """The output at the root, each node's inputs below it, as deep as the page leaves room
    for (at most max_depth levels). A node used twice is drawn once; later uses say so.
    Built and drawn with stacks, so any depth works."""
    max_depth = max(1, min(max_depth, (width - 32) // len(_FORK)))
    out = r.nodes[r.output]
    labels = [node_label(r, out)]  # per entry of the tree; entry 0 the root
    children: list[list[int]] = [[]]

    def add(parent: int, label: str) -> int:
        labels.append(label)
        children.append([])
        children[parent].append(len(labels) - 1)
        return len(labels) - 1

    drawn = {out.id}
    stack = [(a, 0, 1) for a in out.inputs[::-1]]
    count = 1
    while stack:
        if max_nodes > 0 and count >= max_nodes:
            add(0, f"… the tree stops after {count:,} nodes; --max-rows 0 draws all")
            break
        i, parent, depth = stack.pop()
        n = r.nodes[i]
        count += 1
        if i in drawn and n.inputs:
            add(parent, f"{n.name} (drawn above)")
            continue
        drawn.add(i)
        entry = add(parent, node_label(r, n))
        if n.inputs and depth >= max_depth:
            add(entry, f"… inputs deeper than {max_depth} levels not drawn")
        elif n.inputs:
            stack.extend((a, entry, depth + 1) for a in n.inputs[::-1])
    lines: list[str] = []
    todo = [(0, "", "", "")]  # entry, its guide, the guide of its label's further lines, the
    # guides above its children
    while todo:
        entry, guide, further, above = todo.pop()
        first, *rest = _wrap(labels[entry], width - len(guide))
        lines += [guide + first, *(further + line for line in rest)]
        kids = children[entry]
        todo += [(k, above + (_END if last else _FORK), above + (_NONE if last else _DOWN),
                  above + (_NONE if last else _DOWN))
                 for k, last in ((k, n == len(kids) - 1) for n, k in enumerate(kids))][::-1]
    return lines


# -- JSON and plain text -----------------------------------------------------------------

def trace_json(r: TraceReport) -> dict[str, Any]:
    """The grad keys (arrays as {"shape", "data"}, "reduced" for an array output), "mode"
    and "passes" when a mode was asked for, then "nodes" in evaluation order. "local" maps
    an input's id (as a string) to d node / d input, for the inputs a gradient (or tangent)
    flows to; an input used twice (x*x) gets the sum of its two local derivatives; null for
    a vector-Jacobian product (matmul, sum, mean, transpose on arrays), whose rule is in
    "vjp". A node has "grad" in reverse mode, "tangent" ({variable: d node / d variable})
    in forward mode."""
    doc = grad_json(r.result())
    if r.mode:
        doc["mode"] = r.mode
        doc["passes"] = dict(r.passes)
    flows: dict[int, list[Step]] = {}
    for s in r.steps:
        flows.setdefault(s.node, []).append(s)
    doc["nodes"] = [_node_json(r, n, flows.get(n.id, [])) for n in r.nodes]
    return doc


def _node_json(r: TraceReport, n: TraceNode, steps: list[Step]) -> dict[str, Any]:
    local: dict[str, Any] = {}
    vjp: dict[str, str] = {}
    for s in sorted(steps, key=lambda s: s.position):
        key = str(s.input)
        if s.local is None:  # a vector-Jacobian product: no element-wise local derivative
            local[key], vjp[key] = None, s.rule
        else:
            local[key] = s.local if local.get(key) is None else local[key] + s.local
    doc: dict[str, Any] = {"id": n.id, "name": n.name, "op": n.op, "text": n.text,
                           "inputs": list(n.inputs), "value": to_json(n.value),
                           "local": {k: None if v is None else to_json(v)
                                     for k, v in local.items()}}
    if vjp:
        doc["vjp"] = vjp
    if r.mode == "forward":
        doc["tangent"] = {name: to_json(t[n.id]) for name, t in r.tangent.items()}
    else:
        doc["grad"] = to_json(n.grad)
    return doc


def trace_plain(r: TraceReport) -> str:
    """One line per node in evaluation order: id, name, op, value, gradient (in forward
    mode: a tangent per variable), tab-separated, full precision, for awk and cut."""
    if r.mode == "forward":
        lines = [f"{n.id}\t{n.name}\t{n.op}\t{_exact(n.value)}"
                 + "".join(f"\t{_exact(t[n.id])}" for t in r.tangent.values())
                 for n in r.nodes]
    else:
        lines = [f"{n.id}\t{n.name}\t{n.op}\t{_exact(n.value)}\t{_exact(n.grad)}"
                 for n in r.nodes]
    return "\n".join(lines) + "\n"


def _exact(x: Any) -> str:
    return exact(x) if isinstance(x, (int, float)) else show(x)
