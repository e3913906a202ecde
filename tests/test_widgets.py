"""The live panel's logic, without a browser: setting a control's value from Python runs the
same path as a drag in JupyterLab. Every behaviour is checked in both modes: runs in a thread
of the panel's own (background=True) and runs in the change handler (background=False, Colab)."""

import base64
import gc
import io
import sys
import threading
import time
import types

import ipywidgets
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from panel_support import key_labels, wait_until
from PIL import Image

import d2lmini
from d2lmini import History, plot
from d2lmini.machinery import panel as widgets
from d2lmini.machinery.controls import batch_slider, int_slider, lr_slider
from d2lmini.machinery.panel import LivePanel

MODES = [pytest.param(True, id="background"), pytest.param(False, id="main-thread")]


def linreg_train(lr, batch_size, epochs, slow=0.0, n=200):
    """The chapter 1 panel's train function, in small (slow: seconds added to each step)."""
    d2lmini.set_seed(0)
    X, y = d2lmini.synthetic_data(torch.tensor([2, -3.4]), 4.2, n)
    w = torch.normal(0, 0.01, (2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    def update(batch):
        d2lmini.sgd([w, b], lr, batch)
        if slow:
            time.sleep(slow)

    return d2lmini.train(lambda X: d2lmini.linreg(X, w, b), d2lmini.squared_loss, update,
                         d2lmini.Batches(X, y, batch_size), epochs,
                         record=lambda: w.detach().flatten().tolist(), progress=False)


def draw(fig, history, ghosts):
    ax1, ax2 = fig.subplots(1, 2)
    plot.plot_loss(ax1, history, ghosts)
    plot.plot_path(ax2, history.trace, [g.trace for g in ghosts], target=(2, -3.4))


def make_panel(train=linreg_train, draw=draw, background=True, **kwargs):
    return LivePanel(train, draw, {
        "lr": lr_slider(0.03),
        "batch_size": batch_slider(10, 200, also=[50]),
        "epochs": int_slider("epochs", 2, 1, 20),
    }, background=background, **kwargs)


def set_and_wait(panel, name, value):
    panel.controls[name].value = value
    assert panel.wait(30), "the panel's run did not finish"


def status(panel):
    """The status line's text, without its HTML."""
    return panel.status.value.split(">", 1)[1].rsplit("<", 1)[0]


def widget_count():
    """How many widgets ipywidgets keeps alive (its registry), in ipywidgets 7 and 8."""
    registry = getattr(ipywidgets.widgets.widget, "_instances", None)
    return len(registry if registry is not None else ipywidgets.Widget.widgets)


# ------------------------------------------------------------------------------ controls

def test_lr_slider_offers_1_2_5_values_and_the_default():
    slider = lr_slider(0.03, 1e-3, 10)
    assert [v for _, v in slider.options] == [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05,
                                              0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]
    assert slider.value == 0.03 and slider.label == "0.03"
    assert lr_slider(0.1, 0.01, 1, also=[0.3]).options[5] == ("0.3", 0.3)


def test_batch_slider_offers_powers_of_two_up_to_the_data_size():
    slider = batch_slider(10, 1000)
    assert [v for _, v in slider.options] == [1, 2, 4, 8, 10, 16, 32, 64, 128, 256, 512, 1000]
    assert slider.value == 10 and all(isinstance(v, int) for _, v in slider.options)
    assert 8 in [v for _, v in batch_slider(256, 5000).options]  # "try batch size 8"


def test_choice_slider_offers_the_given_values_as_people_write_them():
    slider = d2lmini.choice_slider("λ", 0, [0, 1e-4, 1e-3, 0.01])
    assert slider.options == (("0", 0), ("0.0001", 0.0001), ("0.001", 0.001), ("0.01", 0.01))
    assert slider.value == 0 and slider.description == "λ"


@pytest.mark.parametrize("call, words", [
    (lambda: lr_slider(20.0), "outside"),
    (lambda: d2lmini.choice_slider("dropout", 0.95, [0, 0.5, 0.9]), "one of the options"),
    (lambda: lr_slider(0.1, 0, 1), "0 < low < high"),
    (lambda: batch_slider(0, 100), "whole number"),
    (lambda: batch_slider(10, 5), "whole number"),
    (lambda: batch_slider(2.5, 100), "whole number"),
])
def test_sliders_reject_values_they_cannot_offer(call, words):
    with pytest.raises(ValueError, match=words):
        call()


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# ------------------------------------------------------------------------------ both modes

@pytest.mark.parametrize("background", MODES)
def test_default_run_is_drawn_before_the_panel_is_shown(background):
    panel = make_panel(background=background)
    assert panel.runs == 1 and panel.png.startswith(b"\x89PNG")
    assert panel.image.value == panel.png
    assert np.array_equal(pixels(panel.static_png), pixels(panel.png))  # the same figure,
    assert len(panel.static_png) < len(panel.png)  # in fewer bytes for the notebook file
    assert panel.history.settings == {"lr": 0.03, "batch_size": 10, "epochs": 2}
    assert status(panel).startswith("learning rate 0.03 · batch size 10 · 2 epochs — final loss")
    assert "(40 steps, " in status(panel)


def test_status_line_is_in_words_with_3_significant_digits():
    panel = make_panel()
    set_and_wait(panel, "lr", 0.05)
    text = status(panel)
    head, end = text.split(" — ")
    assert head == "learning rate 0.05 · batch size 10 · 2 epochs"
    loss = end.split("final loss ")[1].split(" ")[0]
    assert float(loss) == pytest.approx(panel.history.epoch_loss[-1], rel=5e-3)
    assert len(loss.replace("0.", "").replace("e-05", "").lstrip("0").replace(".", "")) <= 3


@pytest.mark.parametrize("background", MODES)
def test_moving_a_slider_retrains_and_keeps_the_run_before_as_a_ghost(background):
    panel = make_panel(background=background)
    first_png, first = panel.png, panel.history
    set_and_wait(panel, "lr", 0.1)
    assert panel.runs == 2 and panel.png != first_png and panel.image.value == panel.png
    assert panel.history.settings["lr"] == 0.1
    assert panel.ghosts == [first]
    set_and_wait(panel, "batch_size", 50)
    assert len(panel.history.step_loss) == 2 * 4  # 200 examples / 50, 2 epochs
    assert key_labels(panel) == ["this run", "batch 10", "lr 0.03 · batch 10"]  # newest first
    assert panel._figure.axes[0].get_legend() is None  # the key says it, above the figure


def test_the_key_shows_each_run_in_the_colour_of_its_curve_larger_in_classroom_mode():
    panel = make_panel()
    set_and_wait(panel, "lr", 0.1)
    lines = {line.get_label(): line.get_color() for line in panel._figure.axes[0].get_lines()}
    key = panel.key.value
    for label in ("this run", "lr 0.03"):  # each label right after a line in its curve's colour
        assert f"{to_hex(lines[label])}; opacity: " in key.split(f"</span> {label}<")[0][-40:]
    assert "font-size: 1em" in key
    d2lmini.style.set_classroom()
    try:
        big = make_panel()
        set_and_wait(big, "lr", 0.1)
        assert "font-size: 1.5em" in big.key.value
    finally:
        d2lmini.style.set_classroom(False)


def test_mode_follows_the_environment(monkeypatch):
    assert make_panel(background=None).background is True
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    panel = make_panel(background=None)
    assert panel.background is False
    assert "d2lmini-main-thread" in panel.box._dom_classes
    assert make_panel(background=True).background is True  # forced


def test_main_thread_mode_trains_in_the_change_handler_without_threads():
    panel = make_panel(background=False)
    seen = []
    panel.train = lambda **s: (seen.append(threading.current_thread()), linreg_train(**s))[1]
    threads = threading.active_count()
    panel.controls["lr"].value = 0.1  # returns when the new figure is there
    assert seen == [threading.main_thread()] and panel.history.settings["lr"] == 0.1
    assert threading.active_count() == threads and panel._worker is None


@pytest.mark.parametrize("background", MODES)
def test_the_same_settings_again_do_not_pile_up_as_ghosts(background):
    panel = make_panel(keep=2, background=background)
    for epochs in (3, 4, 3, 4, 5, 6):
        set_and_wait(panel, "epochs", epochs)
    assert [g.settings["epochs"] for g in panel.ghosts] == [4, 5]  # the last 2, each once
    set_and_wait(panel, "epochs", 5)
    assert [g.settings["epochs"] for g in panel.ghosts] == [4, 6]  # not 5: that is this run


@pytest.mark.parametrize("background", MODES)
def test_values_a_drag_passes_over_are_not_kept_as_earlier_runs(background, monkeypatch):
    panel = make_panel(background=background, follow_drag=True)
    clock = [100.0]  # the panel's clock, moved by hand: a drag sends values 0.05 s apart
    monkeypatch.setattr(widgets.time, "monotonic", lambda: clock[0])
    panel._latest_at = clock[0] - 60  # the default run was shown a minute ago: chosen
    for lr, pause in ((0.05, 0.05), (0.1, 0.05), (0.2, 5.0), (0.5, 0.05), (1.0, 1.0)):
        set_and_wait(panel, "lr", lr)  # 0.05, 0.1 and 0.5 passed over; 0.2 and 1 chosen
        clock[0] += pause
    set_and_wait(panel, "lr", 0.01)
    assert [g.settings["lr"] for g in panel.ghosts] == [0.03, 0.2, 1.0]
    assert key_labels(panel) == ["this run", "lr 1", "lr 0.2", "lr 0.03"]
    released = make_panel(background=background)  # retrains on release: each value chosen
    for lr in (0.05, 0.1):
        set_and_wait(released, "lr", lr)
    assert [g.settings["lr"] for g in released.ghosts] == [0.03, 0.05]


@pytest.mark.parametrize("background", MODES)
def test_the_forget_button_clears_the_ghosts_and_redraws(background):
    panel = make_panel(background=background)
    set_and_wait(panel, "lr", 0.1)
    with_ghost = panel.png
    panel.forget_button.click()
    assert panel.wait(30)
    assert panel.ghosts == [] and panel.png != with_ghost
    assert key_labels(panel) == []  # one run: nothing to tell apart
    set_and_wait(panel, "lr", 0.2)
    assert [g.settings["lr"] for g in panel.ghosts] == [0.1]


@pytest.mark.parametrize("background", MODES)
def test_a_diverging_run_is_explained_once_and_the_panel_recovers(background):
    panel = make_panel(background=background)
    set_and_wait(panel, "lr", 10.0)
    assert panel.history.diverged
    assert "diverged at step" in status(panel) and "learning rate is too large" in status(panel)
    messages = [t for ax in panel._figure.axes for t in ax.texts]
    assert len(messages) == 1 and "diverged at step" in messages[0].get_text()
    set_and_wait(panel, "lr", 0.05)
    assert not panel.history.diverged and "final loss" in status(panel)
    assert not [t for ax in panel._figure.axes for t in ax.texts]


@pytest.mark.parametrize("background", MODES)
@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(), SystemExit(3)])
def test_anything_raised_by_train_is_said_and_the_panel_stays_usable(background, error):
    def failing(**settings):
        if settings["lr"] > 1:
            raise error
        return linreg_train(**settings)

    panel = make_panel(train=failing, background=background)
    good = panel.png
    set_and_wait(panel, "lr", 5.0)
    assert panel.error.startswith(type(error).__name__)
    assert type(error).__name__ in status(panel) and "training" not in status(panel)
    assert ("error:" if isinstance(error, Exception) else "stopped:") in status(panel)
    assert "failing" in panel.traceback  # where it happened, for print(panel.traceback)
    assert "print(panel.traceback) shows where" in status(panel)
    assert panel.png == good  # the last good figure stays, marked as the earlier run's
    assert "figure below is still the earlier run's (learning rate 0.03 · " in status(panel)
    assert panel.image.layout.border == widgets.STALE_BORDER
    set_and_wait(panel, "lr", 0.05)
    assert panel.error is None and "final loss" in status(panel)
    assert not panel.image.layout.border  # a figure of the settings shown: no longer marked


