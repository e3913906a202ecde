
import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from d2lmini import History, plot

matplotlib.use("Agg")


def run(losses, batch=10, size=100, asked=None, **settings):
    """A History as train() leaves it: losses of steps of `batch` examples, `size` per epoch,
    `asked` epochs (by default as many as the losses fill)."""
    diverged = next((i + 1 for i, v in enumerate(losses) if not np.isfinite(v)), None)
    steps_per_epoch = -(-size // batch)
    return History(step_loss=list(losses), step_examples=[batch] * len(losses),
                   epoch_size=size, epochs=asked or -(-len(losses) // steps_per_epoch),
                   diverged_at=diverged, settings=settings)


def axes():
    fig = Figure()
    FigureCanvasAgg(fig)
    return fig.subplots()


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_ema_follows_the_recurrence():
    assert plot.ema([1.0, 2.0, 3.0], beta=0.5) == [1.0, 1.5, 2.25]
    assert plot.ema([4.0, 0.0], beta=0.0) == [4.0, 0.0]


def test_ema_rejects_bad_beta():
    with pytest.raises(ValueError, match="beta"):
        plot.ema([1.0], beta=1.0)


def test_names_and_settings_in_words():
    assert plot.words("test_acc") == "test accuracy" and plot.words("lr") == "learning rate"
    assert plot.words("some_new_metric") == "some new metric"
    assert plot.describe({"lr": 0.0316227, "batch_size": 97, "epochs": 3}) == (
        "learning rate 0.0316 · batch size 97 · 3 epochs")
    assert plot.describe({"epochs": 1, "full_set": True, "reduction": "sum"}) == (
        "1 epoch · full set on · reduction sum")
    assert plot.number(("SGD", "Adam")) == "SGD, Adam" and plot.number(()) == "none"
    assert plot.describe({"optimizers": ("SGD", 0.5)}) == "optimizers SGD, 0.5"
    assert [plot.number(v) for v in (3.0215, 6.32067e-05, 1.0, 1000, 0.1)] == [
        "3.02", "6.32e-05", "1", "1000", "0.1"]


def test_loss_is_drawn_against_epochs_so_batch_sizes_line_up():
    ax = axes()
    small = run([1.0] * 20, batch=10, batch_size=10)
    large = run([1.0] * 4, batch=50, batch_size=50)
    plot.plot_loss(ax, small, [large])
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["this run"].get_xdata()) == pytest.approx([0.1 * i for i in range(1, 21)])
    hidden = lines["batch 50 (hidden under this run)"]  # the same losses: under this run's curve
    assert list(hidden.get_xdata()) == pytest.approx([0.5, 1.0, 1.5, 2.0])
    assert ax.get_xlabel() == "epochs" and ax.get_xlim() == (-0.04, 2)  # a little room at 0


def test_the_loss_is_smoothed_over_a_tenth_of_an_epoch_with_the_raw_steps_faint_behind():
    fast = axes()  # a loss that halves each step: the average keeps up (log scale)
    plot.plot_loss(fast, run([0.5**i for i in range(80)], batch=1, size=100))
    smooth = fast.get_lines()[1].get_ydata()
    assert smooth[-1] / smooth[-2] == pytest.approx(0.5, rel=0.01)  # not beta: 0.9
    ax = axes()
    noisy = [1.0 + (-1) ** i * 0.5 for i in range(100)]  # 100 steps per epoch: beta 0.9
    plot.plot_loss(ax, run(noisy, batch=1, size=100))
    raw, smooth = ax.get_lines()
    assert list(raw.get_ydata()) == noisy and raw.get_alpha() < 0.5
    logs = plot.ema([np.log(v) for v in noisy], 0.9)  # the chapter 1 EMA, of log(loss)
    assert list(smooth.get_ydata()) == pytest.approx(np.exp(logs))
    assert smooth.get_linewidth() > raw.get_linewidth()
    full_batch = axes()  # one step per epoch: nothing to average, no faint copy
    plot.plot_loss(full_batch, run([3.0, 2.0, 1.0], batch=100, size=100))
    assert len(full_batch.get_lines()) == 1


def test_ghosts_are_labelled_by_what_differed_and_told_apart_by_colour():
    ax = axes()
    now = run([2.0, 1.0], lr=0.1, batch_size=10, epochs=2)
    ghosts = [run([2.0, 1.5], lr=0.3, batch_size=10, epochs=2),
              run([2.0, 1.2], lr=0.1, batch_size=8, epochs=2),
              run([2.0, 1.1], lr=0.3, batch_size=8, epochs=5)]
    plot.plot_loss(ax, now, ghosts)
    assert legend_texts(ax) == ["lr 0.3 · batch 8 · epochs 5", "batch 8", "lr 0.3", "this run"]
    colours = [to_rgb(line.get_color()) for line in ax.get_lines()[-4:]]
    assert len(set(colours)) == 4  # three ghosts and this run, each its own colour
    assert plot.difference(now, now) == "same settings"
    exploded = axes()
    plot.plot_loss(exploded, now, [run([2.0, float("inf")], lr=10.0, batch_size=10, epochs=2)])
    assert legend_texts(exploded) == ["lr 10 (diverged)", "this run"]  # often off the chart


def test_an_earlier_run_hidden_under_this_one_is_said_to_be_so():
    ax = axes()
    losses = [10 * 0.9**i for i in range(40)]
    now = run(losses, lr=0.1, batch_size=10)
    same = run([v * 1.01 for v in losses], lr=0.11, batch_size=10)  # 1% off: under the line
    apart = run([v * 1.2 for v in losses], lr=0.05, batch_size=10)  # 20% off: visible
    longer = run(losses * 2, lr=0.12, batch_size=10)  # the same, then on to the right
    plot.plot_loss(ax, now, [same, apart, longer])
    assert legend_texts(ax) == ["lr 0.12", "lr 0.05", "lr 0.11 (hidden under this run)",
                                "this run"]


def test_a_live_panel_takes_the_runs_legend_into_its_key():
    from d2lmini.machinery.panel import _take_runs_legend

    fig = Figure()
    ax_loss, ax_other = fig.subplots(1, 2)
    now = run([2.0, 1.0], lr=0.1, batch_size=10, epochs=2)
    plot.plot_loss(ax_loss, now, [run([2.0, 1.5], lr=0.3, batch_size=10, epochs=2),
                                  run([2.0, float("inf")], lr=10.0, batch_size=10, epochs=2)])
    ax_other.plot([0, 1], label="other")
    ax_other.legend()
    assert _take_runs_legend(fig) == [
        ("this run", plot.THIS_RUN, 1.0, "solid"),
        ("lr 10 (diverged)", plot.GHOST_COLORS[0], plot.GHOST["alpha"], "solid"),
        ("lr 0.3", plot.GHOST_COLORS[1], plot.GHOST["alpha"], "solid")]
    assert ax_loss.get_legend() is None and ax_other.get_legend() is not None  # runs' only


def test_in_classroom_mode_a_panel_takes_every_legend_into_its_key():
    from d2lmini.machinery.panel import _take_runs_legend

    fig = Figure()
    ax_lines, ax_bars = fig.subplots(1, 2)
    ax_lines.plot([0, 1], "--", color="C3", label="validation")
    ax_lines.legend()
    ax_bars.bar([0, 1], [1, 2], color="0.5", label="true")
    ax_bars.legend()
    assert _take_runs_legend(fig) == []  # no runs' legend: the others stay in the figure
    assert _take_runs_legend(fig, every=True) == [
        ("validation", "C3", 1.0, "dashed"), ("true", (0.5, 0.5, 0.5, 1.0), 1.0, "box")]
    assert ax_lines.get_legend() is None and ax_bars.get_legend() is None


def test_axes_fit_this_run_and_ghosts_are_clipped():
    ax = axes()
    now = run([10 * 0.9**i for i in range(10)], batch=10, size=100)  # one epoch, 10 .. 3.9
    huge = run([1e4 * 0.5**i for i in range(300)], batch=1, size=100)  # 3 epochs, 1e4 .. 0
    plot.plot_loss(ax, now, [huge])
    assert ax.get_xlim()[1] == 1  # the current run's one epoch, not the ghost's three
    low, high = ax.get_ylim()
    assert 1 < low < 3.9 and 10 < high < 100


def test_no_legend_for_a_single_run():
    ax = axes()
    plot.plot_loss(ax, run([2.0, 1.0]))
    assert ax.get_legend() is None


def test_divergence_is_said_once_where_the_run_left_and_not_over_the_legend():
    fig = Figure(figsize=(5, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    exploded = run([20.0, 50.0, 1e3, 1e6, 1e12, float("inf")], lr=10.0)
    calm = [run([20 * 0.9**i for i in range(30)], lr=lr) for lr in (0.01, 0.1, 0.5)]
    plot.plot_loss(ax, exploded, calm)
    (text,) = ax.texts
    assert ax.get_lines()[-1].get_marker() == "o"  # five steps: each one a dot
    assert text.get_text() == "diverged at step 6:\nthe learning rate is too large"
    assert text.get_position()[1] > 0.9  # at the top, where the curve leaves the chart
    assert len(ax.get_lines()[-1].get_ydata()) == 5  # finite steps only
    assert ax.get_ylim()[1] == pytest.approx(200)  # its start, and room to leave through the top
    renderer = fig.canvas.get_renderer()
    box = text.get_bbox_patch().get_window_extent(renderer)
    legend = ax.get_legend().get_window_extent(renderer)
    assert not box.overlaps(legend)


def visible_tick_labels(ax):
    ax.figure.canvas.draw()
    low, high = ax.get_ylim()
    return [t.get_text() for t in ax.get_yticklabels() if low <= t.get_position()[1] <= high]


def test_loss_axis_has_labels_however_many_decades_it_spans():
    for top in (2.0, 1e3, 1e40):
        ax = axes()
        plot.plot_loss(ax, run([top, 1.0], batch=100, size=100))
        assert len(visible_tick_labels(ax)) >= 2, top


def test_accuracy_is_on_a_fixed_0_to_1_axis_with_names_in_words():
    ax = axes()
    plot.plot_metrics(ax, History(metrics={"train_acc": [0.5, 0.7], "test_acc": [0.4, 0.6]},
                                  epochs=5))
    assert legend_texts(ax) == ["train accuracy", "test accuracy"]
    assert ax.get_ylim() == (0, 1) and ax.get_ylabel() == "accuracy"
    assert ax.get_xlim() == (0, 5)  # the epochs asked for: the curves grow into it


def test_metrics_keep_earlier_runs_and_no_empty_legend_when_this_one_diverged_early():
    ax = axes()
    earlier = History(metrics={"test_acc": [0.5, 0.7]}, settings={"lr": 0.1})
    plot.plot_metrics(ax, History(step_loss=[float("inf")], diverged_at=1, epochs=2,
                                  settings={"lr": 10.0}), [earlier])
    assert [list(line.get_ydata()) for line in ax.get_lines()] == [[0.5, 0.7], []]
    assert legend_texts(ax) == ["test accuracy"]  # which line style is which metric
    assert not ax.texts  # plot_loss says why this run has no accuracy, not here
    nothing = axes()
    plot.plot_metrics(nothing, History(step_loss=[float("inf")], diverged_at=1, epochs=2))
    assert nothing.get_legend() is None  # never an empty legend
    assert all(float(t).is_integer() for t in ax.get_xticks())


def test_contour_and_path():
    ax = axes()
    plot.plot_contour(ax, lambda a, b: a**2 + b**2, (-1, 1), (-1, 1))
    plot.plot_path(ax, [(0.5, 0.5), (0.1, 0.1)], ghosts=[[(1, 1)]], target=(0, 0))
    assert ax.get_xlim() == (-1, 1)
    ghost, path = ax.get_lines()[:2]
    assert np.allclose(path.get_xdata(), [0.5, 0.1])
    assert to_rgb(ghost.get_color()) == to_rgb(plot.GHOST_COLORS[0])  # as in plot_loss


def test_show_images_titles():
    fig = plot.show_images(np.zeros((3, 28, 28)), 1, 4, titles=["a", "b", "c"])
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]


def test_log_ticks_use_1_2_5_where_there_is_room_and_powers_of_ten_where_not():
    from d2lmini.plot import log_ticks

    def labels(height):
        fig = Figure(figsize=(4, height))
        ax = fig.subplots()
        ax.set_yscale("log")
        ax.set_ylim(0.005, 2)  # 2.6 decades
        log_ticks(ax.yaxis, 0.005, 2)
        fig.canvas.draw()
        return [ax.yaxis.get_major_formatter()(v) for v in ax.yaxis.get_majorticklocs()
                if 0.005 <= v <= 2]  # the ticks in view

    assert labels(6) == ["0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"]
    assert labels(1.5) == ["0.01", "0.1", "1"]  # 9 labels would run into each other
