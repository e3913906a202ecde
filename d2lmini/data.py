"""Data for the chapters: synthetic regression data, minibatches, and chapter 6's two-class
problems in the plane."""

import math
from collections.abc import Iterator, Sequence

import torch
from torch.utils import data

from .device import try_gpu
from .validate import check_batches_data, check_finite, check_number, check_positive_int, check_seed

CHUNK_BYTES = 64 << 10  # Batches gathers up to this many bytes of examples at a time


def synthetic_data(w, b: float, num_examples: int, noise: float = 0.01,
                   device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Make y = Xw + b + noise, with X ~ N(0, 1); y has shape (num_examples, 1)."""
    device = device or try_gpu()
    check_finite(w, "w")
    w = torch.as_tensor(w, dtype=torch.float32, device=device)
    check_positive_int(num_examples, "num_examples")
    check_finite(b, "b")
    check_number(noise, "noise", 0, hint=" (the standard deviation of the noise; try 0.01)")
    X = torch.normal(0, 1, (num_examples, len(w)), device=device)
    y = X @ w.reshape(-1, 1) + b
    y += torch.normal(0, noise, y.shape, device=device)
    return X, y


class Batches:
    """Minibatches (X[idx], y[idx]) cut by index from tensors that stay on their device (small
    ones gathered several at a time, up to CHUNK_BYTES, then split).

    Iterate it once per epoch. The last batch holds what is left over (fewer than
    batch_size examples) unless drop_last=True. shuffle=True draws a new order each
    epoch from a seeded generator, so two Batches with the same seed agree; seed=None takes
    the seed from torch's global generator, so d2lmini.set_seed() makes it repeatable too.
    """

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 shuffle: bool = True, drop_last: bool = False, seed: int | None = 0):
        check_batches_data(features, labels, batch_size)
        check_seed(seed, "seed")
        self.batch_size = int(batch_size)
        self.features, self.labels = features, labels
        self.shuffle, self.drop_last = shuffle, drop_last
        if seed is None:
            seed = int(torch.randint(2**62, (), device="cpu"))
        self.generator = torch.Generator(device="cpu").manual_seed(int(seed))

    def __len__(self) -> int:
        n, b = len(self.features), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        end = len(self) * self.batch_size  # past the last example kept; slicing stops at n
        order = None
        if self.shuffle:
            order = torch.randperm(len(self.features), generator=self.generator, device="cpu")
            order = order.to(self.features.device)
        # small batches: gather the rows of several at once (one index operation per chunk, not
        # one per batch) and cut them into views; a chunk stays small enough for the CPU's cache
        per_chunk = max(1, CHUNK_BYTES // (self.batch_size * self._row_bytes()))
        size = self.batch_size * per_chunk
        for start in range(0, end, size):
            stop = min(start + size, end)
            if order is None:
                X, y = self.features[start:stop], self.labels[start:stop]
            else:  # index_select copies whole rows, faster than X[rows] for wide ones
                rows = order[start:stop]
                X, y = self.features.index_select(0, rows), self.labels.index_select(0, rows)
            if per_chunk == 1:
                yield X, y
            else:
                yield from zip(X.split(self.batch_size), y.split(self.batch_size))

    def _row_bytes(self) -> int:
        """Bytes of one example: its features and its label."""
        return sum(t[:1].numel() * t.element_size() for t in (self.features, self.labels)) or 1


def data_iter(batch_size: int, features: torch.Tensor,
              labels: torch.Tensor) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield shuffled minibatches for one epoch, the last one possibly smaller (d2l's data_iter)."""
    check_batches_data(features, labels, batch_size)
    num_examples = len(features)
    indices = torch.randperm(num_examples, device=features.device)  # a new order every epoch
    for i in range(0, num_examples, batch_size):
        batch_indices = indices[i:i + batch_size]
        yield features[batch_indices], labels[batch_indices]


def load_array(data_arrays: Sequence[torch.Tensor], batch_size: int,
               is_train: bool = True) -> data.DataLoader:
    """Wrap tensors in a PyTorch DataLoader that shuffles when is_train (d2l's load_array)."""
    if isinstance(data_arrays, torch.Tensor) or not isinstance(data_arrays, Sequence) or not (
            data_arrays and all(isinstance(a, torch.Tensor) for a in data_arrays)):
        got = (f"a single tensor of shape {tuple(data_arrays.shape)}"
               if isinstance(data_arrays, torch.Tensor) else repr(data_arrays)[:80])
        raise ValueError(f"data_arrays must be a tuple of tensors with one row per example, "
                         f"e.g. load_array((features, labels), batch_size); got {got}")
    for array in data_arrays[1:] or data_arrays:  # each array against the first
        check_batches_data(data_arrays[0], array, batch_size)
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


SHAPES_2D = ("spiral", "moons", "circles", "xor")  # chapter 6's two-class problems


def two_class_2d(shape: str, num_examples: int = 400, noise: float = 0.1, seed: int = 0,
                 device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Points in the plane (about [-1, 1]²) of two classes (labels 0, 1), interleaved as
    `shape` says: "spiral", "moons", "circles" or "xor"; noise is the std of a Gaussian jitter."""
    if shape not in SHAPES_2D:
        raise ValueError(f"shape must be one of {', '.join(SHAPES_2D)}; got {shape!r}")
    check_positive_int(num_examples, "num_examples")
    check_number(noise, "noise", 0, hint=" (the jitter's standard deviation; try 0.1)")
    check_seed(seed)
    device = device or try_gpu()
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(num_examples) % 2  # half of each class
    u = torch.rand(num_examples, generator=gen)
    if shape == "spiral":  # two arms, each turning 1.5 times: radius r at angle 3 pi r
        r = 0.1 + 0.9 * u
        X = r[:, None] * _direction(3 * math.pi * r + math.pi * y)
    elif shape == "moons":  # two interlocking half circles
        X = _direction(math.pi * u) * (1 - 2 * y[:, None]) + torch.stack([y - 0.5, y / 2 - 0.25], 1)
        X = X / 1.5
    elif shape == "circles":  # a ring of radius 0.9 around a disc of radius 0.5
        X = torch.where(y[:, None] == 1, 0.9, 0.5 * u.sqrt()[:, None]) \
            * _direction(2 * math.pi * torch.rand(num_examples, generator=gen))
    else:  # xor: the sign of x1 times x2
        X = 2 * torch.rand(num_examples, 2, generator=gen) - 1
        y = (X[:, 0] * X[:, 1] > 0).long()
    X = X + noise * torch.randn(num_examples, 2, generator=gen)
    return X.to(device), y.to(device)


def _direction(angle: torch.Tensor) -> torch.Tensor:
    """Unit vectors (cos, sin) of the angles, one per row."""
    return torch.stack([angle.cos(), angle.sin()], dim=1)
