"""The trace report as rich tables (forward pass, backward pass, chain rule; in forward mode
tangents instead of the backward pass), an expression tree, plain text and JSON. Long tables
keep their two ends and say how much they leave out. Arrays show their shape, and their
values too when they are small (render/matrix.py); JSON writes them as grad does."""

from __future__ import annotations

from typing import Any

from ..trace import ChainSum, Step, TraceNode, TraceReport, partial, vjp_text
from . import source_text
from .grad import grad_json, reduction_note
from .matrix import SMALL_SIDE, is_array, is_small, matrix_lines, shape_text, to_json
from .numbers import exact, human

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

def trace_table(r: TraceReport, fancy: bool, max_rows: int = MAX_ROWS,
                tree: bool = False) -> Any:
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = [Text(source_text(r.expression)), _cell(r.output_name, r.value)]
    note = reduction_note(r.output_name, r.value, r.seed_grad)
    if note:
        parts.append(Text(note))
    parts += [Text(""), forward_table(r, fancy, max_rows), Text("")]
    if r.mode == "forward":
        parts.append(tangent_table(r, fancy, max_rows))
    else:
        parts += [backward_table(r, fancy, max_rows), Text(""), chain_table(r, fancy, max_rows)]
    if r.mode:
        from .gradreport import passes_line  # grad --mode's words

        parts += [Text(""), Text(passes_line(r.mode, r.passes, len(r.gradient)))]
    if tree:
        parts += [Text(""), expression_tree(r, fancy, max_rows)]
    return Group(*parts)


def _value(x: Any) -> Any:
    """A number, a small array's values as a bracketed block, or a big array's shape."""
    from rich.text import Text

    return Text("\n".join(matrix_lines(x)) if is_small(x) else show(x))


def _cell(head: str, value: Any) -> Any:
    """head = value, or, for a small array, "head =" over its values."""
    from rich.text import Text

    if is_small(value):
        return Text("\n".join([f"{head} =", *matrix_lines(value)]))
    return Text(f"{head} = {show(value)}")


def _table(title: str, fancy: bool) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    return Table(title=Text(title, style="bold" if fancy else ""), title_justify="left",
                 box=box.SIMPLE_HEAD if fancy else None, show_edge=False, pad_edge=False,
                 header_style="bold" if fancy else "")


def _cut(items: list[Any], max_rows: int) -> tuple[list[Any], int, list[Any]]:
    """The first and last rows of a long table, and how many lie between them."""
    if max_rows <= 0 or len(items) <= max_rows:
        return items, 0, []
    tail = max_rows // 2
    return items[:max_rows - tail], len(items) - max_rows, items[len(items) - tail:]


def _fill(table: Any, items: list[Any], max_rows: int, row: Any, fancy: bool) -> Any:
    """The table with a row per item, or, if that is too long, its two ends and a note."""
    from rich.console import Group
    from rich.text import Text

    head, hidden, tail = _cut(items, max_rows)
    for item in head:
        table.add_row(*row(item))
    if not hidden:
        return table
    table.add_row(Text("⋮"), *[Text("")] * (len(table.columns) - 1))
    for item in tail:
        table.add_row(*row(item))
    return Group(table, Text(f"{hidden:,} of {len(items):,} rows not shown; --max-rows 0 shows "
                             "all", style="italic" if fancy else ""))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def forward_table(r: TraceReport, fancy: bool, max_rows: int = MAX_ROWS) -> Any:
    from rich.text import Text

    table = _table("Forward pass", fancy)
    table.add_column("node")
    table.add_column("expression", max_width=40, no_wrap=True, overflow="ellipsis")
    table.add_column("op")
    table.add_column("inputs")
    arrays = any(is_array(n.value) for n in r.nodes)
    if arrays:
        table.add_column("shape")
    table.add_column("value", justify="right")

    def row(n: TraceNode) -> list[Any]:
        inputs = ", ".join(r.nodes[a].name for a in n.inputs)
        shape = [Text(shape_text(n.value))] if arrays else []
        return [Text(n.name), Text(_one_line(n.text)), Text(n.op), Text(inputs), *shape,
                _value(n.value)]

    filled = _fill(table, r.nodes, max_rows, row, fancy)
    if not any(is_array(n.value) and not is_small(n.value) for n in r.nodes):
        return filled
    from rich.console import Group

    return Group(filled, Text(f"arrays larger than {SMALL}x{SMALL} show their shape only; "
                              "--format json gives every entry", style=_note_style(fancy)))


def _note_style(fancy: bool) -> str:
    return "italic" if fancy else ""


