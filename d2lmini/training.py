"""The training loop of chapter 3, for every later chapter: train() returns a History.

train() stops at the first loss that is not finite. It reads each step's loss back from the
device every step on the CPU, and every `SYNC_EVERY` steps on a GPU (reading a number back
makes the CPU wait for the GPU), so on a GPU it stops within those few steps.

The one hook: train() calls every function in `progress_hooks` with the History whenever it
has grown (after the losses of new steps were read back, and at the end of each epoch). The
live panel adds one to draw a run while it trains; an exception that a hook raises stops the
run and comes out of train().
"""

import itertools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils import data
from tqdm.auto import tqdm

from .data import Batches
from .language import either, say
from .validate import (
    NonFiniteError,
    check_counted,
    check_label_shape,
    check_loss,
    check_not_exhausted,
    check_train_args,
    len_or_none,
)

SYNC_EVERY = 4  # on a GPU, read the losses back (and look for NaN) every this many steps


@dataclass
class History:
    """What a training run leaves behind: losses per step and per epoch, metrics, divergence."""

    epochs: int = 0  # epochs asked for
    step_loss: list[float] = field(default_factory=list)  # mean loss of each minibatch
    step_examples: list[int] = field(default_factory=list)  # examples in each minibatch
    epoch_size: int | None = None  # examples per epoch (None until known)
    epoch_loss: list[float] = field(default_factory=list)  # mean loss over each epoch
    metrics: dict[str, list[float]] = field(default_factory=dict)  # per epoch, e.g. test_acc
    trace: list[Any] = field(default_factory=list)  # what `record` returned after each step
    diverged_at: int | None = None  # the first step (counted from 1) whose loss was not finite
    bad_data: bool = False  # that step's minibatch held NaN or inf
    nonfinite: dict[str, str] | None = None  # what was not finite though the loss was (a
    # gradient, a weight), in each language: {"en": ..., "zh": ...}
    interrupted_at: int | None = None  # the steps done when Ctrl-C stopped the run
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)  # set by a live panel: its values
    net: Any = field(default=None, compare=False, repr=False)  # the model trained (as it is now)

    @property
    def diverged(self) -> bool:
        """True when the loss stopped being finite."""
        return self.diverged_at is not None

    def step_epochs(self) -> list[float]:
        """For each step, the epochs done by its end: examples seen / epoch_size."""
        if not self.epoch_size:  # not known yet (a generator's first epoch): the steps so far
            return [(i + 1) / len(self.step_loss) for i in range(len(self.step_loss))]
        return [seen / self.epoch_size for seen in itertools.accumulate(self.step_examples)]

    def message(self, language: str | None = None) -> str:
        """One line that says how the run ended (in the language set, or the one given)."""
        def said(key: str, **values) -> str:
            return say(key, language, **values)
        if self.interrupted_at is not None:
            return said("interrupted", step=self.interrupted_at)
        if self.diverged and self.nonfinite:
            why = either(self.nonfinite["en"], self.nonfinite["zh"], language)
            return said("diverged", step=self.diverged_at, why=why)
        if self.diverged_at == 1:
            return said("not finite at start")
        if self.diverged:
            why = said("bad data" if self.bad_data else "lr too large")
            return said("diverged", step=self.diverged_at, why=why)
        if not self.step_loss:
            return said("no steps")
        return said("final loss", loss=f"{self.epoch_loss[-1]:.6g}") if self.epoch_loss \
            else said("stopped")


progress_hooks: list[Callable[[History], None]] = []  # see the module's docstring

Updater = torch.optim.Optimizer | Callable[[int], None]


