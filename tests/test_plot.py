import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from d2lmini import plot
from d2lmini.train import History

matplotlib.use("Agg")


def test_ema_follows_the_recurrence():
    assert plot.ema([1.0, 2.0, 3.0], beta=0.5) == [1.0, 1.5, 2.25]
    assert plot.ema([4.0, 0.0], beta=0.0) == [4.0, 0.0]


def test_ema_rejects_bad_beta():
    with pytest.raises(ValueError, match="beta"):
        plot.ema([1.0], beta=1.0)


def test_plot_loss_draws_current_bold_and_ghosts_faded():
    fig = Figure()
    ax = fig.subplots()
    now, old = History(step_loss=[1.0, 0.5]), History(step_loss=[2.0, 1.0])
    plot.plot_loss(ax, now, [old])
    lines = ax.get_lines()
    assert len(lines) == 2
    assert lines[0].get_alpha() < lines[1].get_alpha()
    assert list(lines[1].get_ydata()) == [1.0, 0.5]


def test_divergence_is_said_and_non_finite_points_are_not_drawn():
    fig = Figure()
    ax = fig.subplots()
    history = History(step_loss=[1.0, 1e10, float("inf")], diverged_at=3)
    plot.plot_loss(ax, history)
    assert list(ax.get_lines()[0].get_ydata()) == [1.0, 1e10]
    assert "diverged at step 3" in " ".join(t.get_text() for t in ax.texts)
    assert plot.figure_png(fig).startswith(b"\x89PNG")


def visible_tick_labels(ax):
    ax.figure.canvas.draw()
    low, high = ax.get_ylim()
    return [t.get_text() for t in ax.get_yticklabels() if low <= t.get_position()[1] <= high]


def test_a_diverged_earlier_run_does_not_flatten_this_one():
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    now = History(step_loss=[20 * 0.95**i for i in range(200)])  # 20 down to 0.0007
    exploded = History(step_loss=[20 * 100.0**i for i in range(20)] + [float("inf")],
                       diverged_at=21)
    plot.plot_loss(ax, now, [exploded])
    low, high = ax.get_ylim()
    assert low < min(now.step_loss) and 20 < high < 1e4  # not up to 1e39
    assert len(visible_tick_labels(ax)) >= 4


def test_loss_axis_has_labels_however_many_decades_it_spans():
    for top in (2.0, 1e3, 1e40):
        fig = Figure()
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        plot.plot_loss(ax, History(step_loss=[top, 1.0]))
        assert len(visible_tick_labels(ax)) >= 2, top


def test_contour_and_path():
    fig = Figure()
    ax = fig.subplots()
    plot.plot_contour(ax, lambda a, b: a**2 + b**2, (-1, 1), (-1, 1))
    plot.plot_path(ax, [(0.5, 0.5), (0.1, 0.1)], ghosts=[[(1, 1)]], target=(0, 0))
    assert ax.get_xlim() == (-1, 1)
    assert np.allclose(ax.get_lines()[1].get_xdata(), [0.5, 0.1])


def test_plot_metrics_labels_each_metric():
    fig = Figure()
    ax = fig.subplots()
    plot.plot_metrics(ax, History(metrics={"train_acc": [0.5, 0.7], "test_acc": [0.4, 0.6]}))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train_acc", "test_acc"]


def test_show_images_titles():
    fig = plot.show_images(np.zeros((3, 28, 28)), 1, 4, titles=["a", "b", "c"])
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]


def test_plot_metrics_keeps_earlier_runs_when_this_one_diverged_early():
    fig = Figure()
    ax = fig.subplots()
    earlier = History(metrics={"test_acc": [0.5, 0.7]})
    plot.plot_metrics(ax, History(step_loss=[float("inf")], diverged_at=1), [earlier])
    assert [list(line.get_ydata()) for line in ax.get_lines()][0] == [0.5, 0.7]
    assert all(float(t).is_integer() for t in ax.get_xticks())


def test_figure_png_keeps_a_figure_free_of_layout_engines_set_in_rcparams():
    with matplotlib.rc_context({"figure.constrained_layout.use": True}):
        fig = Figure(layout="none")
        fig.subplots()
        plot.figure_png(fig)
        plot.figure_png(fig)
        assert fig.get_layout_engine() is None