@pytest.mark.parametrize("background", MODES)
def test_anything_raised_by_draw_is_said_and_the_panel_stays_usable(background):
    def fragile(fig, history, ghosts):
        if history.settings["lr"] > 1:
            raise KeyboardInterrupt
        draw(fig, history, ghosts)

    panel = make_panel(draw=fragile, background=background)
    set_and_wait(panel, "lr", 5.0)
    assert "stopped:" in status(panel) and "KeyboardInterrupt" in status(panel)
    set_and_wait(panel, "lr", 0.05)
    assert "final loss" in status(panel) and panel.history.settings["lr"] == 0.05


def test_a_train_function_must_return_a_history():
    panel = LivePanel(lambda lr: 1.0, draw, {"lr": lr_slider()})
    assert "must return a d2lmini History, got float" in status(panel)


def test_extra_controls_reach_the_train_function_and_the_status_in_words():
    seen = []

    def train(lr, reduction, full_set):
        seen.append((reduction, full_set))
        return History(step_loss=[1.0, 0.5], epoch_loss=[0.5], step_examples=[1, 1],
                       epoch_size=2, epochs=1)

    panel = LivePanel(train, draw, {
        "lr": lr_slider(),
        "reduction": ipywidgets.Dropdown(options=["mean", "sum"], value="mean"),
        "full_set": ipywidgets.Checkbox(value=False),
    })
    set_and_wait(panel, "reduction", "sum")
    set_and_wait(panel, "full_set", True)
    assert seen == [("mean", False), ("sum", False), ("sum", True)]
    assert status(panel).startswith("learning rate 0.03 · reduction sum · full set on — ")


