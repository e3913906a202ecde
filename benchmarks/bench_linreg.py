"""Chapter 1's costs, as ratios against plain torch in the same process.

    python benchmarks/bench_linreg.py

1. One epoch of minibatch SGD on the synthetic data (1000 examples) with d2lmini's helpers
   (Batches, linreg, squared_loss, sgd, train) vs a plain loop over torch.randperm slices.
2. `import d2lmini` on top of `import torch`, in fresh interpreters.
The live panels' release-to-redraw times: benchmarks/bench_panels.py.
"""

import statistics
import subprocess
import sys
import time

import torch

import d2lmini


def d2lmini_epoch(X, y, batch_size, lr=0.03):
    w = torch.normal(0, 0.01, (2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    d2lmini.train(lambda X: d2lmini.linreg(X, w, b), d2lmini.squared_loss,
                  lambda n: d2lmini.sgd([w, b], lr, n), d2lmini.Batches(X, y, batch_size), 1,
                  progress=False)


def plain_epoch(X, y, batch_size, lr=0.03):
    w = torch.normal(0, 0.01, (2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    order = torch.randperm(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        loss = ((X[idx] @ w + b - y[idx]) ** 2 / 2).sum()
        loss.backward()
        with torch.no_grad():
            for p in (w, b):
                p -= lr * p.grad / len(idx)
                p.grad.zero_()


def seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def paired_ratio(ours, base, repeats=40):
    """Median times and the median of per-pair ratios, the two runs alternating.

    Alternating keeps a slow moment of a shared machine from landing on one side only.
    """
    ours(), base()  # warm up
    pairs = [(seconds(ours), seconds(base)) for _ in range(repeats)]
    return (statistics.median(o for o, _ in pairs), statistics.median(b for _, b in pairs),
            statistics.median(o / b for o, b in pairs))


def bench_epoch():
    torch.manual_seed(0)
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 1000, device=torch.device("cpu"))
    for batch_size in (10, 32):
        ours, base, ratio = paired_ratio(lambda b=batch_size: d2lmini_epoch(X, y, b),
                                         lambda b=batch_size: plain_epoch(X, y, b))
        print(f"epoch, batch {batch_size:>3}: d2lmini {ours * 1e3:6.2f} ms, plain torch "
              f"{base * 1e3:6.2f} ms, ratio {ratio:.2f}x (target <= 1.5x)")


def bench_import(repeats=7):
    code = ("import time, torch; t = time.perf_counter(); import d2lmini; "
            "print(time.perf_counter() - t)")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                  text=True, check=True).stdout) for _ in range(repeats)]
    print(f"import d2lmini after import torch: median {statistics.median(times) * 1e3:.0f} ms "
          f"(target <= 300 ms)")


if __name__ == "__main__":
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead, for both sides alike
    bench_epoch()
    bench_import()
