"""Argument checks at the public boundary, with messages that say what to do."""

import math
import numbers


def check_lr(lr: float, name: str = "lr") -> float:
    """Return lr as a float if it is finite and > 0, else raise ValueError."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"{name} must be a finite number > 0 (try 0.03), got {lr!r}")
    return float(lr)


def check_positive_int(value: int, name: str, upper: int | None = None) -> int:
    """Return value if it is an integer in [1, upper], else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if value < 1 or (upper is not None and value > upper):
        allowed = f"between 1 and {upper}" if upper is not None else ">= 1"
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return int(value)


def check_same_length(features, labels) -> None:
    """Raise ValueError unless features and labels have the same number of rows."""
    if len(features) != len(labels):
        raise ValueError(
            f"features and labels must have the same number of examples, "
            f"got {len(features)} and {len(labels)}"
        )
