"""d2lmini.race: the surface race's runs, its status message, its figure, colours, epoch clock."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from d2lmini import History  # noqa: E402
from d2lmini.machinery import race  # noqa: E402


def descend(f, optimizer_fn, start, steps):
    """Chapter 4's descend: the path and the loss before each step, stopped when it blows up."""
    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = optimizer_fn([w])
    path, losses = [list(start)], []
    for step in range(steps + 1):
        optimizer.zero_grad()
        loss = f(w[0], w[1])
        losses.append(loss.item())
        if step == steps or not losses[-1] < 1e6 * (abs(losses[0]) + 1):
            break
        loss.backward()
        optimizer.step()
        path.append(w.tolist())
    return path, losses


def valley(x1, x2):
    return 0.1 * x1 ** 2 + 2 * x2 ** 2


def saddle(x1, x2):
    return x1 ** 2 - x2 ** 2


VALLEY = race.Surface(valley, (-4.5, 1.5), 100, (-5.0, 5.0), (-2.5, 2.5), (0.0, 0.0))
SADDLE = race.Surface(saddle, (1.5, 0.01), 50, (-2.0, 2.0), (-2.0, 2.0), None)


def sgd(lr, momentum=0.0):
    return lambda params: torch.optim.SGD(params, lr=lr, momentum=momentum)


def adam(lr):
    return lambda params: torch.optim.Adam(params, lr=lr)


def test_nothing_to_race_is_a_clear_value_error():
    with pytest.raises(ValueError, match="tick at least one optimizer to race"):
        race.run(descend, VALLEY, {}, name="valley")


def test_a_race_keeps_one_run_per_racer_and_speaks_for_all_of_them():
    history = race.run(descend, VALLEY, {"SGD": sgd(0.1), "momentum": sgd(0.1, 0.9)},
                       name="valley")
    assert isinstance(history, History) and list(history.race) == ["SGD", "momentum"]
    assert history.surface == "valley" and history.spec is VALLEY
    for one in history.race.values():
        assert len(one.trace) == len(one.step_loss) == 101 and not one.diverged
    assert not history.diverged and not history.epoch_loss  # the panel shows message()
    message = history.message()
    assert message.startswith("loss after 100 steps: SGD ")
    sgd_loss = f"{history.race['SGD'].step_loss[-1]:.3g}"
    assert f"SGD {sgd_loss}, momentum " in message


def test_diverged_racers_are_named_with_their_step_and_the_others_keep_their_loss():
    history = race.run(descend, VALLEY, {"SGD": sgd(1.0), "Adam": adam(1.0)})
    blown = history.race["SGD"]
    assert blown.diverged and not history.race["Adam"].diverged
    # the loss after step diverged_at is the one that grew a million-fold
    assert blown.diverged_at == len(blown.step_loss) - 1
    assert blown.step_loss[-1] >= 1e6 * (blown.step_loss[0] + 1) > blown.step_loss[-2]
    assert not history.diverged, "one racer still converges: the race did not diverge"
    message = history.message()
    assert f"SGD diverged at step {blown.diverged_at}" in message and "Adam " in message
    assert len(history.step_loss) == 100, "one loss per step of the longest racer"
    both = race.run(descend, VALLEY, {"SGD": sgd(1.0), "momentum": sgd(1.0, 0.9)})
    assert both.diverged and "momentum diverged at step" in both.message()


def test_the_figure_labels_every_racer_and_boxes_the_diverged_ones():
    history = race.run(descend, VALLEY, {"SGD": sgd(1.0), "Adam": adam(1.0)}, name="valley")
    history.settings = {"lr": 1.0}
    fig = plt.figure()
    race.draw(fig, history, [])
    ax_path, ax_loss = fig.axes
    labels = [t.get_text() for t in ax_loss.get_legend().get_texts()]
    assert labels == [f"SGD (diverged at step {history.race['SGD'].diverged_at})", "Adam"]
    [box] = ax_loss.texts
    assert box.get_text().startswith("SGD: the loss grew a million-fold")
    assert "learning rate 1 is too large" in box.get_text()
    assert ax_loss.get_yscale() == "log" and ax_path.get_title() == "paths on the valley"
    plt.close(fig)
    calm = race.run(descend, SADDLE, {"SGD": sgd(0.01)}, name="saddle")
    fig = plt.figure()
    race.draw(fig, calm)
    assert not fig.axes[1].texts and fig.axes[1].get_yscale() == "symlog"
    plt.close(fig)


def test_every_optimizer_has_its_own_colour_and_other_names_get_a_spare_one():
    assert len(set(race.COLORS.values())) == len(race.COLORS)
    assert "C3" not in race.COLORS.values(), "red is kept for messages"
    assert race.color("Adam") == race.COLORS["Adam"]
    spare = race.color("Adam, no correction")
    assert spare not in race.COLORS.values() and spare == race.color("Adam, no correction")


def test_the_epoch_clock_leaves_evaluation_out_of_the_training_time():
    torch.manual_seed(0)
    net = nn.Linear(4, 3)
    test_X, test_y = torch.randn(50, 4), torch.randint(0, 3, (50,))
    clock = race.EpochClock(net, test_X, test_y, batch_size=20)
    first = clock()
    second = clock()
    assert set(first) == {"test_acc"} and 0 <= first["test_acc"] <= 1
    assert first == second and len(clock.train_seconds) == 2
    assert 0 <= clock.train_seconds[0] <= clock.train_seconds[1]
    assert clock.evaluating > 0
    expected = (net(test_X).argmax(1) == test_y).float().mean().item()
    assert first["test_acc"] == pytest.approx(expected)