def train(net: Callable, loss: Callable, updater: Updater, batches: Iterable, epochs: int, *,
          evaluate: Callable[[], dict[str, float]] | None = None,
          record: Callable[[], Any] | None = None, progress: bool = True) -> History:
    """Train net for some epochs; return its History, stopping soon after a non-finite loss.

    loss(y_hat, y) gives one loss per example (with a torch optimizer, also their mean will do).
    updater is a torch optimizer, or a function updater(batch_size) that updates parameters from
    the gradients of the summed loss, like sgd.
    batches is any iterable of (X, y) minibatches, one pass per epoch (a one-shot iterator
    such as a generator only for epochs=1). evaluate() runs after each epoch and returns
    metrics; record() runs after each step and its results go to History.trace (e.g. the
    weights, to draw their path). An nn.Module is put in training mode each epoch.
    When a loss is not finite, it says which weights already held NaN or inf (the net's, the
    optimizer's, or those the loss was computed from), and it checks them at the end of the
    run too. Ctrl-C stops a run with TrainingInterrupted, which holds the History of the steps
    done.
    """
    epochs = check_train_args(net, loss, updater, batches, epochs)
    history = History(epochs=epochs, epoch_size=_epoch_size(batches), net=net)
    weights = _named_weights(net, updater)
    start = time.perf_counter()
    steps = len_or_none(batches)
    with tqdm(total=epochs * steps if steps else None, delay=1.0, disable=not progress,
              leave=False) as bar:
        try:
            for epoch in range(epochs):
                first = len(history.step_loss)
                if not train_epoch(history, net, loss, updater, batches, record, bar, weights):
                    break  # a loss was not finite
                sizes, losses = history.step_examples[first:], history.step_loss[first:]
                if not sizes:
                    check_not_exhausted(epoch)
                history.epoch_size = history.epoch_size or sum(sizes)
                history.epoch_loss.append(sum(l * n for l, n in zip(losses, sizes)) / sum(sizes))
                for name, value in (evaluate() if evaluate else {}).items():
                    history.metrics.setdefault(name, []).append(value)
                for hook in progress_hooks:
                    hook(history)
            _check_weights(history, weights)
        except KeyboardInterrupt:
            history.interrupted_at = len(history.step_loss)
            del history.trace[history.interrupted_at:]  # steps whose loss was not read back
            raise TrainingInterrupted(history) from None
        finally:
            history.seconds = time.perf_counter() - start
    return history


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped train(); .history is the History of the steps done."""

    def __init__(self, history: History):
        super().__init__(history.message() + " (it is this exception's .history)")
        self.history = history


def train_epoch(history: History, net: Callable, loss: Callable, updater: Updater,
                batches: Iterable, record: Callable[[], Any] | None = None,
                bar: tqdm | None = None, weights: list | None = None) -> bool:
    """One pass over batches, each step's loss added to history; False once one is not finite.

    bar, a tqdm progress bar, is advanced after each step. weights, (name, tensor) pairs, are
    looked at when a loss is not finite, to say which one broke; an empty list is filled with
    those the first loss was computed from.
    """
    weights = [] if weights is None else weights
    if isinstance(net, torch.nn.Module):
        net.train()  # evaluate() may have switched it to eval mode
    is_optimizer = isinstance(updater, torch.optim.Optimizer)
    unread = []  # (loss, its count, X, y) of the steps whose loss is still on the device
    every = 0  # steps between reading losses back: set at the first step, from its device
    try:
        for X, y in batches:
            try:
                y_hat = net(X)
                l = loss(y_hat, y)
            except NonFiniteError:  # softmax was given NaN: the weights have diverged
                nan = torch.full((), math.nan, device=X.device)
                return _read(history, [*unread, (nan, 1, X, y)], weights)
            if not every:  # the loss's shape is the same each step: check it at the first
                check_loss(l, y_hat, y, summed=not is_optimizer)
                every = _steps_between_checks(l)
            if is_optimizer:
                objective, count = l.mean(), 1
            else:  # like sgd: the gradients of the summed loss
                objective, count = l.sum(), l.numel()
            if not weights:
                weights += _weights_behind(objective)
            unread.append((objective.detach(), count, X, y))
            if len(unread) == every:  # on the CPU: before this step's update
                finite, unread = _read(history, unread, weights), []
                if not finite:
                    if record is not None and len(history.trace) < history.diverged_at:
                        history.trace.append(record())  # where the weights were
                    return False
            if is_optimizer:
                updater.zero_grad()
            objective.backward()
            if is_optimizer:
                updater.step()
            else:
                updater(len(X))
            if record is not None:
                history.trace.append(record())
            if bar is not None:
                bar.update()
    except KeyboardInterrupt:
        _read(history, unread, weights)  # keep the steps done
        raise
    return _read(history, unread, weights)


def _read(history: History, unread: list, weights: Sequence) -> bool:
    """Add the losses of unread steps to history up to the first that is not finite, and call
    the hooks; False if there was one."""
    if not unread:
        return True
    if len(unread) == 1:  # one step: read its number directly
        totals = [unread[0][0].item()]
    else:  # several (on a GPU): one wait for all of them
        totals = torch.stack([l.float() for l, _, _, _ in unread]).tolist()
    finite = True
    for i, (total, (_, count, X, y)) in enumerate(zip(totals, unread)):
        value = total / count  # the step's mean loss
        history.step_loss.append(value)
        history.step_examples.append(len(X))
        if not math.isfinite(value):
            history.diverged_at = len(history.step_loss)
            history.bad_data = not all(bool(torch.isfinite(t).all()) for t in (X, y)
                                       if isinstance(t, torch.Tensor))
            if not history.bad_data and i == len(unread) - 1:  # no update since: look at them
                _which_weight_broke(history, weights)
            del history.trace[history.diverged_at:]
            finite = False
            break
    for hook in progress_hooks:
        hook(history)
    return finite


def _which_weight_broke(history: History, weights: Sequence) -> None:
    """If weights held NaN or inf before the update of the step whose loss is not finite, the
    update before made them so, from a gradient that was not finite: say which weights."""
    broken = [name for name, w in weights if not bool(torch.isfinite(w).all())]
    step = history.diverged_at
    if not broken or step < 2 or not math.isfinite(history.step_loss[step - 2]):
        return  # the weights are finite: the loss itself overflowed (a learning rate too large)
    names = ", ".join(broken[:3])
    history.nonfinite = {language: say(
        "weights broke", language, names=names, step=step - 1,
        more=say("and more", language, n=len(broken) - 3) if len(broken) > 3 else "",
        loss=f"{history.step_loss[step - 2]:.3g}",
        why=say("broke at start" if step == 2 else "broke later", language))
        for language in ("en", "zh")}


def _named_weights(net: Callable, updater: Updater) -> list[tuple[str, torch.Tensor]]:
    """The weights train() can see, with names for messages: the optimizer's, else the net's."""
    names = {}
    if isinstance(net, torch.nn.Module):
        names = {id(w): name for name, w in net.named_parameters()}
    if isinstance(updater, torch.optim.Optimizer):
        return [(names.get(id(w), f"param_groups[{g}]['params'][{i}] (shape {tuple(w.shape)})"), w)
                for g, group in enumerate(updater.param_groups)
                for i, w in enumerate(group["params"])]
    return [(name, w) for name, w in net.named_parameters()] if names else []


def _weights_behind(loss: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """The tensors with requires_grad=True that the loss was computed from (the weights a
    function like sgd steps), found by walking its graph back to its leaves."""
    found, seen, todo = [], set(), [loss.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):  # a leaf: the node that accumulates its .grad
            found.append(node.variable)
        todo += [parent for parent, _ in node.next_functions]
    return [(f"the weight of shape {tuple(w.shape)}", w) for w in reversed(found)]


def _check_weights(history: History, weights: Sequence) -> None:
    """Mark a run whose losses were all finite but whose weights are not (a loss that hides
    NaN, e.g. torch.nansum)."""
    if history.diverged or all(math.isfinite(float(w.detach().sum())) for _, w in weights):
        return  # (a sum is NaN or inf if any entry is: one number a weight, read at once)
    bad = next((name for name, w in weights if not bool(torch.isfinite(w).all())), None)
    if bad is not None:  # (None: a sum overflowed, though each weight is finite)
        history.diverged_at = len(history.step_loss)
        history.nonfinite = {language: say("loss hides NaN", language, name=bad)
                             for language in ("en", "zh")}


def _steps_between_checks(loss: torch.Tensor) -> int:
    """Read losses back every step on the CPU (it costs nothing), every few on a GPU."""
    return 1 if loss.device.type == "cpu" else SYNC_EVERY


def _epoch_size(batches) -> int | None:
    """Examples per epoch if they can be known before the first epoch, else None."""
    try:
        if isinstance(batches, Batches):
            return len(batches) * batches.batch_size if batches.drop_last \
                else len(batches.features)
        if isinstance(batches, data.DataLoader):
            if batches.drop_last and batches.batch_size:
                return len(batches) * batches.batch_size
            return len(batches.dataset)
        if isinstance(batches, list | tuple):
            return sum(len(batch[0]) for batch in batches)
    except TypeError:  # e.g. an IterableDataset has no len()
        pass
    return None


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
