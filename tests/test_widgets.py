"""The live panel's logic, without a browser: setting slider values from Python runs the
same path as a drag in JupyterLab."""

import threading
import time

import pytest
import torch
from matplotlib.figure import Figure

import d2lmini
from d2lmini import plot
from d2lmini.train import History


def linreg_train(lr, batch_size, epochs):
    """The chapter 1 panel's train function, in small."""
    d2lmini.set_seed(0)
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 200)
    w = torch.normal(0, 0.01, (2, 1), requires_grad=True, device=X.device)
    b = torch.zeros(1, requires_grad=True, device=X.device)
    return d2lmini.train(lambda X: d2lmini.linreg(X, w, b), d2lmini.squared_loss,
                         lambda n: d2lmini.sgd([w, b], lr, n), d2lmini.Batches(X, y, batch_size),
                         epochs, record=lambda: w.detach().flatten().tolist(), progress=False)


def draw(fig, history, ghosts):
    ax1, ax2 = fig.subplots(1, 2)
    plot.plot_loss(ax1, history, ghosts)
    plot.plot_path(ax2, history.trace, [g.trace for g in ghosts], target=(2, -3.4))


def make_panel(train=linreg_train, draw=draw, **kwargs):
    return d2lmini.LivePanel(train, draw, {
        "lr": d2lmini.lr_slider(0.03),
        "batch_size": d2lmini.int_slider("batch size", 10, 1, 200),
        "epochs": d2lmini.int_slider("epochs", 2, 1, 20),
    }, **kwargs)


def set_and_wait(panel, name, value):
    panel.controls[name].value = value
    assert panel.wait(30), "the panel's run did not finish"


def test_default_run_is_drawn_before_the_panel_is_shown():
    panel = make_panel()
    assert panel.runs == 1 and panel.png.startswith(b"\x89PNG")
    assert panel.history.settings == {"lr": 0.03, "batch_size": 10, "epochs": 2}
    assert panel.status.value.startswith("lr=0.03 · batch_size=10 · epochs=2 — final loss")
    (output,) = panel.figure.outputs
    assert output["data"]["image/png"]  # the figure is in the Output widget, as a PNG


def test_panel_has_the_css_classes_the_browser_test_relies_on():
    panel = make_panel()
    assert "d2lmini-panel" in panel.box._dom_classes
    assert "d2lmini-status" in panel.status._dom_classes
    assert "d2lmini-figure" in panel.figure._dom_classes
    for name, control in panel.controls.items():
        assert f"d2lmini-slider-{name}" in control._dom_classes
        assert control.continuous_update is False  # retrain on release, not on every pixel


def test_moving_a_slider_retrains_and_redraws_with_earlier_runs_faded():
    panel = make_panel()
    first_png, first = panel.png, panel.history
    set_and_wait(panel, "lr", 0.1)
    assert panel.runs == 2 and panel.png != first_png
    assert panel.history.settings["lr"] == pytest.approx(0.1)
    assert panel.ghosts == [first]
    set_and_wait(panel, "batch_size", 50)
    assert panel.history.settings["batch_size"] == 50
    assert len(panel.history.step_loss) == 2 * 4  # 200 examples / 50, 2 epochs


def test_only_the_last_few_runs_stay_as_ghosts():
    panel = make_panel(keep=2)
    for epochs in (3, 4, 5, 6):
        set_and_wait(panel, "epochs", epochs)
    assert [g.settings["epochs"] for g in panel.ghosts] == [4, 5]


def test_a_diverging_run_shows_the_message_and_the_panel_recovers():
    panel = make_panel()
    set_and_wait(panel, "lr", 10.0)
    assert panel.history.diverged
    assert "diverged at step" in panel.status.value
    assert "the learning rate is too large" in panel.status.value
    set_and_wait(panel, "lr", 0.05)
    assert not panel.history.diverged and "final loss" in panel.status.value


def test_rapid_changes_leave_at_most_one_waiting_run_and_end_on_the_last_value():
    started, release = [], threading.Event()

    def slow_train(**settings):
        started.append(settings)
        if len(started) == 2:  # hold the first slider-triggered run while the slider moves on
            release.wait(10)
        return linreg_train(**settings)

    panel = make_panel(train=slow_train)
    lrs = [0.01 * k for k in range(1, 21)]
    panel.controls["lr"].value = lrs[0]
    time.sleep(0.05)  # the worker picks up the first change and blocks in slow_train
    for lr in lrs[1:]:
        panel.controls["lr"].value = lr
    assert panel._pending is not None and panel._pending["lr"] == pytest.approx(lrs[-1])
    release.set()
    assert panel.wait(30)
    # the default run, the first change, and only the newest of the 19 changes that queued
    assert [s["lr"] for s in started] == pytest.approx([0.03, lrs[0], lrs[-1]])
    assert panel.history.settings["lr"] == pytest.approx(lrs[-1])
    assert panel.status.value.startswith("lr=0.2 ")


