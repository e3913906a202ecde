"""Each chapter's own live panel, without a browser: the notebook's code cells run up to the one
that makes `panel`, then the test sets slider values from Python, the same path as a drag."""

from pathlib import Path

import pytest
from panel_support import run_until_panel

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def release(panel, **values):
    """Set controls as a learner would (one release each) and wait for the redraw."""
    for name, value in values.items():
        panel.controls[name].value = value
    assert panel.wait(120), "the panel's run did not finish"
    assert panel.error is None, panel.error
    return panel.history


def loss_axes(panel):
    return panel._figure.axes[0]


@pytest.fixture(scope="module")
def chapter1():
    return run_until_panel(NOTEBOOKS / "01_linear_regression_scratch.ipynb")


@pytest.fixture(scope="module")
def chapter2():
    return run_until_panel(NOTEBOOKS / "02_linear_regression_concise.ipynb")


@pytest.fixture(scope="module")
def chapter3():
    return run_until_panel(NOTEBOOKS / "03_softmax_regression.ipynb")


def test_chapter1_panel_retrains_from_the_same_start_and_says_when_it_diverges(chapter1):
    panel, ns = chapter1
    start = panel.history.trace[0]
    diverged = release(panel, lr=10.0)
    assert diverged.diverged and "diverged at step" in panel.status.value
    assert diverged.trace[0] == start  # the same seeded start for every run
    assert any("diverged at step" in text.get_text() for text in loss_axes(panel).texts)

    calm = release(panel, lr=0.03)
    assert not calm.diverged and calm.trace[0] == start
    assert panel.ghosts[-1] is diverged  # the run before, drawn faded
    assert len(loss_axes(panel).lines) == 1 + len(panel.ghosts)
    assert not loss_axes(panel).texts  # the divergence message went with that run

    full_batch = release(panel, batch_size=1000, epochs=10)  # two releases, quick in a row
    assert full_batch.settings == {"lr": 0.03, "batch_size": 1000, "epochs": 10}
    assert len(full_batch.step_loss) == 10  # one step per epoch


def test_chapter2_panel_reduction_sum_needs_a_smaller_learning_rate(chapter2):
    panel, ns = chapter2
    summed = release(panel, batch_size=100, reduction="sum")
    assert summed.diverged  # lr 0.03 on a sum over 100 examples is lr 3 on the mean
    assert "diverged" in panel.status.value

    mean = release(panel, reduction="mean", batch_size=10, epochs=3)
    assert not mean.diverged
    assert mean.params == pytest.approx(ns["TRUE"], abs=0.01)
    bars = panel._figure.axes[1]
    assert [t.get_text() for t in bars.get_legend().get_texts()] == ["true", "learned"]


def test_chapter3_panel_trains_softmax_and_shows_divergence(chapter3):
    panel, ns = chapter3
    assert panel.history.metrics["test_acc"][-1] >= 0.70  # the default run, mini subset

    diverged = release(panel, lr=10.0)
    assert diverged.diverged and "the learning rate is too large" in panel.status.value
    short = release(panel, lr=0.1, epochs=2)
    assert len(short.metrics["test_acc"]) == 2 and short.metrics["test_acc"][-1] >= 0.65
    assert len(panel._figure.axes[1].get_legend().get_texts()) == 2  # train_acc, test_acc


def test_chapter3_panel_full_set_checkbox(chapter3):
    panel, ns = chapter3
    checkbox = panel.controls["full_set"]
    if ns["FULL_DIR"] is None:
        assert checkbox.disabled and "not found" in checkbox.description
        pytest.skip("the full Fashion-MNIST set is not on this computer")
    full = release(panel, epochs=1, full_set=True)
    assert full.metrics["test_acc"][-1] >= 0.75
    train_X = ns["panel_data"][True][0]
    assert len(train_X) == 60000
