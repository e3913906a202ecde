"""A training loop that returns a History and stops when the loss is no longer finite.

`train()` reads each step's loss back from the device (every step on the CPU, every
`SYNC_EVERY` steps on a GPU, so that the GPU is not made to wait on every step) and stops
within those few steps of the first loss that is not finite. Code that wants to watch a run
as it goes (the live panel) wraps it in `with watch(callback):`; train() then calls
`callback(history)` whenever `history.step_loss` has grown and at the end of each epoch.
"""

import contextlib
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils import data
from tqdm.auto import tqdm

from .data import Batches
from .validate import NonFiniteError, check_counted, check_label_shape, check_positive_int

SYNC_EVERY = 4  # on a GPU, read the losses back (and look for NaN) every this many steps


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
    step_examples: list[int] = field(default_factory=list)  # examples in each step's batch
    epoch_size: int | None = None  # examples per epoch (None until known)
    epochs: int = 0  # epochs asked for
    epoch_steps: int | None = None  # steps per epoch, when the batches have a len()
    bad_data: bool = False  # the minibatch of the diverged step held NaN or inf

    @property
    def diverged(self) -> bool:
        """True when the loss stopped being finite."""
        return self.diverged_at is not None

    def step_epochs(self) -> list[float]:
        """For each recorded step, the epochs done by its end (examples seen / epoch_size)."""
        if self.epoch_size and len(self.step_examples) == len(self.step_loss):
            return [seen / self.epoch_size for seen in itertools.accumulate(self.step_examples)]
        per_epoch = self.epoch_steps or len(self.step_loss)  # unknown: the steps so far
        return [(i + 1) / per_epoch for i in range(len(self.step_loss))]

    def message(self) -> str:
        """One line that says how the run ended."""
        if self.diverged_at == 1:
            return ("the loss was not finite from the first step: look for NaN or inf in the "
                    "data or the initial weights")
        if self.diverged and self.bad_data:
            return (f"diverged at step {self.diverged_at}: its minibatch holds NaN or inf, "
                    f"look for them in the data")
        if self.diverged:
            return f"diverged at step {self.diverged_at}: the learning rate is too large"
        if not self.step_loss:
            return "no steps were run"
        return f"final loss {self.epoch_loss[-1]:.6g}" if self.epoch_loss else "stopped"


# ---------------------------------------------------------------- watching runs

_local = threading.local()


@contextlib.contextmanager
def watch(callback: Callable[[History], None]) -> Iterator[Callable[[History], None]]:
    """While active in this thread, every train() calls callback(history) as the run grows.

    It is called whenever history.step_loss has been brought up to date (every step on the
    CPU, every SYNC_EVERY steps on a GPU) and at the end of each epoch, after epoch_loss and
    metrics. An exception it raises stops the run and comes out of train(). Nestable: every
    active callback is called, the outermost first.
    """
    stack = _local.__dict__.setdefault("callbacks", [])
    stack.append(callback)
    try:
        yield callback
    finally:
        del stack[len(stack) - 1 - stack[::-1].index(callback)]


def _callbacks() -> tuple[Callable[[History], None], ...]:
    return tuple(getattr(_local, "callbacks", ()))


# ---------------------------------------------------------------- the loop

Updater = torch.optim.Optimizer | Callable[[int], None]


def train(net: Callable, loss: Callable, updater: Updater, batches: Iterable, epochs: int, *,
          evaluate: Callable[[], dict[str, float]] | None = None,
          record: Callable[[], Any] | None = None,
          progress: bool = True) -> History:
    """Train net for some epochs; return its History, stopping soon after a non-finite loss.

    loss(y_hat, y) gives one loss per example (or their mean). updater is a torch optimizer,
    or a function updater(batch_size) that updates parameters from summed gradients, like sgd.
    batches is any iterable of (X, y) minibatches, one pass per epoch (a one-shot iterator
    such as a generator only for epochs=1). evaluate() runs after each epoch and returns
    metrics; record() runs after each step and its results go to History.trace (e.g. the
    weights, to draw their path). An nn.Module is put in training mode each epoch.
    """
    epochs = check_positive_int(epochs, "epochs")
    _check_train_args(net, loss, updater, batches, epochs)
    steps = _len_or_none(batches)
    history = History(epochs=epochs, epoch_size=_epoch_size(batches), epoch_steps=steps)
    start = time.perf_counter()
    bar = tqdm(total=epochs * steps if steps else None, delay=1.0, disable=not progress,
               leave=False)
    try:
        _run(history, net, loss, updater, batches, evaluate, record, bar, _callbacks())
    finally:
        bar.close()
        history.seconds = time.perf_counter() - start
    return history


