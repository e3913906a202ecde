"""Argument checks at the public boundary, with messages that say what to do."""

import math
import numbers
from collections.abc import Iterable, Iterator

import torch


class NonFiniteError(ValueError):
    """A tensor holds NaN or inf where a finite number is needed (d2lmini.train stops on it)."""


def check_number(value, name: str, low: float, high: float | None = None, *,
                  low_open: bool = False, high_open: bool = True, hint: str = "") -> float:
    """Return value as a float if it is a finite number in the range, else raise ValueError."""
    ok = type(value) in (float, int) or (  # the common case first: this runs every step
        not isinstance(value, bool) and isinstance(value, numbers.Real))
    ok = ok and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low)
    ok = ok and (high is None or (value < high if high_open else value <= high))
    if not ok:
        if high is None:
            allowed = f"a finite number {'>' if low_open else '>='} {low:g}"
        else:
            allowed = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be {allowed}{hint}, got {value!r}")
    return float(value)


def check_positive_int(value: int, name: str, upper: int | None = None) -> int:
    """Return value if it is an integer in [1, upper], else raise ValueError."""
    if type(value) is not int and (isinstance(value, bool)
                                   or not isinstance(value, numbers.Integral)):
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if value < 1 or (upper is not None and value > upper):
        allowed = f"between 1 and {upper}" if upper is not None else ">= 1"
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return int(value)


def check_batches_data(features, labels, batch_size: int) -> None:
    """Check the tensors and batch size that minibatches are cut from."""
    if len(features) != len(labels):
        raise ValueError(f"features and labels must have the same number of examples, "
                         f"got {len(features)} and {len(labels)}")
    if len(features) == 0:
        raise ValueError("the data is empty: features has 0 examples, so there is nothing to "
                         "train or evaluate on")
    check_positive_int(batch_size, "batch_size", upper=len(features))


def check_finite(value, name: str) -> None:
    """Raise ValueError if value (a number or a tensor) holds NaN or inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | torch.Tensor):
        try:
            value = torch.as_tensor(value, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"{name} must be a number or a tensor of numbers, "
                             f"got {value!r}") from None
    finite = (math.isfinite(value) if isinstance(value, numbers.Real)
              else bool(torch.isfinite(value).all()))
    if not finite:
        raise ValueError(f"{name} must be finite (no NaN or inf), got {value!r}")


def check_tensor(value, name: str) -> None:
    """Raise ValueError unless value is a torch tensor."""
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name} must be a torch tensor, got {type(value).__name__} "
                         f"(use torch.as_tensor({name}))")


def check_no_nan(X: torch.Tensor, name: str = "X") -> None:
    """Raise NonFiniteError if X holds NaN or +inf (softmax would return NaN for that row)."""
    bad = torch.isnan(X).logical_or_(torch.isposinf(X))
    if bad.any():  # one check; on a GPU this waits for X to be computed
        row = int(bad.reshape(len(X), -1).any(dim=1).nonzero()[0, 0]) if X.ndim else 0
        raise NonFiniteError(
            f"{name} holds NaN or +inf (first in row {row}), so the softmax would be NaN: "
            f"look for NaN or inf in the data, or in the weights (a learning rate that is too "
            f"large makes them NaN)")


def check_label_shape(y_hat: torch.Tensor, y: torch.Tensor) -> None:
    """Raise ValueError unless y is one class index per row of y_hat, shape (n,)."""
    n = len(y_hat)
    if y.ndim != 1 or len(y) != n:
        hint = " (use y.reshape(-1))" if y.numel() == n else ""
        raise ValueError(
            f"y must hold one class index per row of y_hat, shape ({n},), got shape "
            f"{tuple(y.shape)} for y_hat of shape {tuple(y_hat.shape)}{hint}; other shapes "
            f"would be broadcast and give a wrong number")


def check_class_labels(y_hat: torch.Tensor, y: torch.Tensor) -> None:
    """Raise ValueError unless y holds integer labels 0..classes-1, one per row of y_hat."""
    if y_hat.ndim != 2:
        raise ValueError(f"y_hat must have shape (examples, classes), got {tuple(y_hat.shape)}")
    check_label_shape(y_hat, y)
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise ValueError(f"y must hold integer class indices, got dtype {y.dtype} "
                         f"(use y.long())")
    classes = y_hat.shape[1]
    if len(y) and bool(((y < 0) | (y >= classes)).any()):
        raise ValueError(f"y must hold class indices 0..{classes - 1} (y_hat has {classes} "
                         f"columns), got labels from {int(y.min())} to {int(y.max())}")


def check_has_grads(params: list) -> None:
    """Raise ValueError unless every parameter has a gradient, as after loss.backward()."""
    for i, param in enumerate(params):
        if not isinstance(param, torch.Tensor):
            raise ValueError(f"params[{i}] must be a tensor, got {type(param).__name__}")
        if param.grad is None:
            why = ("" if param.requires_grad else
                   " and it was made without requires_grad=True, so it never will")
            raise ValueError(
                f"params[{i}] (shape {tuple(param.shape)}) has no gradient{why}: "
                f"call loss.backward() before sgd(...)")


def check_counted(count: int, name: str = "data_iter") -> None:
    """Raise ValueError if a loop over name saw no examples."""
    if count == 0:
        raise ValueError(f"{name} gave no examples, so there is no accuracy to compute: "
                         f"pass minibatches (X, y), e.g. a d2lmini.Batches")


def len_or_none(batches) -> int | None:
    """len(batches), or None for iterables without one (generators, iterable datasets)."""
    try:
        return len(batches)
    except TypeError:
        return None


def check_train_args(net, loss, updater, batches, epochs) -> int:
    """Return epochs if train() can work with these arguments, else raise ValueError naming one."""
    epochs = check_positive_int(epochs, "epochs")
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
    if len_or_none(batches) == 0:
        raise ValueError("batches is empty: there are no minibatches to train on")
    if isinstance(batches, Iterator) and epochs > 1:
        raise ValueError(f"batches is a one-shot iterator ({type(batches).__name__}): it gives "
                         f"its minibatches only once, but epochs={epochs} needs a pass per "
                         f"epoch. Pass a re-iterable such as d2lmini.Batches(features, labels, "
                         f"batch_size) or a DataLoader, or use epochs=1")
    return epochs


def check_not_exhausted(epoch: int) -> None:
    """Raise ValueError: batches gave no minibatches in this epoch (counted from 0)."""
    again = (" (an iterator can be used only once: pass a re-iterable such as "
             "d2lmini.Batches or a DataLoader)") if epoch else ""
    raise ValueError(f"batches gave no minibatches in epoch {epoch + 1}{again}")


def check_loss(l, y_hat: torch.Tensor, y, summed: bool) -> None:
    """Raise ValueError if a loss cannot train correctly: not a tensor, broadcast into one loss
    per (prediction, label) pair, one number where the updater sums per-example losses, or
    not connected to any weight."""
    if not isinstance(l, torch.Tensor):
        raise ValueError(f"loss(y_hat, y) must return a tensor (one loss per example), got "
                         f"{type(l).__name__} {l!r:.40}: compute it from y_hat with torch "
                         f"operations (a Python number has no gradient to train with)")
    n = len(y_hat) if y_hat.ndim else 1
    if n > 1 and l.shape[:2] == (n, n) and l.shape != y_hat.shape:
        y_shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"loss(y_hat, y) gave shape {tuple(l.shape)} for {n} examples: y_hat "
                         f"{tuple(y_hat.shape)} and y {y_shape} were broadcast against each "
                         f"other (every prediction against every label). Reshape y like y_hat: "
                         f"y.reshape(y_hat.shape)")
    if summed and n > 1 and l.numel() == 1:
        raise ValueError(f"loss(y_hat, y) gave one number for a minibatch of {n} examples, but "
                         f"the updater (a function like sgd) takes the gradient of the summed "
                         f"losses and divides by the batch size itself: return one loss per "
                         f"example (e.g. reduction='none'), or pass a torch optimizer")
    if torch.is_grad_enabled() and not l.requires_grad:
        raise ValueError("the loss does not depend on any weight with requires_grad=True: make "
                         "the weights with requires_grad=True, and do not compute the model "
                         "under torch.no_grad() or from .detach()ed tensors")


def check_seed(value, name: str = "seed") -> None:
    """Raise ValueError unless value is None or an integer that torch can seed a generator with."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                              or not -2**63 <= value < 2**64):
        raise ValueError(f"{name} must be an integer (e.g. 0; the same seed gives the same "
                         f"order) or None (a seed drawn from torch's generator), got {value!r}")


