"""Chapter 4's two live panels, driven from Python as a learner's release of a control would.

The notebook runs up to the cell that makes `panel` (the Fashion-MNIST one), passing the cell
that makes `surface_panel` (the race on a surface) on the way."""

from pathlib import Path

import pytest
from panel_support import classroom_layout_problems, key_labels, run_until_panel

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_optimizers.ipynb"


@pytest.fixture(scope="module")
def chapter4():
    panel, ns = run_until_panel(NOTEBOOK)
    yield ns
    ns["surface_panel"].close()
    panel.close()


def release(panel, **values):
    """Set controls one after another, as releases, and wait for the last run's redraw."""
    for name, value in values.items():
        panel.controls[name].value = value
    assert panel.wait(120), "the panel's run did not finish"
    return panel.history


def texts(panel):
    return [t.get_text() for ax in panel._figure.axes for t in ax.texts]


def legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else []


def test_race_default_run_has_a_labelled_path_for_each_optimizer(chapter4):
    panel = chapter4["surface_panel"]
    assert panel.error is None and not panel.history.diverged
    assert panel.static_png and panel.png
    race = panel.history.race
    assert list(race) == ["SGD", "momentum", "Adam"]
    for run in race.values():
        assert len(run.trace) == len(run.step_loss) == 101  # the start and 100 steps
    ax_path, ax_loss = panel._figure.axes[:2]
    assert legend(ax_loss) == ["SGD", "momentum", "Adam"]
    assert ax_loss.get_xlabel() == "steps" and ax_path.get_xlabel() == "x₁"
    assert race["momentum"].step_loss[-1] < race["SGD"].step_loss[-1] / 10  # momentum helps
    assert "surface valley" in panel.status.value and "learning rate 0.1" in panel.status.value
    # the status speaks for every racer, not for the first one only
    status = panel.status.value
    assert "loss after 100 steps: SGD " in status and "(100 steps" in status
    for name, run in race.items():
        assert f"{name} {run.step_loss[-1]:.3g}" in status
    assert "final loss" not in status and "diverged" not in status


def test_race_says_which_optimizers_diverged_and_recovers(chapter4):
    panel = chapter4["surface_panel"]
    history = release(panel, lr=10.0)
    assert panel.error is None
    assert history.race["SGD"].diverged and not history.race["Adam"].diverged
    assert not history.diverged, "Adam still converges: the race as a whole did not diverge"
    said = " ".join(texts(panel))
    assert "SGD, momentum: the loss grew a million-fold" in said and "too large" in said
    assert len(texts(panel)) == 1, "the divergence is explained once"
    status = panel.status.value
    for name in ("SGD", "momentum"):
        assert f"{name} diverged at step {history.race[name].diverged_at}" in status
    assert f"Adam {history.race['Adam'].step_loss[-1]:.3g}" in status
    assert "learning rate is too large" not in status, "no verdict that Adam's run contradicts"
    history = release(panel, optimizers=("SGD", "momentum"))
    assert history.diverged and "Adam" not in panel.status.value  # now every racer diverged
    history = release(panel, lr=0.1, optimizers=("SGD", "momentum", "Adam"))
    assert panel.error is None and not history.diverged and not texts(panel)
    assert "momentum " in panel.status.value and "diverged" not in panel.status.value


def test_race_at_0_9_momentum_is_stable_where_sgd_and_nesterov_blow_up(chapter4):
    """The "Things to try" line: 0.9 is on the slider, below momentum's limit 2(1 + mu)/4."""
    panel = chapter4["surface_panel"]
    assert 0.9 in [value for _, value in panel.controls["lr"].options]
    history = release(panel, lr=0.9, optimizers=("SGD", "momentum", "Nesterov", "Adam"))
    race = history.race
    assert race["SGD"].diverged and race["Nesterov"].diverged
    assert not race["momentum"].diverged and race["momentum"].step_loss[-1] < 1e-2
    release(panel, lr=0.1, optimizers=("SGD", "momentum", "Adam"))