def _run(history: History, net, loss, updater, batches, evaluate, record, bar,
         callbacks) -> None:
    """The epochs of train(); returns early when the loss is no longer finite."""
    is_optimizer = isinstance(updater, torch.optim.Optimizer)
    every = None  # steps between reading losses back, known from the first loss's device
    for epoch in range(history.epochs):
        if isinstance(net, torch.nn.Module):
            net.train()  # evaluate() may have switched it to eval mode
        first = len(history.step_loss)
        pending = []  # (summed loss, its size, n, X, y) of steps whose loss was not read back yet
        for X, y in batches:
            n = len(X)
            try:
                l = loss(net(X), y)
                if is_optimizer:
                    updater.zero_grad()
                    objective = l.mean()
                    objective.backward()
                    updater.step()
                else:
                    objective = l.sum()
                    objective.backward()
                    updater(n)
            except NonFiniteError:  # e.g. softmax was given NaN: the weights have diverged
                if not _flush(history, pending, callbacks):  # then this step is the first
                    pending.append((torch.tensor(math.nan), 1, n, X, y))
                    _flush(history, pending, callbacks)
                return
            # the step's mean loss is objective / size: read back later, in one go on a GPU
            pending.append((objective.detach(), 1 if is_optimizer else l.numel(), n, X, y))
            if record is not None:
                history.trace.append(record())
            bar.update()
            every = every or _steps_between_checks(l)
            if len(pending) >= every:
                if _flush(history, pending, callbacks):
                    return
        if _flush(history, pending, callbacks):
            return
        sizes = history.step_examples[first:]
        if not sizes:
            again = (" (an iterator can be used only once: pass a re-iterable such as "
                     "d2lmini.Batches or a DataLoader)") if epoch else ""
            raise ValueError(f"batches gave no minibatches in epoch {epoch + 1}{again}")
        if history.epoch_size is None:
            history.epoch_size = sum(sizes)
        losses = history.step_loss[first:]
        history.epoch_loss.append(sum(v * n for v, n in zip(losses, sizes)) / sum(sizes))
        for name, value in (evaluate() if evaluate else {}).items():
            history.metrics.setdefault(name, []).append(value)
        for callback in callbacks:
            callback(history)


def _flush(history: History, pending: list, callbacks) -> bool:
    """Move pending losses into history up to the first non-finite one; True if there was one."""
    if not pending:
        return False
    if len(pending) == 1:  # one number (every step on the CPU): read it directly
        sums = [pending[0][0].item()]
    else:  # on a GPU: one wait for all of them
        sums = torch.stack([p[0].float() for p in pending]).tolist()
    diverged = False
    for total, (_, size, n, X, y) in zip(sums, pending):
        value = total / size
        history.step_loss.append(value)
        history.step_examples.append(n)
        if not math.isfinite(value):
            history.diverged_at = len(history.step_loss)
            history.bad_data = not all(bool(torch.isfinite(t).all()) for t in (X, y)
                                       if isinstance(t, torch.Tensor))
            del history.trace[history.diverged_at:]
            diverged = True
            break
    pending.clear()
    for callback in callbacks:
        callback(history)
    return diverged


def _steps_between_checks(loss: torch.Tensor) -> int:
    """Read losses back every step on the CPU (it costs nothing), every few on a GPU."""
    return 1 if loss.device.type == "cpu" else SYNC_EVERY


def _check_train_args(net, loss, updater, batches, epochs: int) -> None:
    """Raise ValueError naming the argument of train() that cannot work."""
    for name, value in (("net", net), ("loss", loss)):
        if not callable(value):
            raise ValueError(f"{name} must be a function or an nn.Module, "
                             f"got {type(value).__name__} {value!r}")
    if not (isinstance(updater, torch.optim.Optimizer) or callable(updater)):
        raise ValueError(f"updater must be a torch optimizer or a function updater(batch_size), "
                         f"e.g. lambda n: d2lmini.sgd([w, b], lr, n); got "
                         f"{type(updater).__name__} {updater!r}")
    if isinstance(batches, torch.Tensor) or not isinstance(batches, Iterable):
        raise ValueError(f"batches must be an iterable of (X, y) minibatches, e.g. "
                         f"d2lmini.Batches(features, labels, batch_size); got "
                         f"{type(batches).__name__}")
    if _len_or_none(batches) == 0:
        raise ValueError("batches is empty: there are no minibatches to train on")
    if isinstance(batches, Iterator) and epochs > 1:
        raise ValueError(f"batches is a one-shot iterator ({type(batches).__name__}): it gives "
                         f"its minibatches only once, but epochs={epochs} needs a pass per "
                         f"epoch. Pass a re-iterable such as d2lmini.Batches(features, labels, "
                         f"batch_size) or a DataLoader, or use epochs=1")


def _len_or_none(batches) -> int | None:
    """len(batches), or None for iterables without one (generators, iterable datasets)."""
    try:
        return len(batches)
    except TypeError:
        return None


def _epoch_size(batches) -> int | None:
    """Examples per epoch if they can be known before the first epoch, else None."""
    try:
        if isinstance(batches, Batches):
            return (len(batches) * batches.batch_size if batches.drop_last
                    else len(batches.features))
        if isinstance(batches, data.DataLoader):
            if batches.drop_last and batches.batch_size:
                return len(batches) * batches.batch_size
            return len(batches.dataset)
        if isinstance(batches, list | tuple):
            return sum(len(batch[0]) for batch in batches)
    except TypeError:  # e.g. an IterableDataset has no len()
        pass
    return None


# ---------------------------------------------------------------- accuracy

def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of rows whose largest score is at the true class."""
    check_label_shape(y_hat, y)
    return (y_hat.argmax(dim=1) == y).float().mean().item()


def evaluate_accuracy(net: Callable, data_iter: Iterable) -> float:
    """The accuracy of net over all batches of data_iter, in eval mode, without gradients."""
    if isinstance(net, torch.nn.Module):
        was_training = net.training
        net.eval()  # e.g. no dropout while measuring (chapter 5)
    correct, count = 0, 0
    with torch.no_grad():
        for X, y in data_iter:
            y_hat = net(X)
            check_label_shape(y_hat, y)
            correct += (y_hat.argmax(dim=1) == y).sum()
            count += len(y)
    if isinstance(net, torch.nn.Module):
        net.train(was_training)
    check_counted(count)
    return float(correct) / count