@pytest.mark.parametrize("background", MODES)
def test_an_error_names_the_panel_as_the_notebook_calls_it(background):
    from IPython.core.interactiveshell import InteractiveShell

    def train(lr, batch_size, epochs):
        if lr > 1:
            raise ValueError("tick at least one optimizer to race")
        return linreg_train(lr, batch_size, epochs)

    shell = InteractiveShell.instance()
    surface_panel = make_panel(train=train, background=background)
    shell.user_ns["surface_panel"] = surface_panel
    try:
        surface_panel.controls["lr"].value = 5.0
        assert surface_panel.wait(30)
        line = status(surface_panel)
        assert "<b>error:</b> ValueError: tick at least one optimizer to race." in line
        assert "print(surface_panel.traceback) shows where" in line
    finally:
        del shell.user_ns["surface_panel"]
        surface_panel.close()


def test_a_failing_default_run_marks_no_figure():
    def train(lr):
        raise ValueError("no data")

    panel = LivePanel(train, draw, {"lr": lr_slider()})
    assert "earlier run" not in status(panel) and not panel.image.layout.border


def test_error_text_is_escaped_in_the_status():
    def train(lr):
        raise ValueError("<script>")

    panel = LivePanel(train, draw, {"lr": lr_slider()})
    assert "&lt;script&gt;" in panel.status.value and "<script>" not in panel.status.value