def test_race_every_ticked_optimizer_on_every_surface(chapter4):
    panel = chapter4["surface_panel"]
    names = list(panel.controls["optimizers"].options)
    for surface in ["Rosenbrock", "saddle", "valley"]:
        history = release(panel, surface=surface, optimizers=tuple(names), lr=0.002)
        assert panel.error is None
        assert list(history.race) == names
        assert all(len(run.trace) >= 2 for run in history.race.values())
        labels = legend(panel._figure.axes[1])
        assert [label.split(" (")[0] for label in labels] == names
    history = release(panel, surface="saddle", optimizers=("SGD", "Adam"), lr=0.01)
    off_ridge = {name: abs(run.trace[-1][1]) for name, run in history.race.items()}
    assert off_ridge["Adam"] > 0.3 > 0.05 > off_ridge["SGD"], \
        "at a small learning rate, Adam leaves the saddle's ridge and SGD hardly does"
    release(panel, surface="valley", optimizers=("SGD", "momentum", "Adam"))


def test_race_with_nothing_ticked_says_so_and_keeps_working(chapter4):
    panel = chapter4["surface_panel"]
    release(panel, optimizers=())
    assert panel.error and "tick at least one optimizer" in panel.error
    assert panel.error.startswith("ValueError")
    history = release(panel, optimizers=("Adam",))
    assert panel.error is None and list(history.race) == ["Adam"]
    release(panel, optimizers=("SGD", "momentum", "Adam"))


def test_fashion_default_run_and_a_ghost_labelled_by_optimizer(chapter4):
    panel = chapter4["panel"]
    assert panel.error is None and not panel.history.diverged
    assert panel.history.settings["optimizer"] == "SGD"  # chapter 3's run, to start from
    assert panel.history.metrics["test_acc"][-1] > 0.7
    assert {"optimizer", "lr", "batch_size", "epochs", "schedule"} <= set(panel.controls)
    history = release(panel, optimizer="Adam", lr=0.01)
    assert panel.error is None and history.settings["optimizer"] == "Adam"
    assert panel.ghosts[0].settings["optimizer"] == "SGD"  # the default run, kept as a ghost
    assert "optimizer SGD · lr 0.1" in key_labels(panel)
    assert panel._figure.axes[1].get_ylabel() == "accuracy"


def test_fashion_huge_learning_rate_gives_a_huge_loss_not_nan(chapter4):
    panel = chapter4["panel"]
    # nn.CrossEntropyLoss works from the logits (log-sum-exp), so even lr 10 gives a high
    # finite loss for SGD and for Adam, where chapter 3's from-scratch softmax gave NaN
    for optimizer in ("Adam", "SGD"):
        history = release(panel, optimizer=optimizer, lr=10.0, epochs=2)
        assert panel.error is None
        assert not history.diverged and history.epoch_loss[-1] > 1.0, optimizer
    history = release(panel, lr=0.1, epochs=5)
    assert panel.error is None and not history.diverged
    assert history.metrics["test_acc"][-1] > 0.7


def test_fashion_schedule_warms_up_then_decays_the_learning_rate(chapter4):
    panel = chapter4["panel"]
    seen = []
    fit, original = chapter4["fit"], chapter4["SCHEDULES"]["warm-up + cosine"]

    def spying(optimizer, total):
        scheduler = original(optimizer, total)
        step = scheduler.step
        scheduler.step = lambda: (step(), seen.append(optimizer.param_groups[0]["lr"]))
        return scheduler

    chapter4["SCHEDULES"]["warm-up + cosine"] = spying
    try:
        history = fit(optimizer="momentum", lr=0.1, epochs=2, schedule="warm-up + cosine")
    finally:
        chapter4["SCHEDULES"]["warm-up + cosine"] = original
    steps = len(history.step_loss)
    assert len(seen) == steps == 40  # 2 epochs of 20 minibatches: one scheduler step each
    peak = seen.index(max(seen))
    assert max(seen) == pytest.approx(0.1, rel=0.03) and 0 < peak <= steps // 10
    assert seen[0] < 0.05 and seen[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(seen[peak:], seen[peak + 1:])), "then it only decays"
    assert panel.error is None


@pytest.mark.parametrize("name", ["surface_panel", "panel"])
def test_both_panels_lay_out_whole_in_classroom_mode(chapter4, name):
    """At classroom size nothing in the figure is cut off or runs into anything else, and the
    controls' type is as large (tests/panel_support.layout_problems)."""
    assert classroom_layout_problems(chapter4[name]) == []
