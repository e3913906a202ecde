"""A training loop that returns a History and stops when the loss is no longer finite."""

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from .validate import check_positive_int


@dataclass
class History:
    """What a training run leaves behind: losses per step and per epoch, metrics, divergence."""

    step_loss: list[float] = field(default_factory=list)  # mean loss of each minibatch
    epoch_loss: list[float] = field(default_factory=list)  # mean loss over each epoch's examples
    metrics: dict[str, list[float]] = field(default_factory=dict)  # per epoch, e.g. test_acc
    trace: list[Any] = field(default_factory=list)  # what `record` returned after each step
    diverged_at: int | None = None  # the first step (counted from 1) whose loss was not finite
    settings: dict[str, Any] = field(default_factory=dict)  # the values the run was made with
    seconds: float = 0.0

    @property
    def diverged(self) -> bool:
        """True when the loss stopped being finite."""
        return self.diverged_at is not None

    def message(self) -> str:
        """One line that says how the run ended."""
        if self.diverged:
            return f"diverged at step {self.diverged_at}: the learning rate is too large"
        if not self.step_loss:
            return "no steps were run"
        return f"final loss {self.epoch_loss[-1]:.6g}" if self.epoch_loss else "stopped"


Updater = torch.optim.Optimizer | Callable[[int], None]


def train(net: Callable, loss: Callable, updater: Updater, batches: Iterable, epochs: int, *,
          evaluate: Callable[[], dict[str, float]] | None = None,
          record: Callable[[], Any] | None = None,
          progress: bool = True) -> History:
    """Train net for some epochs; return its History, stopping at the first non-finite loss.

    loss(y_hat, y) gives one loss per example (or their mean). updater is a torch optimizer,
    or a function updater(batch_size) that updates parameters from summed gradients, like sgd.
    evaluate() runs after each epoch and returns metrics; record() runs after each step and
    its results go to History.trace (e.g. the weights, to draw their path).
    """
    epochs = check_positive_int(epochs, "epochs")
    history = History()
    start = time.perf_counter()
    bar = tqdm(total=epochs * len(batches), delay=1.0, disable=not progress, leave=False)
    for _ in range(epochs):
        losses, sizes = [], []  # kept on the device: reading them each step would sync a GPU
        for X, y in batches:
            l = loss(net(X), y)
            if isinstance(updater, torch.optim.Optimizer):
                updater.zero_grad()
                l.mean().backward()
                updater.step()
            else:
                l.sum().backward()
                updater(X.shape[0])
            losses.append(l.detach().mean())
            sizes.append(X.shape[0])
            if record is not None:
                history.trace.append(record())
            bar.update()
        losses = torch.stack(losses).tolist()
        if _keep_finite(history, losses):
            break
        history.epoch_loss.append(sum(l * n for l, n in zip(losses, sizes)) / sum(sizes))
        for name, value in (evaluate() if evaluate else {}).items():
            history.metrics.setdefault(name, []).append(value)
    bar.close()
    history.seconds = time.perf_counter() - start
    return history


def _keep_finite(history: History, losses: list[float]) -> bool:
    """Append losses up to the first non-finite one; return True if there was one."""
    for loss in losses:
        history.step_loss.append(loss)
        if not math.isfinite(loss):
            history.diverged_at = len(history.step_loss)
            del history.trace[history.diverged_at:]
            return True
    return False


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of rows whose largest score is at the true class."""
    return (y_hat.argmax(dim=1) == y).float().mean().item()


def evaluate_accuracy(net: Callable, data_iter: Iterable) -> float:
    """The accuracy of net over all batches of data_iter, without tracking gradients."""
    if isinstance(net, torch.nn.Module):
        net.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += (net(X).argmax(dim=1) == y).sum()
            count += len(y)
    return float(correct) / count