def backward_table(r: TraceReport, fancy: bool, max_rows: int = MAX_ROWS) -> Any:
    """Each node's gradient and, per input, the local derivative and gradient * local; on
    arrays the last two share a column (a small array's values take several lines)."""
    from rich.text import Text

    arrays = any(is_array(n.value) for n in r.nodes)
    table = _table("Backward pass", fancy)
    table.add_column("node")
    table.add_column(partial(r.output_name, "node"), justify="right")
    table.add_column("input")
    if arrays:
        table.add_column("local derivative, and what the input receives")
    else:
        table.add_column("local derivative")
        table.add_column("gradient * local")
    by_node: dict[int, list[Step]] = {}
    for s in r.steps:
        by_node.setdefault(s.node, []).append(s)
    items: list[tuple[int, Step | None, bool]] = []
    for i in r.order:
        steps = by_node.get(i, [])
        items += [(i, s, k == 0) for k, s in enumerate(steps)] or [(i, None, True)]

    def row(item: tuple[int, Step | None, bool]) -> list[Any]:
        i, s, first = item
        node = r.nodes[i]
        head = [Text(node.name), _value(node.grad)] if first else [Text(""), Text("")]
        if s is None:
            return [*head, *[Text("")] * (2 if arrays else 3)]
        if arrays:
            return [*head, Text(r.nodes[s.input].name), _receives(r, s)]
        local_head, local = _local_parts(r, s)
        return [*head, Text(r.nodes[s.input].name), _cell(local_head, local),
                _cell(_product(r, s), s.contribution)]

    filled = _fill(table, items, max_rows, row, fancy)
    vjps = list(dict.fromkeys(r.nodes[s.node].op for s in r.steps if s.local is None))
    if not vjps:
        return filled
    from rich.console import Group

    return Group(filled, Text(f"vjp: a vector-Jacobian product ({', '.join(vjps)}): no "
                              "element-wise local derivative;\neach input receives the rule "
                              "shown, applied to the node's gradient", style=_note_style(fancy)))


def _receives(r: TraceReport, s: Step) -> Any:
    """On arrays: the local derivative (or "vjp"), then what the input receives, as a rule
    over the names and its value: ∂f/∂v2 ⊙ ∂v2/∂v1 = ..., ∂f/∂v1 @ Wᵀ = ..."""
    from rich.console import Group

    node, name = r.nodes[s.node], r.nodes[s.input].name
    summed = "" if s.broadcast is None else ", summed over broadcast axes"
    if s.local is None:
        return _cell(f"vjp: {s.rule}{summed}", s.contribution)
    local_head, local = _local_parts(r, s)
    times = _times(node.grad, local)
    sends = f"{partial(r.output_name, node.name)} {times} {partial(node.name, name)}{summed}"
    return Group(_cell(local_head, local), _cell(sends, s.contribution))


def tangent_table(r: TraceReport, fancy: bool, max_rows: int = MAX_ROWS) -> Any:
    """Forward mode: each node's local derivatives and its tangent with respect to each
    variable, as the sum of local derivative * the input's tangent."""
    from rich.text import Text

    table = _table("Tangents", fancy)
    table.add_column("node")
    table.add_column("local derivative")
    for name in r.tangent:
        table.add_column(partial("node", name))
    by_node: dict[int, list[Step]] = {}
    for s in r.steps:
        by_node.setdefault(s.node, []).append(s)

    def row(n: TraceNode) -> list[Any]:
        steps = by_node.get(n.id, [])
        return [Text(n.name), Text("\n".join(local_text(r, s) for s in steps)),
                *(Text(tangent_text(r, n, steps, name)) for name in r.tangent)]

    return _fill(table, [n for n in r.nodes if n.op != "const"], max_rows, row, fancy)


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


def chain_table(r: TraceReport, fancy: bool, max_rows: int = MAX_ROWS) -> Any:
    from rich.text import Text

    table = _table("Chain rule", fancy)
    table.add_column("gradient")
    table.add_column("terms: what each use sends back")

    terms = MAX_TERMS if max_rows > 0 else 0

    def row(c: ChainSum) -> list[Any]:
        return [Text(chain_text(r, c, terms)), Text("\n".join(term_lines(r, c, terms)))]

    return _fill(table, r.sums, max_rows, row, fancy)


# -- the expression as a tree ------------------------------------------------------------------

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


def expression_tree(r: TraceReport, fancy: bool, max_nodes: int = MAX_ROWS,
                    max_depth: int = MAX_DEPTH) -> Any:
    """The output at the root, each node's inputs below it, max_depth levels deep. A node
    used twice is drawn once; later uses say so. Built with a stack, so any depth works."""
    from rich.text import Text
    from rich.tree import Tree

    out = r.nodes[r.output]
    root = Tree(Text(node_label(r, out)), guide_style="dim" if fancy else "")
    drawn = {out.id}
    stack = [(a, root, 1) for a in out.inputs[::-1]]
    count = 1
    while stack:
        if max_nodes > 0 and count >= max_nodes:
            root.add(Text(f"… the tree stops after {count:,} nodes; --max-rows 0 draws all",
                          style="italic" if fancy else ""))
            break
        i, parent, depth = stack.pop()
        n = r.nodes[i]
        count += 1
        if i in drawn and n.inputs:
            parent.add(Text(f"{n.name} (drawn above)"))
            continue
        drawn.add(i)
        branch = parent.add(Text(node_label(r, n)))
        if n.inputs and depth >= max_depth:
            branch.add(Text(f"… inputs deeper than {max_depth} levels not drawn"))
        elif n.inputs:
            stack.extend((a, branch, depth + 1) for a in n.inputs[::-1])
    return root


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
