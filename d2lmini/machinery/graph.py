"""A computation graph as a figure: a box per node, an arrow from each input to the node computed
from it, and on each arrow a text such as its local derivative (chapter 6)."""

from collections.abc import Sequence

from matplotlib.axes import Axes


def draw_graph(ax: Axes, edges: Sequence[tuple[str, str]], labels: dict[str, str] | None = None,
               edge_labels: dict[tuple[str, str], str] | None = None,
               place: dict[str, tuple[float, float]] | None = None) -> dict[str, tuple]:
    """Draw the graph whose edges are (input, output) node names; return each node's (x, y).

    A node's text is labels[name] (default: its name), an edge's edge_labels[(input, output)].
    place gives each node's (x, y); by default each node is one column left of the first node
    computed from it, the output in the last column.
    """
    labels, edge_labels = labels or {}, edge_labels or {}
    place = dict(place or _layout(edges))
    missing = [n for edge in edges for n in edge if n not in place]
    if missing:
        raise ValueError(f"place gives no (x, y) for {sorted(set(missing))}")
    boxes = {name: ax.text(x, y, labels.get(name, name), ha="center", va="center", zorder=3,
                           bbox={"boxstyle": "round", "edgecolor": "C0",
                                 "facecolor": "#eef3fa" if any(b == name for _, b in edges)
                                 else "white"})
             for name, (x, y) in place.items()}
    for a, b in edges:  # the arrows end at the boxes' edges (patchA, patchB)
        ax.annotate("", xy=place[b], xytext=place[a], arrowprops={
            "arrowstyle": "-|>", "color": "0.45", "lw": 1.2, "shrinkA": 2, "shrinkB": 2,
            "patchA": boxes[a].get_bbox_patch(), "patchB": boxes[b].get_bbox_patch()})
        if (a, b) in edge_labels:  # just above the arrow's middle
            (xa, ya), (xb, yb) = place[a], place[b]
            ax.annotate(edge_labels[(a, b)], ((xa + xb) / 2, (ya + yb) / 2), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", color="C3",
                        fontsize="small", zorder=4)
    xs, ys = [x for x, _ in place.values()], [y for _, y in place.values()]
    ax.set(xlim=(min(xs) - 0.6, max(xs) + 0.6), ylim=(min(ys) - 0.6, max(ys) + 0.6))
    ax.set_axis_off()
    return place


def _layout(edges: Sequence[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Columns from the output back (each node just left of its first consumer), rows in the
    order nodes first appear in edges."""
    names = list(dict.fromkeys(name for edge in edges for name in edge))
    consumers = {name: [b for a, b in edges if a == name] for name in names}
    column: dict[str, int] = {}
    while len(column) < len(names):  # a node's column once all its consumers have one
        placed = len(column)
        for name in names:
            if name not in column and all(b in column for b in consumers[name]):
                column[name] = min((column[b] for b in consumers[name]), default=1) - 1
        if len(column) == placed:  # the rest wait on each other
            raise ValueError(f"the edges go round in a cycle (a computation graph has none); "
                             f"these nodes wait on it: {sorted(set(names) - set(column))}")
    rows: dict[int, int] = {}
    place = {}
    for name in names:
        rows[column[name]] = rows.get(column[name], -1) + 1
        place[name] = (column[name] - min(column.values()), -rows[column[name]])
    return place