def test_a_failing_train_function_is_shown_not_raised():
    calls = []

    def flaky_train(**settings):
        calls.append(settings)
        if settings["lr"] > 1:
            raise RuntimeError("boom")
        return linreg_train(**settings)

    panel = make_panel(train=flaky_train)
    good_png = panel.png
    set_and_wait(panel, "lr", 5.0)
    assert panel.error == "RuntimeError: boom"
    assert "error:" in panel.status.value and "boom" in panel.status.value
    assert panel.png == good_png  # the last good figure stays
    set_and_wait(panel, "lr", 0.05)
    assert panel.error is None and "final loss" in panel.status.value


def test_extra_controls_reach_the_train_function():
    import ipywidgets

    seen = []

    def train(lr, reduction):
        seen.append(reduction)
        return History(step_loss=[1.0, 0.5], epoch_loss=[0.5])

    panel = d2lmini.LivePanel(train, draw, {
        "lr": d2lmini.lr_slider(),
        "reduction": ipywidgets.Dropdown(options=["mean", "sum"], value="mean"),
    })
    set_and_wait(panel, "reduction", "sum")
    assert seen == ["mean", "sum"]
    assert "reduction=sum" in panel.status.value


def test_error_text_is_escaped_in_the_status():
    def train(lr):
        raise ValueError("<script>")

    panel = d2lmini.LivePanel(train, draw, {"lr": d2lmini.lr_slider()})
    assert "&lt;script&gt;" in panel.status.value and "<script>" not in panel.status.value


def test_redraws_reuse_the_axes_without_piling_up_artists():
    panel = make_panel()
    axes = panel._figure.axes
    for lr in (0.05, 10.0, 0.04):
        set_and_wait(panel, "lr", lr)
    assert panel._figure.axes == axes  # the same two axes, not new ones per run
    loss_ax = axes[0]
    assert len(loss_ax.lines) == 1 + len(panel.ghosts)  # this run + the faded ones
    assert len(loss_ax.texts) == 0  # the divergence message of the lr=10 run is gone
    fresh = Figure()
    draw(fresh, panel.history, panel.ghosts)
    for reused_ax, fresh_ax in zip(axes, fresh.axes):  # no limits stick from earlier runs
        assert reused_ax.get_ylim() == pytest.approx(fresh_ax.get_ylim())
        assert reused_ax.get_xlim() == pytest.approx(fresh_ax.get_xlim())


def test_a_draw_that_adds_its_own_axes_does_not_pile_them_up():
    def draw_with_twin(fig, history, ghosts):
        ax = fig.subplots()
        ax.plot(history.step_loss)
        ax.twinx().plot(history.step_loss[::-1])

    panel = d2lmini.LivePanel(linreg_train, draw_with_twin, {
        "lr": d2lmini.lr_slider(), "batch_size": d2lmini.int_slider("b", 10, 1, 200),
        "epochs": d2lmini.int_slider("e", 1, 1, 5)})
    for lr in (0.05, 0.06):
        set_and_wait(panel, "lr", lr)
    assert len(panel._figure.axes) == 2


def test_panel_figure_keeps_room_for_axis_labels():
    panel = make_panel()  # its draw calls fig.subplots, which clears the figure the first time
    set_and_wait(panel, "lr", 0.05)
    width, height = panel.figsize
    assert panel._figure.subplotpars.bottom == pytest.approx(0.6 / height)
    assert panel._figure.subplotpars.left == pytest.approx(0.8 / width)


def test_a_legend_lists_each_series_once_however_many_redraws():
    def draw_bars(fig, history, ghosts):
        ax = fig.subplots()
        ax.bar([0, 1], [1.0, 2.0], label="true")
        ax.bar([0, 1], history.step_loss[:2], label="learned")
        ax.legend(loc="lower right")

    panel = make_panel(draw=draw_bars)
    for lr in (0.05, 0.06, 0.05):
        set_and_wait(panel, "lr", lr)
    (ax,) = panel._figure.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["true", "learned"]
    assert len(ax.patches) == 4
