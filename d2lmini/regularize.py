"""Regularization written from scratch: dropout and the weight penalties (chapter 5).

- `dropout_layer(X, dropout)` zeroes each entry of X with probability `dropout` and scales the
  kept ones by 1 / (1 - dropout) ("inverted dropout"), so the expected output is X and nothing
  needs rescaling at test time.
- `l2_penalty(w)` is half the sum of squares (weight decay); `l1_penalty(w)` is the sum of
  absolute values (it pushes weights to exactly zero). Add lambd * penalty to the loss.
"""

import torch

from .validate import check_floating, check_number, check_real_numbers


def dropout_layer(X: torch.Tensor, dropout: float) -> torch.Tensor:
    """Zero each entry of X with probability dropout; scale the rest by 1 / (1 - dropout)."""
    check_floating(X, "X", " (dropout scales the kept entries by 1 / (1 - dropout))")
    check_number(dropout, "dropout", 0, 1, high_open=False)
    if dropout == 1:
        return X * 0  # every unit dropped: zeros whose gradient is 0 (no division by 1 - 1)
    mask = (torch.rand(X.shape, device=X.device) < 1 - dropout).to(X.dtype)  # keep: 1, drop: 0
    return mask * X / (1 - dropout)


def l2_penalty(w: torch.Tensor) -> torch.Tensor:
    """Half the sum of the squares of w (the weight-decay penalty)."""
    check_real_numbers(w, "w")
    return (w ** 2).sum() / 2


def l1_penalty(w: torch.Tensor) -> torch.Tensor:
    """The sum of the absolute values of w (the lasso penalty)."""
    check_real_numbers(w, "w")
    return w.abs().sum()