def check_floating(value, name: str, why: str = "") -> None:
    """Raise ValueError unless value is a tensor of floating-point (or complex) numbers."""
    check_tensor(value, name)
    if not (value.dtype.is_floating_point or value.dtype.is_complex):
        raise ValueError(f"{name} must hold floating-point numbers{why}, got dtype {value.dtype}"
                         f" (use {name}.float())")


def check_real_numbers(value, name: str) -> None:
    """Raise ValueError unless value is a tensor of real numbers: not True/False, not complex."""
    check_tensor(value, name)
    if value.dtype == torch.bool:
        raise ValueError(f"{name} must hold numbers, got True/False values (dtype torch.bool): "
                         f"use {name}.float()")
    if value.dtype.is_complex:
        raise ValueError(f"{name} must hold real numbers, got dtype {value.dtype}: pass "
                         f"{name}.abs() (the size of each entry) or torch.view_as_real({name}) "
                         f"(real and imaginary parts as two real numbers)")


def check_matmul_args(X: torch.Tensor, w: torch.Tensor) -> None:
    """Raise ValueError unless X @ w can be computed: one dtype, X's columns = w's rows."""
    if not (isinstance(X, torch.Tensor) and isinstance(w, torch.Tensor)):
        return  # torch's own message names the type
    if X.dtype != w.dtype:
        fix = "X.float()" if not X.is_floating_point() else f"X.to({w.dtype})"
        raise ValueError(f"X has dtype {X.dtype} but w has {w.dtype}: X @ w needs one dtype; "
                         f"convert the features with {fix}")
    if X.ndim and w.ndim and X.shape[-1] != w.shape[0]:
        raise ValueError(f"X has {X.shape[-1]} columns (shape {tuple(X.shape)}) but w has "
                         f"{w.shape[0]} rows (shape {tuple(w.shape)}): w needs one row per "
                         f"feature, e.g. torch.zeros(({X.shape[-1]}, 1))")


def check_same_count(y_hat: torch.Tensor, y: torch.Tensor) -> None:
    """Raise ValueError unless y holds one label per prediction in y_hat."""
    if y_hat.numel() != y.numel():
        raise ValueError(f"y has {y.numel()} values (shape {tuple(y.shape)}) but y_hat has "
                         f"{y_hat.numel()} (shape {tuple(y_hat.shape)}): give the predictions "
                         f"and the labels of the same examples, one label per prediction")


def check_logits(X: torch.Tensor) -> None:
    """Raise ValueError unless X is a matrix of logits, shape (examples, classes)."""
    if X.ndim != 2:
        raise ValueError(f"X must have shape (examples, classes), got {tuple(X.shape)}: the "
                         f"softmax is taken over each row; for one example use X.reshape(1, -1)")
