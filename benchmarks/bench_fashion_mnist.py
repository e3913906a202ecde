"""Time one epoch of softmax regression on full Fashion-MNIST, fed three ways, and the parse.

    python benchmarks/bench_fashion_mnist.py [--repeats 5] [--device cpu|cuda]

Feeds compared, in the same process, on the same tensors:
  load_data_fashion_mnist  d2lmini's Batches (index slices of resident tensors)
  randperm slices          a plain loop over torch.randperm slices of the same tensors
  DataLoader               torch.utils.data.DataLoader(TensorDataset(X, y), shuffle=True)
Each repeat runs the three in turn; the medians are printed. Target: d2lmini / plain <= 1.2.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from d2lmini import fashion_mnist as fm  # noqa: E402
from d2lmini.device import try_gpu  # noqa: E402

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist"
BATCH_SIZE, LR = 256, 0.1


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def one_epoch(batches, device: torch.device) -> float:
    """Train a fresh softmax regression for one pass over batches; return the seconds."""
    torch.manual_seed(0)
    net = nn.Linear(784, 10).to(device)
    loss = nn.CrossEntropyLoss()
    trainer = torch.optim.SGD(net.parameters(), lr=LR)
    sync(device)
    start = time.perf_counter()
    for X, y in batches:
        X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
        trainer.zero_grad()
        loss(net(X), y).backward()
        trainer.step()
    sync(device)
    return time.perf_counter() - start


def randperm_slices(X: torch.Tensor, y: torch.Tensor, batch_size: int):
    """The plain loop: one random permutation, then slices of it."""
    order = torch.randperm(len(X), device=X.device)
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default=None, help="default: try_gpu()")
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else try_gpu()
    if not all((DATA_DIR / name).is_file() for name in fm.FILE_NAMES):
        sys.exit(f"the four Fashion-MNIST files are not in {DATA_DIR}")
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"{args.repeats} repeats, batch {BATCH_SIZE}")

    # Loading: cold parse (in-process cache cleared) of the four gzip files into memory.
    parse, cold, warm = [], [], []
    for _ in range(3):
        start = time.perf_counter()
        for name in fm.FILE_NAMES:
            fm.read_idx_gz(DATA_DIR / name)
        parse.append(time.perf_counter() - start)
        fm._uint8_tensors.cache_clear()
        start = time.perf_counter()
        fm.load_data_fashion_mnist(BATCH_SIZE, "full", flatten=True, data_dir=DATA_DIR,
                                   device=device)
        sync(device)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        train_iter, _ = fm.load_data_fashion_mnist(BATCH_SIZE, "full", flatten=True,
                                                   data_dir=DATA_DIR, device=device)
        sync(device)
        warm.append(time.perf_counter() - start)
    print(f"parse 4 gzip IDX files -> uint8 arrays     {statistics.median(parse):7.3f} s")
    print(f"load_data_fashion_mnist, cold (no cache)  {statistics.median(cold):7.3f} s")
    print(f"load_data_fashion_mnist, cached           {statistics.median(warm):7.3f} s")

    X, y = train_iter.features, train_iter.labels  # the same resident tensors for every feed
    cpu_X, cpu_y = X.cpu(), y.cpu()
    feeds = {
        "load_data_fashion_mnist": lambda: train_iter,
        "randperm slices": lambda: randperm_slices(X, y, BATCH_SIZE),
        "DataLoader(TensorDataset)": lambda: DataLoader(
            TensorDataset(cpu_X, cpu_y), batch_size=BATCH_SIZE, shuffle=True,
            pin_memory=device.type == "cuda"),
    }
    for make in feeds.values():  # warm-up
        one_epoch(make(), device)
    times = {name: [] for name in feeds}
    for _ in range(args.repeats):
        for name, make in feeds.items():
            times[name].append(one_epoch(make(), device))
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"one epoch of softmax regression ({len(X)} images), median of {args.repeats}:")
    for name, t in medians.items():
        print(f"  {name:27s} {t:7.3f} s   (all: {', '.join(f'{x:.3f}' for x in times[name])})")
    base = medians["randperm slices"]
    ratio = medians["load_data_fashion_mnist"] / base
    print(f"ratio load_data_fashion_mnist / randperm slices   {ratio:5.2f}x "
          f"({'OK' if ratio <= 1.2 else 'ABOVE'} the 1.2x target)")
    loader = medians["DataLoader(TensorDataset)"]
    print(f"ratio DataLoader(TensorDataset) / randperm slices {loader / base:5.2f}x")
    print(f"ratio DataLoader / load_data_fashion_mnist        "
          f"{loader / medians['load_data_fashion_mnist']:5.2f}x")


if __name__ == "__main__":
    main()