# ------------------------------------------------------------------------------ giving way

def held_train(release, started):
    """A train function whose second run (the first one a change starts) waits for release."""
    def train(**settings):
        started.append(settings)
        if len(started) == 2:
            release.wait(10)
        return linreg_train(**settings)
    return train


def test_rapid_changes_leave_at_most_one_waiting_run_and_end_on_the_last_value():
    started, release = [], threading.Event()
    panel = make_panel(train=held_train(release, started))
    lrs = [v for _, v in panel.controls["lr"].options][:12]
    panel.controls["lr"].value = lrs[0]
    wait_until(lambda: len(started) >= 2, "the first change's run starting")  # and held
    for lr in lrs[1:]:
        panel.controls["lr"].value = lr
    assert panel._pending["lr"] == lrs[-1]
    release.set()
    assert panel.wait(30)
    # the default run, the first change (stopped), and only the newest of those that queued
    assert [s["lr"] for s in started] == [0.03, lrs[0], lrs[-1]]
    assert panel.history.settings["lr"] == lrs[-1] and panel.superseded == 1
    assert status(panel).startswith(f"learning rate {plot.number(lrs[-1])} ")


def test_the_status_says_training_while_a_queued_run_trains():
    started, release = [], threading.Event()
    panel = make_panel(train=held_train(release, started))
    panel.controls["lr"].value = 0.1
    wait_until(lambda: len(started) >= 2, "the first change's run starting")
    assert status(panel) == "learning rate 0.1 · batch size 10 · 2 epochs — training…"
    panel.controls["lr"].value = 0.2  # queued behind the held run
    assert status(panel) == "learning rate 0.2 · batch size 10 · 2 epochs — training…"
    seen = []
    panel.status.observe(lambda change: seen.append(change["new"]), names="value")
    release.set()
    assert panel.wait(30)
    texts = [s.split(">", 1)[1] for s in seen]
    assert not any(t.startswith("learning rate 0.1 ") for t in texts)  # never the stale result
    assert texts[-1].startswith("learning rate 0.2 ") and "final loss" in texts[-1]


