"""Chapter 6's live panel, the 2-D classification playground, driven from Python the way a
learner moves it: the notebook runs up to the cell that makes `panel`, then each test sets
controls and waits for the redraw.

Each test sets every control it relies on (the others back at their defaults first), so the
tests do not depend on the order they run in."""

import base64
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from panel_support import (
    assert_same_run,
    classroom_layout_problems,
    key_labels,
    layout_problems,
    panel_at_two_then_one_thread,
)

import d2lmini

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_backpropagation.ipynb"
TITLES = ("decision boundary", "training and validation loss",
          "gradient norm of each layer's W")

DEFAULT = {}  # the default run and the controls' values, kept before any test moves them


@pytest.fixture(scope="module")
def chapter6():
    yield from panel_at_two_then_one_thread(NOTEBOOK, DEFAULT)


def choices(control) -> list:
    """The values a control offers: its options, or an IntSlider's min..max."""
    if hasattr(control, "options"):
        return [v for _, v in control.options]
    return list(range(control.min, control.max + 1))


def release(panel, **values):
    """Set controls (one release each, values among their options) and wait for the redraw."""
    for name, value in values.items():
        assert value in choices(panel.controls[name]), \
            f"{name}: {value} is not among {choices(panel.controls[name])}"
        panel.controls[name].value = value
    assert panel.wait(120), "the panel's run did not finish"
    assert panel.error is None, panel.error
    assert "training" not in panel.status.value
    return panel.history


def from_defaults(panel, **values):
    """The default settings but for `values` (only controls that move start a run)."""
    return release(panel, **{**DEFAULT["values"], **values})


def messages(panel) -> list[str]:
    return [t.get_text().replace("\n", " ") for ax in panel._figure.axes for t in ax.texts]


def layer_lines(ax) -> list[str]:
    return [line.get_label() for line in ax.get_lines() if line.get_label().startswith("layer")]


def mean_gradient_norms(history) -> np.ndarray:
    """Each Linear layer's weight-gradient norm, averaged over the run's steps."""
    norms = np.array(history.trace, dtype=float)  # one row per step, one column per layer
    assert norms.ndim == 2 and len(norms) == len(history.step_loss)
    return norms.mean(axis=0)


def test_default_run_learns_the_spiral(chapter6):
    panel, _ = chapter6
    run = DEFAULT["history"]
    assert panel.error is None and not run.diverged
    assert set(panel.controls) == {"shape", "noise", "hidden_layers", "width", "activation",
                                   "lr", "batch_size", "lambd", "optimizer"}
    accuracy, train = run.metrics["valid_acc"], run.metrics["train_loss"]
    assert len(accuracy) == len(train) == len(run.metrics["valid_loss"]) == run.epochs
    assert accuracy[-1] >= 0.9, "a 2 x 32 ReLU network separates the spiral"
    assert train[-1] < 0.5 * train[0] and train[-1] < run.step_loss[0]
    assert len(run.trace) == len(run.step_loss) and len(run.trace[0]) == 3

    run = from_defaults(panel)
    ax_data, ax_loss, ax_grad = panel._figure.axes
    assert ax_data.get_title() == f"{TITLES[0]} (valid acc {accuracy[-1]:.2f})"
    assert ax_data.get_images() and len(ax_data.collections[0].get_offsets()) == 300
    assert ax_loss.get_title() == TITLES[1]
    assert (ax_loss.get_xlabel(), ax_loss.get_ylabel(), ax_loss.get_yscale()) == (
        "epochs", "", "log")  # no y label: the title says it, and wide tick labels need room
    # which line is which, with no earlier run yet: in the key above the figure
    assert key_labels(panel) == ["this run", "validation loss"]
    assert ax_grad.get_title() == TITLES[2] and ax_grad.get_xlabel() == "epochs"
    assert ax_grad.get_yscale() == "log"
    assert layer_lines(ax_grad) == ["layer 1", "layer 2", "layer 3"]  # one per Linear layer
    assert not messages(panel)


def test_a_linear_model_cannot_separate_the_spiral(chapter6):
    panel, _ = chapter6
    from_defaults(panel)
    linear = from_defaults(panel, hidden_layers=0)
    assert not linear.diverged and len(linear.trace[0]) == 1
    assert linear.metrics["valid_acc"][-1] <= 0.75, "one Linear layer: a straight boundary"
    assert layer_lines(panel._figure.axes[2]) == ["layer 1"]
    assert f"(valid acc {linear.metrics['valid_acc'][-1]:.2f})" in panel._figure.axes[0].get_title()
    assert panel.ghosts and panel.ghosts[-1].settings["hidden_layers"] == 2


