"""The panel's figure redraws only what changed, and looks exactly as if it drew everything."""

import io
import zlib

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from d2lmini import History, plot
from d2lmini.machinery import redraw
from d2lmini.machinery.panel import _take_runs_legend
from d2lmini.machinery.redraw import ReusedFigure, new_figure


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=int)[..., :3]


def full_draw(fig) -> np.ndarray:
    """The same figure drawn whole: what png() must match."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba(), dtype=int)[..., :3].copy()


def differing(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of pixels that differ visibly."""
    return float((np.abs(a - b).sum(axis=-1) > 60).mean())


def run(losses, lr):
    return History(step_loss=losses, step_examples=[10] * len(losses), epochs=2,
                   epoch_size=10 * len(losses) // 2, settings={"lr": lr})


def falling(rate):
    """A loss that falls from 5 to a floor of 0.35 (the noise floor of a real run)."""
    return [max(5.0 * rate**i, 0.35) for i in range(20)]


def draw(fig, history, ghosts, title="loss of each minibatch"):
    """A panel's draw function, and what the panel does after it: the runs go to its key."""
    ax_loss, ax_path = fig.subplots(1, 2)
    plot.plot_loss(ax_loss, history, ghosts)
    ax_loss.set_title(title)
    plot.plot_contour(ax_path, lambda a, b: a**2 + 4 * b**2, (-2, 2), (-1, 1))
    plot.plot_path(ax_path, [(1.5, 0.8), (0.5, 0.2), (0.1, 0.0)])
    _take_runs_legend(fig)


@pytest.fixture
def counted(monkeypatch):
    """How many times a whole figure was drawn."""
    calls = []
    draw_all = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda self: calls.append(1) or draw_all(self))
    return calls


def test_a_redraw_on_the_same_background_draws_only_the_curves_and_looks_the_same(counted):
    fig = new_figure(8, 3, ReusedFigure)
    first, second = run(falling(0.7), 0.1), run(falling(0.8), 0.2)
    draw(fig, first, [])
    fig.png()
    assert len(counted) == 1
    fig.start()
    draw(fig, second, [first])  # same limits (round values), a ghost more
    fast = pixels(fig.png())
    assert len(counted) == 1  # the background's pixels were reused
    assert differing(fast, full_draw(fig)) < 0.002  # only where a curve crosses a spine


@pytest.mark.parametrize("change", ["limits", "title", "surface"])
def test_a_background_that_changed_is_drawn_again(counted, change):
    fig = new_figure(8, 3, ReusedFigure)
    history = run([4.0 * 0.9**i for i in range(20)], 0.1)
    draw(fig, history, [])
    before = pixels(fig.png())
    fig.start()
    if change == "limits":  # a run that ends much lower: other limits and tick labels
        draw(fig, run([4.0 * 0.5**i for i in range(20)], 0.5), [])
    elif change == "title":
        draw(fig, history, [], title="another title")
    else:
        draw(fig, history, [])
        ax = fig.axes[1]
        ax.collections[0].remove()
        plot.plot_contour(ax, lambda a, b: 4 * a**2 + b**2, (-2, 2), (-1, 1))
    after = pixels(fig.png())
    assert len(counted) == 2
    assert differing(after, full_draw(fig)) < 0.002
    assert differing(after, before) > 0.0005


def accuracy_run(final, lr):
    train = [final * (1 - 0.5**e) for e in range(1, 6)]
    return History(metrics={"train_acc": train, "test_acc": [a - 0.03 for a in train]},
                   epochs=5, settings={"lr": lr})


