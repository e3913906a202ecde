"""Models, losses and the optimizer written from scratch, as in the first chapters.

The bodies are the lines the chapters write in their cells; the package adds only argument
checks (the `check_*` calls), so a mistake gets a clear message instead of a wrong number.
"""

from collections.abc import Iterable

import torch

from .validate import (
    check_class_labels,
    check_has_grads,
    check_logits,
    check_matmul_args,
    check_no_nan,
    check_number,
    check_positive_int,
    check_same_count,
)


def linreg(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The linear regression model X @ w + b."""
    check_matmul_args(X, w)
    return X @ w + b


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Half the squared error of each example (not reduced); y is reshaped like y_hat."""
    check_same_count(y_hat, y)
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params: Iterable[torch.Tensor], lr: float, batch_size: int) -> None:
    """One minibatch SGD step on summed-loss gradients, in place; zeroes the gradients."""
    params = list(params)
    lr = check_number(lr, "lr", 0, low_open=True, hint=" (try 0.03)")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_has_grads(params)
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def softmax(X: torch.Tensor) -> torch.Tensor:
    """Row-wise softmax, stable for large logits: exp(X - max) / sum(exp(X - max))."""
    check_logits(X)
    check_no_nan(X)
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def cross_entropy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example cross-entropy -log y_hat[i, y_i] of predicted probabilities y_hat."""
    check_class_labels(y_hat, y)
    return -torch.log(y_hat[range(len(y_hat)), y])