def test_the_earlier_run_is_labelled_in_the_key_by_what_differed(chapter6):
    panel, _ = chapter6
    from_defaults(panel)
    from_defaults(panel, hidden_layers=0)
    assert panel.ghosts[-1].settings == DEFAULT["values"]  # drawn faded in the loss plot...
    assert "hidden layers 2" in key_labels(panel), (  # ...and said which run it is
        f"the key lists {key_labels(panel)}: the earlier run's faded curves are not labelled")


def test_a_deep_sigmoid_network_has_vanishing_gradients_and_relu_far_less(chapter6):
    panel, _ = chapter6
    sigmoid = from_defaults(panel, hidden_layers=4, activation="sigmoid")
    assert layer_lines(panel._figure.axes[2]) == [f"layer {i}" for i in range(1, 6)]
    sigmoid_norms = mean_gradient_norms(sigmoid)
    relu_norms = mean_gradient_norms(from_defaults(panel, hidden_layers=4))
    sigmoid_gap = sigmoid_norms[-1] / sigmoid_norms[0]  # last layer's over the first's
    relu_gap = relu_norms[-1] / relu_norms[0]
    # measured: sigmoid under 0.0001 (layer 1) against 0.042 (layer 5), a gap of hundreds;
    # ReLU 0.26 against 0.09, 0.35 (its first layer's gradient is the larger)
    assert sigmoid_gap >= 10, f"sigmoid's gradients shrink towards the input: {sigmoid_norms}"
    assert relu_gap <= 3, f"ReLU's gradients reach the first layer: {relu_norms}"
    assert sigmoid_gap >= 10 * relu_gap


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_a_huge_learning_rate_says_the_loss_rose_and_the_panel_recovers(chapter6, optimizer):
    panel, _ = chapter6
    huge = max(choices(panel.controls["lr"]))
    rose = from_defaults(panel, optimizer=optimizer, lr=huge)
    # cross-entropy of logits stays finite: a high loss, not a divergence
    assert not rose.diverged and all(map(math.isfinite, rose.epoch_loss))
    peak = max(rose.epoch_loss)
    assert peak > 1.5 * rose.step_loss[0]
    assert "diverged" not in panel.status.value
    said = messages(panel)
    assert len(said) == 1 and "overshoot" in said[0] and "smaller learning rate" in said[0]
    assert f"rose to {peak:.3g} (from {rose.step_loss[0]:.2f})" in said[0]
    calm = from_defaults(panel)
    assert not calm.diverged and not messages(panel)
    assert calm.metrics["valid_acc"][-1] >= 0.9
    assert panel.ghosts[-1].settings["lr"] == huge


@pytest.mark.parametrize("stalled", [
    {"hidden_layers": 0}, {"hidden_layers": 4, "activation": "sigmoid"},
    {"shape": "xor", "hidden_layers": 0}, {"lambd": 0.1}, {"optimizer": "SGD", "lr": 0.01}])
def test_a_run_that_learns_little_is_not_told_to_lower_its_learning_rate(chapter6, stalled):
    """The overshoot message is for a loss that climbs, not for one that stays near ln 2."""
    panel, _ = chapter6
    run = from_defaults(panel, **stalled)
    assert max(run.epoch_loss) < 1.5 * run.step_loss[0]
    assert not messages(panel)


def test_every_data_shape_and_every_activation_trains(chapter6):
    panel, namespace = chapter6
    accuracy = {}
    for shape in choices(panel.controls["shape"]):
        run = from_defaults(panel, shape=shape)
        assert not run.diverged and len(run.metrics["valid_acc"]) == run.epochs, shape
        accuracy[shape] = run.metrics["valid_acc"][-1]
        # the figure shows this shape's training points
        X_train = namespace["playground_data"](shape, DEFAULT["values"]["noise"])[0]
        shown = panel._figure.axes[0].collections[0].get_offsets()
        np.testing.assert_allclose(shown, X_train.cpu().numpy(), rtol=1e-6, err_msg=shape)
    # measured: spiral 0.97, moons 1.0, circles 1.0, xor 0.92 (40 epochs, Adam at 0.05)
    assert min(accuracy.values()) >= 0.85, accuracy
    for activation in choices(panel.controls["activation"]):
        run = from_defaults(panel, activation=activation)
        assert not run.diverged and all(map(math.isfinite, run.metrics["train_loss"]))
        assert len(layer_lines(panel._figure.axes[2])) == 3, activation
        accuracy[activation] = run.metrics["valid_acc"][-1]
    # measured: linear 0.70, sigmoid 0.72, tanh 0.82, ReLU 0.97, GELU 0.97
    assert accuracy["linear"] <= 0.8, "linear layers stacked are one linear layer"
    assert min(accuracy["ReLU"], accuracy["GELU"]) >= 0.9, accuracy
    assert accuracy["tanh"] > accuracy["linear"] + 0.05, accuracy


