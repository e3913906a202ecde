"""Fashion-MNIST: 28x28 grey images of clothes in 10 classes, as tensors and minibatches.

``subset="mini"`` (the default) ships inside d2lmini: the first 500 training and the first 100
test images of each class, so it needs no network. ``subset="full"`` is the whole set (60000
training and 10000 test images), from the folder you name (``data_dir``, or else the
environment variable ``D2LMINI_DATA``) or else downloaded once into a cache folder by
``d2lmini.machinery.download``, which also checks that they hold Fashion-MNIST. Both are the
official gzip'd IDX files, read here.
"""

import functools
import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np
import torch

from .data import Batches
from .device import check_device, try_gpu
from .validate import check_positive_int, check_seed

# The four files, named as in the official set; the mini subset uses the same names.
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
TRAIN_SIZE, TEST_SIZE = 60000, 10000  # images in the full set's training and test files
ENV_VAR = "D2LMINI_DATA"  # a folder that holds the full set's four files
MINI_DIR = Path(__file__).resolve().parent / "fashion_mnist_mini"
SUBSETS = ("mini", "full")
TEXT_LABELS = ("t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle boot")


def _read_bytes(path: Path) -> bytes:
    """Return a file's bytes; an unreadable file gets a message that says what to do."""
    try:
        return path.read_bytes()
    except PermissionError:
        raise PermissionError(f"cannot read {path}: permission denied. Make it readable for "
                              f"your user (e.g. chmod a+r), or copy it to a folder of your own "
                              f"and read it from there") from None


def read_idx_gz(path: str | os.PathLike) -> np.ndarray:
    """Read one gzip'd IDX file of unsigned bytes into a uint8 NumPy array of its shape."""
    path = Path(path)
    fix = "delete it (or replace it with a good copy) and load the data again"
    try:
        raw = gzip.decompress(_read_bytes(path))  # also checks the gzip CRC-32 and length
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ValueError(f"{path} is not a complete gzip file ({err}); {fix}") from None
    # IDX header: two zero bytes, a type byte (0x08 = unsigned byte), the number of
    # dimensions, then each dimension as a big-endian uint32.
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or not 1 <= raw[3] <= 3:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes "
                         f"(bad magic number {raw[:4].hex()}); {fix}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    if len(raw) != header + int(np.prod(shape)):
        raise ValueError(f"{path} should hold {shape} bytes after its header but holds "
                         f"{len(raw) - header}; {fix}")
    # copy() gives a writable array that owns its memory (torch warns about read-only ones).
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def read_set(folder: Path) -> tuple[np.ndarray, ...]:
    """Read the four files in folder; check that images and labels fit together."""
    arrays = tuple(read_idx_gz(folder / name) for name in FILE_NAMES)
    for images, labels, name in ((*arrays[:2], TRAIN_IMAGES), (*arrays[2:], TEST_IMAGES)):
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
            raise ValueError(f"{folder / name} holds images of shape {images.shape} for "
                             f"{labels.shape} labels; expected (N, 28, 28) and (N,)")
    return arrays


def _check_mini_files() -> None:
    """Raise if a bundled mini file does not match the SHA256SUMS recorded beside it."""
    for line in _read_bytes(MINI_DIR / "SHA256SUMS").decode().splitlines():
        expected, name = line.split()
        if hashlib.sha256(_read_bytes(MINI_DIR / name)).hexdigest() != expected:
            raise ValueError(f"the bundled file {MINI_DIR / name} is damaged (SHA-256 "
                             f"mismatch); reinstall d2lmini, or rebuild the subset with "
                             f"python -m d2lmini.machinery.download --make-mini")


@functools.lru_cache(maxsize=4)
def _uint8_tensors(subset: str, data_dir: str | None,
                   env_dir: str | None) -> tuple[torch.Tensor, ...]:
    """Parse a subset once per process; the key holds $D2LMINI_DATA so changing it counts."""
    if subset == "mini":
        _check_mini_files()
        arrays = read_set(MINI_DIR)
    else:  # finds (or downloads) the four files, reads them, checks that they are Fashion-MNIST
        from .machinery.download import read_full_set
        arrays = read_full_set(data_dir)
    return tuple(torch.from_numpy(a) for a in arrays)


def fashion_mnist_tensors(subset: str = "mini", *, data_dir: str | os.PathLike | None = None,
                          device: torch.device | str | None = None,
                          flatten: bool = False) -> tuple[torch.Tensor, ...]:
    """Return (train_X, train_y, test_X, test_y): float32 images in [0, 1], int64 labels."""
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    data_dir = str(data_dir) if data_dir is not None else None
    if subset == "mini" and data_dir:
        raise ValueError(f"data_dir={data_dir!r} is used only with subset='full' (the mini "
                         f"subset ships inside d2lmini): pass subset='full' to load the full "
                         f"set from that folder, or leave data_dir out")
    device = check_device(device) if device is not None else try_gpu()
    cached = _uint8_tensors(subset, data_dir, os.environ.get(ENV_VAR))
    train_X, train_y, test_X, test_y = (t.to(device) for t in cached)  # move bytes, once
    # Scale and reshape the whole tensor at once; the results are new tensors, so changing
    # them in place never touches the cache.
    shape = (-1, 28 * 28) if flatten else (-1, 1, 28, 28)
    return (train_X.to(torch.float32).div_(255).reshape(shape), train_y.to(torch.int64),
            test_X.to(torch.float32).div_(255).reshape(shape), test_y.to(torch.int64))


def load_data_fashion_mnist(batch_size: int, subset: str = "mini", *, flatten: bool = False,
                            data_dir: str | os.PathLike | None = None,
                            device: torch.device | str | None = None,
                            shuffle_seed: int | None = 0) -> tuple[Batches, Batches]:
    """Return (train_iter, test_iter) minibatches of Fashion-MNIST (d2l's function)."""
    check_positive_int(batch_size, "batch_size")
    check_seed(shuffle_seed, "shuffle_seed")
    train_X, train_y, test_X, test_y = fashion_mnist_tensors(
        subset, data_dir=data_dir, device=device, flatten=flatten)
    if batch_size > len(test_X):
        raise ValueError(f"batch_size must be between 1 and {len(test_X)} (the size of the "
                         f"{subset!r} test set), got {batch_size}")
    return (Batches(train_X, train_y, batch_size, shuffle=True, seed=shuffle_seed),
            Batches(test_X, test_y, batch_size, shuffle=False))


def get_fashion_mnist_labels(labels) -> list[str]:
    """Return the text labels ('t-shirt', ..., 'ankle boot') for numeric labels 0..9."""
    labels = [int(i) for i in labels]
    bad = [i for i in labels if not 0 <= i < len(TEXT_LABELS)]
    if bad:
        raise ValueError(f"labels must be class numbers 0..9 (the 10 Fashion-MNIST classes), "
                         f"got {bad[0]}")
    return [TEXT_LABELS[i] for i in labels]
