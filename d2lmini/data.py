"""Data for the chapters: synthetic regression data and minibatches."""

from collections.abc import Iterator, Sequence

import torch
from torch.utils import data

from .device import try_gpu
from .validate import check_positive_int, check_same_length


def synthetic_data(w, b: float, num_examples: int, noise: float = 0.01,
                   device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Make y = Xw + b + noise, with X ~ N(0, 1); y has shape (num_examples, 1)."""
    check_positive_int(num_examples, "num_examples")
    device = device or try_gpu()
    w = torch.as_tensor(w, dtype=torch.float32, device=device).reshape(-1, 1)
    X = torch.randn(num_examples, len(w), device=device)
    y = X @ w + b
    y += noise * torch.randn(y.shape, device=device)
    return X, y


class Batches:
    """Minibatches (X[idx], y[idx]) cut by index from tensors that stay on their device.

    Iterate it once per epoch. The last batch holds what is left over (fewer than
    batch_size examples) unless drop_last=True. shuffle=True draws a new order each
    epoch from a seeded generator, so two Batches with the same seed agree; seed=None takes
    the seed from torch's global generator, so d2lmini.set_seed() makes it repeatable too.
    """

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 shuffle: bool = True, drop_last: bool = False, seed: int | None = 0):
        check_same_length(features, labels)
        self.batch_size = check_positive_int(batch_size, "batch_size", upper=len(features))
        self.features, self.labels = features, labels
        self.shuffle, self.drop_last = shuffle, drop_last
        if seed is None:
            seed = int(torch.randint(2**62, (), device="cpu"))
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def __len__(self) -> int:
        n, b = len(self.features), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.features)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator, device="cpu")
            order = order.to(self.features.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            if self.shuffle:
                idx = order[start:start + self.batch_size]
                yield self.features[idx], self.labels[idx]
            else:
                yield (self.features[start:start + self.batch_size],
                       self.labels[start:start + self.batch_size])


def data_iter(batch_size: int, features: torch.Tensor, labels: torch.Tensor,
              seed: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield shuffled minibatches for one epoch, the last one possibly smaller (d2l's data_iter)."""
    yield from Batches(features, labels, batch_size, shuffle=True, seed=seed)


def load_array(data_arrays: Sequence[torch.Tensor], batch_size: int,
               is_train: bool = True) -> data.DataLoader:
    """Wrap tensors in a PyTorch DataLoader that shuffles when is_train (d2l's load_array)."""
    for array in data_arrays[1:]:
        check_same_length(data_arrays[0], array)
    check_positive_int(batch_size, "batch_size", upper=len(data_arrays[0]))
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)
