"""Chapter 4's races: optimizers on a surface (run and drawn), their colours, and epoch clocks.

What a lesson teaches stays in the lesson (the surfaces, the optimizers, `descend`, `fit`);
this module keeps what it only needs to show the results: running every racer with the
lesson's `descend`, a History that speaks for all of them, the two-panel figure, one colour per
optimizer, and a clock that leaves evaluation out of the training time.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from ..data import Batches
from ..language import say
from ..plot import number, plot_contour
from ..training import History, evaluate_accuracy

__all__ = ["Surface", "RaceHistory", "run", "draw", "COLORS", "color", "EpochClock"]

# one colour per optimizer, the same in every figure of chapter 4 (C3, red, is for messages)
COLORS = {"SGD": "C0", "momentum": "C1", "Nesterov": "C2", "Adagrad": "C4", "RMSprop": "C5",
          "Adadelta": "C6", "Adam": "C9", "AdamW": "C7", "NAdam": "C8"}
_SPARE = ("C3", "black", "olive", "navy", "teal", "maroon")


def color(name: str) -> str:
    """The colour of an optimizer called name (a spare one for names not in COLORS)."""
    if name in COLORS:
        return COLORS[name]
    return _SPARE[sum(map(ord, name)) % len(_SPARE)]


class Surface(NamedTuple):
    """A loss f(x1, x2) to race on: where to start, how many steps, and what to show."""

    f: Callable
    start: tuple[float, float]
    steps: int
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minimum: tuple[float, float] | None  # None: no minimum to mark (a saddle)


@dataclass
class RaceHistory(History):
    """The runs of a race, one History per racer; its message speaks for every racer."""

    race: dict[str, History] = field(default_factory=dict)
    surface: str = ""
    spec: Surface | None = None

    @property
    def diverged(self) -> bool:
        """True only when every racer diverged (the others' losses are still worth showing)."""
        return bool(self.race) and all(run.diverged for run in self.race.values())

    def message(self, language: str | None = None) -> str:
        """Each racer's final loss, or the step at which it diverged, e.g. 'SGD 0.037, ...'."""
        steps = max((len(run.step_loss) - 1 for run in self.race.values()), default=0)
        parts = [say("racer diverged", language, name=name, step=run.diverged_at)
                 if run.diverged else f"{name} {number(run.step_loss[-1])}"
                 for name, run in self.race.items()]
        return say("race", language, steps=steps, parts=", ".join(parts))


def run(descend: Callable, spec: Surface, makers: dict[str, Callable],
        name: str = "") -> RaceHistory:
    """Race each optimizer makers[name](params) with descend(f, make, start, steps).

    descend returns (path, losses), losses[i] the loss after i steps; a run that stopped
    before its last step blew up (its last loss grew too large). Raises ValueError when makers
    is empty.
    """
    if not makers:
        raise ValueError("optimizers is empty: tick at least one optimizer to race")
    history = RaceHistory(epochs=1, surface=name, spec=spec)
    for racer, make in makers.items():
        one = History(epochs=1)
        one.trace, one.step_loss = descend(spec.f, make, spec.start, spec.steps)
        if len(one.step_loss) <= spec.steps:  # stopped early: the loss after that step blew up
            one.diverged_at = len(one.step_loss) - 1
        history.race[racer] = one
    longest = max((one.step_loss for one in history.race.values()), key=len)
    history.step_loss = longest[1:]  # one loss per step taken (a panel counts the steps)
    return history


def _loss_axis(ax, spec: Surface) -> None:
    """Log scale down to 1e-8 for a surface with a minimum, else symlog; few plain ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    if spec.minimum is not None:
        ax.set(yscale="log", ylim=(1e-8, 10 * spec.f(*spec.start)))
        ax.yaxis.set_major_locator(LogLocator(numticks=6))
    else:
        ax.set(yscale="symlog", ylim=(-1e3, 10))
    ax.yaxis.set_minor_locator(NullLocator())  # few plain tick labels: a faster redraw
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set(xlabel="steps", ylabel="loss", xlim=(0, spec.steps))


def draw(fig, history: RaceHistory, ghosts: list | None = None) -> None:
    """Left: each racer's path on the contours; right: its loss against steps (a live panel's
    draw function: earlier runs, ghosts, are not drawn)."""
    spec = history.spec
    ax_path, ax_loss = fig.subplots(1, 2)
    plot_contour(ax_path, spec.f, spec.xlim, spec.ylim)
    low = 1e-12 if spec.minimum is not None else -1e30  # a loss of 0 on a log axis
    for name, one in history.race.items():
        path = np.clip(np.array(one.trace, dtype=float), -1e3, 1e3)
        ax_path.plot(*path.T, ".-", color=color(name), markersize=3, linewidth=1.2)
        label = name + (f" (diverged at step {one.diverged_at})" if one.diverged else "")
        ax_loss.plot(np.maximum(one.step_loss, low), color=color(name), label=label)
    ax_path.plot(*spec.start, "o", color="black")
    if spec.minimum is not None:
        ax_path.plot(*spec.minimum, "*", color="black", markersize=12)
    _loss_axis(ax_loss, spec)
    ax_path.set(xlabel="x₁", ylabel="x₂", title=f"paths on the {history.surface}")
    ax_loss.set_title("loss of each optimizer")
    ax_loss.legend(loc="lower left", fontsize="small")
    blown = [name for name, one in history.race.items() if one.diverged]
    if blown:
        lr = number(history.settings.get("lr", "this"))
        ax_loss.text(0.97, 0.96, f"{', '.join(blown)}: the loss grew a million-fold,\n"
                                 f"learning rate {lr} is too large for them here",
                     transform=ax_loss.transAxes, ha="right", va="top", color="C3",
                     fontsize="small", bbox={"facecolor": "white", "edgecolor": "C3"})


class EpochClock:
    """A train() evaluate callback: test accuracy after each epoch, and the training seconds
    so far (the time spent evaluating left out) in train_seconds."""

    def __init__(self, net: torch.nn.Module, test_X: torch.Tensor, test_y: torch.Tensor,
                 batch_size: int = 1000):
        self.net, self.batches = net, Batches(test_X, test_y, batch_size, shuffle=False)
        self.start, self.evaluating = time.perf_counter(), 0.0
        self.train_seconds: list[float] = []

    def __call__(self) -> dict[str, Any]:
        """Record the training time so far, then measure the test accuracy."""
        began = time.perf_counter()
        self.train_seconds.append(began - self.start - self.evaluating)
        accuracy = evaluate_accuracy(self.net, self.batches)
        self.evaluating += time.perf_counter() - began
        return {"test_acc": accuracy}