@pytest.mark.parametrize("background", MODES)
def test_a_newer_change_stops_the_current_run_at_its_next_step(background):
    steps = []  # (lr, steps so far) each time train reports progress
    panel = make_panel(background=background)

    def watched_train(**settings):
        def progress(history):
            steps.append((settings["lr"], len(history.step_loss)))
            if not background and settings["lr"] == 0.1 and len(history.step_loss) == 5:
                panel.controls["lr"].value = 0.2  # a change arriving while the run trains

        with d2lmini.watch(progress):
            return linreg_train(**settings, slow=0.01)

    panel.train = watched_train
    panel.controls["lr"].value = 0.1
    if background:  # the run goes on in its thread: change from here, midway
        wait_until(lambda: any(lr == 0.1 and n >= 5 for lr, n in steps),
                   "5 steps of the run at lr 0.1")
        panel.controls["lr"].value = 0.2
    assert panel.wait(30)
    assert max(n for lr, n in steps if lr == 0.1) < 20, "the replaced run went on"  # of 40
    assert max(n for lr, n in steps if lr == 0.2) == 40  # the new run ran to its end
    assert panel.history.settings["lr"] == 0.2 and panel.superseded == 1
    assert panel.ghosts[-1].settings["lr"] == 0.03  # a stopped run is no ghost


# ------------------------------------------------------------------------------ streaming

@pytest.mark.parametrize("background", MODES)
def test_a_long_run_is_drawn_as_it_grows_with_its_epoch(background, monkeypatch):
    monkeypatch.setattr(widgets, "FIRST_FRAME", 0.0)  # every run counts as long
    monkeypatch.setattr(widgets, "FRAME_GAP", 0.0)  # and a frame after every step
    monkeypatch.setattr(widgets, "FRAME_SHARE", 0.0)
    panel = make_panel(background=background)
    panel.controls["batch_size"].value = 50  # 4 steps an epoch
    assert panel.wait(30)
    frames, statuses = [], []
    panel.image.observe(lambda change: frames.append(bytes(change["new"])), names="value")
    panel.status.observe(lambda change: statuses.append(change["new"]), names="value")
    panel.frames = 0
    set_and_wait(panel, "epochs", 3)
    assert len(frames) >= panel.frames >= 3  # a frame after each step (FRAME_GAP 0)
    for epoch in (1, 2, 3):
        assert any(f"training: epoch {epoch} of 3" in s for s in statuses)
    assert "final loss" in statuses[-1] and frames[-1] == panel.png
    assert len(set(frames)) == len(frames)  # each frame shows more of the curve
    assert panel.frames <= len(panel.history.step_loss)  # none twice for the same steps


def test_a_draw_that_needs_the_finished_run_gets_no_frames_but_the_result(monkeypatch):
    monkeypatch.setattr(widgets, "FIRST_FRAME", 0.0)
    calls = []

    def train(**settings):
        history = linreg_train(**settings)
        history.params = [1.0]  # added after d2lmini.train returns: frames do not have it
        return history

    def draw_params(fig, history, ghosts):
        calls.append(len(history.step_loss))
        fig.subplots().bar([0], history.params)

    panel = make_panel(train=train, draw=draw_params)
    set_and_wait(panel, "epochs", 3)
    assert panel.frames == 0 and "final loss" in status(panel)
    default, failed, result = calls  # the default run; one failed frame, no more tries; the end
    assert failed < result == 60


