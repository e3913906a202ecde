"""Where tensors live, and how runs are made repeatable."""

import numbers
import random

import numpy as np
import torch


def try_gpu(i: int = 0) -> torch.device:
    """Return the i-th CUDA device if there is one, else the CPU."""
    if isinstance(i, bool) or not isinstance(i, numbers.Integral) or i < 0:
        raise ValueError(f"try_gpu(i) needs a GPU number i, an integer >= 0 (0 is the first "
                         f"GPU), got i={i!r}")
    if torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def check_device(device, name: str = "device") -> torch.device:
    """Return device as a torch.device if tensors can be put there, else raise ValueError."""
    hint = "use d2lmini.try_gpu() (a GPU if there is one, else the CPU) or 'cpu'"
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{name} must be a device such as 'cpu' or 'cuda', got {device!r}: "
                         f"{hint}") from None
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device.type == "cuda" and (device.index or 0) >= gpus:
        raise ValueError(f"{name}={str(device)!r}, but torch sees {gpus or 'no'} CUDA GPU(s) on "
                         f"this computer: {hint}")
    return device


def set_seed(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator with that seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