def test_sliders_moved_away_and_back_give_the_default_run_again(chapter6):
    """The same settings give the same run, whether the panel's cell or a slider started it."""
    panel, _ = chapter6
    default, values = DEFAULT["history"], DEFAULT["values"]
    from_defaults(panel)
    away = release(panel, width=16, noise=0.1)
    assert away.step_loss != default.step_loss  # the sliders changed the run...
    back = release(panel, **values)  # ...and every control back to its default value
    assert panel.values() == values
    assert_same_run(back, default)
    assert back.trace == default.trace


def partial_run(full, steps: int, epochs: int) -> d2lmini.History:
    return d2lmini.History(step_loss=full.step_loss[:steps],
                           step_examples=full.step_examples[:steps],
                           epoch_loss=full.epoch_loss[:epochs], epochs=full.epochs,
                           epoch_size=full.epoch_size, trace=full.trace[:steps],
                           metrics={k: v[:epochs] for k, v in full.metrics.items()},
                           settings=dict(full.settings), net=full.net)


def test_draw_works_on_a_run_still_training(chapter6):
    _, namespace = chapter6
    full = DEFAULT["history"]
    for steps, epochs in ((25, 2), (5, 0)):  # two epochs in; and before the first epoch ends
        partial = partial_run(full, steps, epochs)
        figure = matplotlib.figure.Figure(figsize=(12, 3.8))
        namespace["draw"](figure, partial, [full])
        ax_data, ax_loss, ax_grad = figure.axes
        assert ax_data.get_title().startswith(TITLES[0])
        assert ("valid acc" in ax_data.get_title()) == bool(epochs)
        assert [ax.get_title() for ax in (ax_loss, ax_grad)] == list(TITLES[1:])
        assert len(layer_lines(ax_grad)) == 3
        assert all(len(line.get_xdata()) == steps for line in ax_grad.get_lines()
                   if line.get_label().startswith("layer"))
        assert not [t for ax in figure.axes for t in ax.texts]


def test_draw_says_when_a_run_diverged(chapter6):
    _, namespace = chapter6
    full = DEFAULT["history"]
    diverged = partial_run(full, 3, 0)
    diverged.step_loss[-1] = math.nan
    diverged.trace[-1] = [math.nan] * len(diverged.trace[-1])
    diverged.diverged_at = 3
    figure = matplotlib.figure.Figure(figsize=(12, 3.8))
    namespace["draw"](figure, diverged, [])
    said = [t.get_text().replace("\n", " ") for ax in figure.axes for t in ax.texts]
    assert len(said) == 1 and "diverged at step 3" in said[0] and "too large" in said[0]
    assert len(figure.axes) == 3


def test_the_figure_lays_out_whole_for_a_run_that_fails_badly(chapter6):
    """Losses over ten decades and a gradient plot over a hundred: nothing runs into anything."""
    panel, _ = chapter6
    try:
        from_defaults(panel, shape="xor", noise=0.5, hidden_layers=4, activation="sigmoid",
                      lr=max(choices(panel.controls["lr"])), batch_size=8)
        assert layout_problems(panel._figure, panel._rc) == []
    finally:
        from_defaults(panel)


def test_chapter6_panel_lays_out_whole_in_classroom_mode(chapter6):
    """At classroom size nothing in the figure is cut off or runs into anything else, and the
    controls' type is as large (tests/panel_support.layout_problems)."""
    assert classroom_layout_problems(chapter6[0]) == []


def test_the_status_says_the_settings_in_words_and_the_notebook_keeps_the_default_figure(
        chapter6):
    panel, _ = chapter6
    from_defaults(panel, lr=0.01)
    status = panel.status.value
    assert "learning rate 0.01" in status and "batch size 100" in status and "lr=" not in status
    assert "hidden layers 2" in status and "activation ReLU" in status
    data, _ = panel._repr_mimebundle_()
    assert panel.static_png and base64.b64decode(data["image/png"]) == panel.static_png
    from_defaults(panel)