def test_a_slow_run_streams_by_itself_and_a_quick_one_does_not():
    panel = make_panel(train=lambda **s: linreg_train(**s, slow=0.01))  # ~0.4 s + draws
    set_and_wait(panel, "epochs", 3)  # 60 steps of >= 10 ms: longer than FIRST_FRAME
    assert panel.frames >= 1
    quick = make_panel()
    set_and_wait(quick, "lr", 0.1)
    assert quick.frames == 0


def test_sliders_retrain_on_release_unless_asked_to_follow_the_drag():
    assert make_panel().controls["lr"].continuous_update is False
    assert all(c.continuous_update for c in make_panel(follow_drag=True).controls.values())


def test_epochs_are_on_the_x_axis_so_batch_sizes_line_up():
    panel = make_panel()
    set_and_wait(panel, "batch_size", 50)
    x = list(panel._figure.axes[0].get_lines()[-1].get_xdata())
    assert x == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0])
    assert panel._figure.axes[0].get_xlim()[1] == 2
    assert panel._figure.axes[0].get_xlabel() == "epochs"


# ------------------------------------------------------------------------------ display

def test_the_cell_output_carries_the_widgets_and_the_default_figure():
    panel = make_panel()
    data, metadata = panel._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.box.model_id
    png = base64.b64decode(data["image/png"])
    assert png == panel.static_png and png.startswith(b"\x89PNG")
    width, height = (int.from_bytes(png[i:i + 4], "big") for i in (16, 20))
    assert (width, height) == (2000, 720)  # 10 x 3.6 inches at twice 100 px per inch
    assert metadata["image/png"] == {"width": 1000, "height": 360}  # shown at half
    assert "learning rate" in data["text/plain"]
    set_and_wait(panel, "lr", 0.1)
    assert panel._repr_mimebundle_()[0]["image/png"] == data["image/png"]  # the default run's