def test_a_panels_metric_legend_is_background_drawn_again_only_when_it_changes(counted):
    fig = new_figure(8, 3, ReusedFigure)

    def draw_accuracy(history, ghosts, names=("train_acc", "test_acc")):
        plot.plot_metrics(fig.subplots(), history, ghosts, names=list(names))

    first, second = accuracy_run(0.8, 0.1), accuracy_run(0.7, 0.2)
    draw_accuracy(first, [])
    fig.png()
    draw_accuracy(second, [first])  # other curves, the same legend: train and test accuracy
    fast = pixels(fig.png())
    assert len(counted) == 1  # the legend came back with the background's pixels
    assert fig.axes[0].get_legend() not in redraw._foreground(fig)
    assert differing(fast, full_draw(fig)) < 0.002  # the legend lies under the curves in both
    draws = len(counted)  # full_draw drew the figure once more
    draw_accuracy(second, [first], names=["test_acc"])  # another legend: drawn again
    after = pixels(fig.png())
    assert len(counted) == draws + 1 and differing(after, full_draw(fig)) < 0.002


def test_the_png_shows_the_same_pixels_whether_isal_or_zlib_compresses_it(monkeypatch):
    """isal (the lab and test extras) where it is installed, the standard zlib elsewhere
    (Colab): other bytes, the same picture, and each the picture of a full draw."""
    fig = new_figure(8, 3, ReusedFigure)
    first, second = run(falling(0.7), 0.1), run(falling(0.8), 0.2)
    draw(fig, first, [])
    fig.png()
    fig.start()
    draw(fig, second, [first])
    fast = fig.png()
    monkeypatch.setattr(redraw, "compress", zlib.compress)
    fig.start()
    draw(fig, second, [first])
    plain = fig.png()
    assert np.array_equal(pixels(fast), pixels(plain))
    assert differing(pixels(plain), full_draw(fig)) < 0.002
    assert Image.open(io.BytesIO(plain)).mode == "P"  # 256 colours: a third of the bytes


def test_isal_compresses_the_png_where_it_is_installed():
    pytest.importorskip("isal")  # the test extra installs it where it has wheels
    assert redraw.compress.__module__.startswith("isal")


def test_contour_lines_are_background_and_look_the_same_only_for_the_same_surface():
    looks = []
    for f, xlim in ((lambda a, b: a**2 + b**2, (-1, 1)), (lambda a, b: b**2 + a**2, (-1, 1)),
                    (lambda a, b: a**2 + 2 * b**2, (-1, 1)), (lambda a, b: a**2 + b**2, (-1, 2))):
        fig = new_figure(8, 3, ReusedFigure)
        ax = fig.subplots()
        plot.plot_contour(ax, f, xlim, (-1, 1))
        (contours,) = ax.collections
        assert contours not in redraw._foreground(fig)  # drawn with the background
        looks.append(redraw._background_look(contours))
    assert looks[0] == looks[1]  # the same values: its pixels are reused
    assert len(set(looks)) == 3  # another surface, or other limits: drawn again


def test_loss_limits_are_round_so_that_nearby_runs_share_them():
    assert [plot._round_125(v, down=True) for v in (0.03, 0.07, 1.0, 3.9)] == [0.02, 0.05, 1, 2]
    assert [plot._round_125(v, down=False) for v in (0.03, 0.07, 1.0, 3.9)] == [0.05, 0.1, 1, 5]
    limits = set()
    for rate in (0.7, 0.75, 0.8):  # faster or slower to the same floor
        fig = new_figure(4, 3)
        ax = fig.subplots()
        plot.plot_loss(ax, run(falling(rate), rate))
        limits.add(ax.get_ylim())
    assert len(limits) == 1


def test_a_fitted_figure_wraps_its_titles_and_lays_out_whole_in_classroom_type():
    from matplotlib import rc_context
    from panel_support import layout_problems

    from d2lmini import style

    def crowded(fit: bool) -> list[str]:
        with rc_context(style.params(classroom=True)):
            fig = new_figure(10, 3.6 * 1.35, ReusedFigure)
            fig.fit = fit
            for ax in fig.subplots(1, 3):
                ax.plot([0, 1e4], [1e-4, 100])
                ax.set(title="a title far longer than its plot is wide", ylabel="loss",
                       xlabel="steps", yscale="log")
            fig.png()
            return layout_problems(fig, style.params(classroom=True))

    found = crowded(fit=False)  # the checker sees what a reader would not be able to read
    assert any("title overlaps plot 2 title" in p for p in found), found
    assert any("cut off" in p for p in found), found
    assert crowded(fit=True) == []
