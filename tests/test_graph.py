"""Chapter 6's computation-graph figure: every node a box, every edge an arrow between boxes."""

import matplotlib
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Annotation

import d2lmini

matplotlib.use("Agg")

EDGES = [("w", "u"), ("x", "u"), ("u", "z"), ("b", "z"), ("z", "L"), ("w", "L")]


def drawn(place=None):
    fig = Figure(figsize=(8, 3))
    ax = fig.subplots()
    where = d2lmini.draw_graph(ax, EDGES, {"u": "u = w·x"}, {("w", "u"): "x"}, place=place)
    fig.canvas.draw()
    return ax, where


def test_every_node_is_a_box_and_every_edge_an_arrow():
    ax, where = drawn()
    boxes = [t.get_text() for t in ax.texts if t.get_bbox_patch() and t.get_color() != "C3"]
    assert sorted(boxes) == sorted(["w", "x", "u = w·x", "b", "z", "L"])
    arrows = [t for t in ax.texts if isinstance(t, Annotation) and t.arrow_patch is not None]
    assert len(arrows) == len(EDGES)
    for arrow in arrows:  # from box to box, cut at their edges
        assert arrow.arrow_patch.patchA is not None and arrow.arrow_patch.patchB is not None
    assert [t.get_text() for t in ax.texts if t.get_color() == "C3"] == ["x"]


def test_the_layout_puts_each_node_left_of_what_is_computed_from_it():
    _, where = drawn()
    for a, b in EDGES:
        assert where[a][0] < where[b][0], (a, b)
    assert where["w"][0] == where["x"][0] == 0  # inputs of the first operation, first column
    assert len(set(where.values())) == len(where)  # no two nodes on one spot


def test_given_places_are_kept():
    place = {"w": (0, 0), "x": (0, 1), "u": (1, 0), "b": (1, 1), "z": (2, 0), "L": (3, 0)}
    _, where = drawn(place)
    assert where == place


def test_a_node_without_a_place_is_named():
    with pytest.raises(ValueError, match=r"no \(x, y\) for \['L', 'b', 'u', 'x', 'z'\]"):
        drawn({"w": (0, 0)})


def test_a_cycle_is_named_not_looped_over_forever():
    fig = Figure(figsize=(4, 3))
    with pytest.raises(ValueError, match=r"cycle .* wait on it: \['a', 'b', 'x'\]"):
        d2lmini.draw_graph(fig.subplots(), [("x", "a"), ("a", "b"), ("b", "a")])