def test_on_colab_the_output_is_the_widgets_only(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    data, _ = make_panel()._repr_mimebundle_()
    assert "image/png" not in data and "application/vnd.jupyter.widget-view+json" in data


def test_panel_has_the_css_classes_the_browser_test_relies_on():
    panel = make_panel()
    for widget, name in ((panel.box, "panel"), (panel.status, "status"),
                         (panel.image, "figure"), (panel.forget_button, "forget")):
        assert f"d2lmini-{name}" in widget._dom_classes
    assert "d2lmini-background" in panel.box._dom_classes
    for name, control in panel.controls.items():
        assert f"d2lmini-slider-{name}" in control._dom_classes
    assert panel.image.layout.width == "100%"  # follows the notebook's width


# ------------------------------------------------------------------------------ closing

@pytest.mark.parametrize("background", MODES)
def test_close_stops_the_run_and_closes_every_widget(background):
    panel = make_panel(background=background)
    if background:
        panel.train = lambda **s: linreg_train(**s, slow=0.01)
        panel.controls["lr"].value = 0.1
        time.sleep(0.05)  # the run is going
    panel.close()
    assert panel._worker is None and panel.wait(1)
    assert panel.box.comm is None and panel.status.comm is None and panel.image.comm is None
    assert all(c.comm is None and c.layout.comm is None for c in panel.controls.values())
    panel.controls["lr"].value = 0.2  # closed: nothing runs
    assert panel.history.settings["lr"] == 0.03
    assert "image/png" not in panel._repr_mimebundle_()


def test_closing_30_panels_returns_the_widgets_and_threads():
    def tiny_panel():  # the figure does not matter here: a small, quick one
        return make_panel(train=lambda **s: linreg_train(**s, n=20), figsize=(2, 1))

    tiny_panel().close()  # ipywidgets' own first-use setup
    gc.collect()
    widgets_before, threads_before = widget_count(), threading.active_count()
    panels = [tiny_panel() for _ in range(30)]
    for panel in panels[::3]:
        panel.controls["lr"].value = 0.1  # some with a run going
    assert widget_count() > widgets_before + 30 * 10
    for panel in panels:
        panel.close()
    gc.collect()
    assert widget_count() == widgets_before
    assert threading.active_count() == threads_before


# ------------------------------------------------------------------------------ figure

def test_redraws_reuse_the_axes_without_piling_up_artists():
    panel = make_panel()
    axes = panel._figure.axes
    for lr in (0.05, 10.0, 0.02):
        set_and_wait(panel, "lr", lr)
    assert panel._figure.axes == axes  # the same two axes, not new ones per run
    loss_ax = axes[0]
    assert len(loss_ax.lines) == 2 + len(panel.ghosts)  # raw + smoothed, one per ghost
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

    panel = LivePanel(linreg_train, draw_with_twin, {
        "lr": lr_slider(), "batch_size": batch_slider(10, 200),
        "epochs": int_slider("e", 1, 1, 5)})
    for lr in (0.05, 0.02):
        set_and_wait(panel, "lr", lr)
    assert len(panel._figure.axes) == 2


def test_classroom_panels_get_more_room_for_their_larger_type():
    normal = make_panel()
    d2lmini.style.set_classroom()
    try:
        big = make_panel()
    finally:
        d2lmini.style.set_classroom(False)
    assert big._figure.subplotpars.left > normal._figure.subplotpars.left
    assert big._figure.subplotpars.bottom > normal._figure.subplotpars.bottom
    size = [t.get_fontsize() for t in big._figure.axes[0].get_yticklabels()][0]
    assert size == 21 and 'font-size: 1.5em' in big.status.value
    assert [t.get_fontsize() for t in normal._figure.axes[0].get_yticklabels()][0] == 10


def test_a_legend_lists_each_series_once_however_many_redraws():
    def draw_bars(fig, history, ghosts):
        ax = fig.subplots()
        ax.bar([0, 1], [1.0, 2.0], label="true")
        ax.bar([0, 1], history.step_loss[:2], label="learned")
        ax.legend(loc="lower right")

    panel = make_panel(draw=draw_bars)
    for lr in (0.05, 0.02, 0.05):
        set_and_wait(panel, "lr", lr)
    (ax,) = panel._figure.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["true", "learned"]
    assert len(ax.patches) == 4


@pytest.mark.parametrize("background", MODES)
def test_every_panel_run_uses_one_torch_thread_then_restores_the_count(background):
    seen = []

    def train(**values):
        seen.append(torch.get_num_threads())
        return linreg_train(**values)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        panel = make_panel(train, background=background)
        set_and_wait(panel, "lr", 0.05)
        # one thread for every run, the default run in the panel's cell (the main thread)
        # included: the same settings give the same result however the run was started
        assert seen == [1, 1]
        assert torch.get_num_threads() == 2
        panel.close()
    finally:
        torch.set_num_threads(before)



def threads_seen_by_a_new_thread() -> int:
    """torch's thread count as a thread started now sees it (the process-wide setting)."""
    seen = []
    probe = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    probe.start()
    probe.join(5)
    assert not probe.is_alive(), "the probe thread did not end in 5 s"
    return seen[0]


def test_overlapping_runs_in_two_panels_threads_restore_the_count_the_first_one_found():
    """torch's thread count is one per process: the last run to end restores it, not each."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    first_in, second_in, first_out = (threading.Event() for _ in range(3))
    during = []

    def first():
        with widgets._one_torch_thread():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with widgets._one_torch_thread():
            second_in.set()
            first_out.wait(5)  # the first run ends while this one still trains
            during.append(threads_seen_by_a_new_thread())

    try:
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert not any(t.is_alive() for t in threads), "a run's thread did not end in 10 s"
        assert during == [1]  # still one thread while a run goes on
        assert threads_seen_by_a_new_thread() == 2  # and the count found, once both ended
    finally:
        torch.set_num_threads(before)
