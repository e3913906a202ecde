"""Where tensors live, and how runs are made repeatable."""

import random

import numpy as np
import torch


def try_gpu(i: int = 0) -> torch.device:
    """Return the i-th CUDA device if there is one, else the CPU."""
    if torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def set_seed(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator with that seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
