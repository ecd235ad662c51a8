"""The trace report as rich tables (forward pass, backward pass, chain rule), an expression
tree, plain text and JSON. Long tables keep their two ends and say how much they leave out."""

from __future__ import annotations

from typing import Any

from ..trace import ChainSum, Step, TraceNode, TraceReport, is_atom
from .numbers import exact, human

MAX_ROWS = 200  # default --max-rows: rows per table; 0 shows all
MAX_DEPTH = 12  # levels of the --graph tree; deeper levels are summarised
MAX_TERMS = 10  # terms of one chain-rule sum, unless --max-rows is 0


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


def partial(top: str, bottom: str) -> str:
    """∂top/∂bottom, with names that are not one token in parentheses."""
    return f"∂{_wrap(top)}/∂{_wrap(bottom)}"


def _wrap(name: str) -> str:
    return name if is_atom(name) else f"({name})"


def local_text(r: TraceReport, s: Step) -> str:
    """∂e/∂c = d = 5: the local derivative as its rule and its value."""
    d = partial(r.nodes[s.node].name, r.nodes[s.input].name)
    if s.local is None:
        return f"{d}: vector-Jacobian product"
    value = show(s.local)
    return f"{d} = {value}" if s.rule == value else f"{d} = {s.rule} = {value}"


def product_text(r: TraceReport, s: Step) -> str:
    """gradient * local = contribution: 5 * 4 = 20."""
    g = r.nodes[s.node].grad
    if s.local is None:
        return f"vjp({show(g)}) = {show(s.contribution)}"
    return f"{show(g)} * {factor(s.local)} = {show(s.contribution)}"


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
        symbolic = f"{partial(r.output_name, via)} * {partial(via, r.nodes[c.node].name)}"
        lines.append(symbolic if len(c.terms) == 1 else f"{symbolic} = {product_text(r, s)}")
    if more:
        lines.append(f"… {more:,} more terms")
    return lines


# -- tables ------------------------------------------------------------------------------

def trace_table(r: TraceReport, fancy: bool, max_rows: int = MAX_ROWS,
                tree: bool = False) -> Any:
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = [Text(r.expression.strip()),
                        Text(f"{r.output_name} = {show(r.value)}"), Text(""),
                        forward_table(r, fancy, max_rows), Text(""),
                        backward_table(r, fancy, max_rows), Text(""),
                        chain_table(r, fancy, max_rows)]
    if tree:
        parts += [Text(""), expression_tree(r, fancy, max_rows)]
    return Group(*parts)


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
    table.add_column("value", justify="right")

    def row(n: TraceNode) -> list[Any]:
        inputs = ", ".join(r.nodes[a].name for a in n.inputs)
        return [Text(n.name), Text(_one_line(n.text)), Text(n.op), Text(inputs),
                Text(show(n.value))]

    return _fill(table, r.nodes, max_rows, row, fancy)


def backward_table(r: TraceReport, fancy: bool, max_rows: int = MAX_ROWS) -> Any:
    from rich.text import Text

    table = _table("Backward pass", fancy)
    table.add_column("node")
    table.add_column(partial(r.output_name, "node"), justify="right")
    table.add_column("input")
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
        head = [Text(node.name), Text(show(node.grad))] if first else [Text(""), Text("")]
        if s is None:
            return [*head, Text(""), Text(""), Text("")]
        return [*head, Text(r.nodes[s.input].name), Text(local_text(r, s)),
                Text(product_text(r, s))]

    return _fill(table, items, max_rows, row, fancy)


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
    stack = [(a, root, 1) for a in reversed(out.inputs)]
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
            stack.extend((a, branch, depth + 1) for a in reversed(n.inputs))
    return root


# -- JSON and plain text -----------------------------------------------------------------

def jsonable(x: Any) -> Any:
    """A float, or nested lists for an array (full precision either way)."""
    if isinstance(x, (int, float)):
        return float(x)
    import numpy as np

    return np.asarray(x, dtype=float).tolist()


def _shape(x: Any) -> list[int] | None:
    if isinstance(x, (int, float)):
        return None
    import numpy as np

    return list(np.shape(x))


def trace_json(r: TraceReport) -> dict[str, Any]:
    """The grad keys, then "nodes" in evaluation order. "local" maps an input's id (as a
    string) to d node / d input, for the inputs a gradient flows to; an input used twice
    (x*x) gets the sum of its two local derivatives; null for a vector-Jacobian product
    (matmul, sum, mean, transpose on arrays). Arrays come as nested lists with their "shape"
    beside them."""
    doc: dict[str, Any] = {
        "expression": r.expression, "value": jsonable(r.value),
        "at": {k: jsonable(v) for k, v in r.at.items()},
        "gradient": {k: jsonable(v) for k, v in r.gradient.items()},
    }
    if _shape(r.value) is not None:
        doc["shape"] = _shape(r.value)
    flows: dict[int, list[Step]] = {}
    for s in r.steps:
        flows.setdefault(s.node, []).append(s)
    doc["nodes"] = [_node_json(n, flows.get(n.id, [])) for n in r.nodes]
    return doc


def _node_json(n: TraceNode, steps: list[Step]) -> dict[str, Any]:
    local: dict[str, Any] = {}
    for s in sorted(steps, key=lambda s: s.position):
        key = str(s.input)
        if s.local is None:  # a vector-Jacobian product: no element-wise local derivative
            local[key] = None
        else:
            local[key] = jsonable(s.local) if local.get(key) is None else _add(local[key],
                                                                                s.local)
    doc: dict[str, Any] = {"id": n.id, "name": n.name, "op": n.op, "text": n.text,
                           "inputs": list(n.inputs), "value": jsonable(n.value),
                           "local": local, "grad": jsonable(n.grad)}
    shape = _shape(n.value)
    if shape is not None:
        doc["shape"] = shape
    return doc


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, float) and isinstance(b, (int, float)):
        return a + b
    import numpy as np

    return (np.asarray(a) + np.asarray(b)).tolist()


def trace_plain(r: TraceReport) -> str:
    """One line per node in evaluation order: id, name, op, value, gradient (tab-separated,
    full precision), for awk and cut."""
    lines = [f"{n.id}\t{n.name}\t{n.op}\t{_exact(n.value)}\t{_exact(n.grad)}" for n in r.nodes]
    return "\n".join(lines) + "\n"


def _exact(x: Any) -> str:
    return exact(x) if isinstance(x, (int, float)) else show(x)
