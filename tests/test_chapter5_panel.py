"""Chapter 5's live panel, driven from Python the way a learner drags it: the notebook runs up to
the cell that makes `panel`, then each test sets controls and waits for the redraw."""

from pathlib import Path

import matplotlib
import numpy as np
import pytest
from panel_support import (
    assert_same_run,
    classroom_layout_problems,
    key_labels,
    panel_at_two_then_one_thread,
)

import d2lmini

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_regularization.ipynb"


DEFAULT = {}  # the default run and the controls' values, kept before any test moves them


@pytest.fixture(scope="module")
def chapter5():
    yield from panel_at_two_then_one_thread(NOTEBOOK, DEFAULT)


def release(panel, **values):
    """Set controls (one release each, values among their options) and wait for the redraw."""
    for name, value in values.items():
        options = [v for _, v in panel.controls[name].options]
        assert value in options, f"{name}: {value} is not an option of {options}"
        panel.controls[name].value = value
    assert panel.wait(120), "the panel's run did not finish"
    assert panel.error is None, panel.error
    return panel.history


def legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else []


def messages(panel) -> list[str]:
    return [t.get_text() for ax in panel._figure.axes for t in ax.texts]


def test_default_run_draws_training_and_validation_curves_that_part_ways(chapter5):
    panel, _ = chapter5
    run = panel.history
    assert panel.error is None and not run.diverged
    assert set(panel.controls) >= {"lambd", "dropout", "lr", "batch_size", "num_hiddens",
                                   "n_train"}
    train, valid = run.metrics["train_loss"], run.metrics["valid_loss"]
    assert len(train) == len(valid) == run.epochs
    assert train[-1] < train[0] and valid[-1] < valid[0]  # it learns...
    assert valid[-1] - train[-1] > 0.3  # ...and overfits: the curves part ways
    ax_loss, ax_curves, ax_hist = panel._figure.axes
    assert legend(ax_curves) == ["train loss", "validation loss"]
    assert ax_hist.get_xlabel() == "weight" and "|W|" in ax_hist.get_title()
    assert not messages(panel)


def test_weight_decay_shrinks_the_weights_and_earlier_runs_are_labelled(chapter5):
    panel, _ = chapter5
    release(panel, lambd=0, dropout=0, lr=0.05)
    plain = np.linalg.norm(panel.history.weights)
    decayed = release(panel, lambd=0.1)
    assert not decayed.diverged
    assert np.linalg.norm(decayed.weights) < 0.5 * plain, "λ > 0 shrinks the weights"
    assert decayed.metrics["train_loss"][-1] > panel.ghosts[-1].metrics["train_loss"][-1]
    assert "λ 0" in key_labels(panel)  # the earlier run, labelled by what differed


def test_dropout_changes_the_run(chapter5):
    panel, _ = chapter5
    plain = release(panel, lambd=0, dropout=0, lr=0.05)
    dropped = release(panel, dropout=0.5)
    assert dropped.step_loss != plain.step_loss
    # measured without dropout, the training loss stays further from 0 with it
    assert dropped.metrics["train_loss"][-1] > 1.5 * plain.metrics["train_loss"][-1]
    assert "dropout 0" in key_labels(panel)


def test_a_huge_learning_rate_says_it_diverged_and_the_panel_recovers(chapter5):
    panel, _ = chapter5
    diverged = release(panel, lambd=0, dropout=0, lr=10)
    assert diverged.diverged and "the learning rate is too large" in panel.status.value
    assert len(messages(panel)) == 1 and "diverged at step" in messages(panel)[0]
    calm = release(panel, lr=0.05)
    assert not calm.diverged and not messages(panel)
    assert panel.ghosts[-1].settings["lr"] == 10


def test_draw_works_on_a_run_still_training(chapter5):
    _, namespace = chapter5
    full = namespace["plain_run"]
    partial = d2lmini.History(step_loss=full.step_loss[:40], step_examples=full.step_examples[:40],
                              epoch_loss=full.epoch_loss[:2], epochs=full.epochs,
                              epoch_size=full.epoch_size,
                              metrics={k: v[:2] for k, v in full.metrics.items()})
    figure = matplotlib.figure.Figure(figsize=(12, 3.6))
    namespace["draw"](figure, partial, [full])  # no weights yet: no histogram for this run
    assert len(figure.axes) == 3 and "|W|" not in figure.axes[2].get_title()


def test_sliders_moved_away_and_back_give_the_default_run_again(chapter5):
    """The same settings give the same run, whether the panel's cell or a slider started it."""
    panel, _ = chapter5
    default, values = DEFAULT["history"], DEFAULT["values"]
    away = release(panel, lambd=0.01)
    assert away.step_loss != default.step_loss  # the slider changed the run...
    back = release(panel, **values)  # ...and every control back to its default value
    assert panel.values() == values
    assert_same_run(back, default)
    np.testing.assert_array_equal(back.weights, default.weights)


def test_chapter5_panel_lays_out_whole_in_classroom_mode(chapter5):
    """At classroom size nothing in the figure is cut off or runs into anything else, and the
    controls' type is as large (tests/panel_support.layout_problems)."""
    assert classroom_layout_problems(chapter5[0]) == []
