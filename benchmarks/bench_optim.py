"""d2lmini.optim's optimizers against torch.optim's, as ratios of step times in one process.

    python benchmarks/bench_optim.py [--rounds 15] [--steps 100] [--threads 1]

Chapter 3's model: softmax regression on Fashion-MNIST, a 784x10 weight and a 10 bias, float32,
on d2lmini.try_gpu(), their gradients filled randomly once. Each round times `steps` calls of
step() of the from-scratch optimizer, then of torch.optim's with its default implementation
(foreach kernels on CUDA; on the CPU torch's default is a for loop over the parameters), the two
alternating; the ratio printed is the median over rounds of ours / torch's. Target: <= 1.5.
One CPU thread by default: on a busy machine a second thread makes a 7840-element sqrt wait
for a core (milliseconds instead of microseconds), which would swamp both sides.
"""

import argparse
import statistics
import time

import torch

import d2lmini
from d2lmini import optim

CASES = [  # (label, class name, hyperparameters)
    ("SGD", "SGD", dict(lr=0.1)),
    ("SGD momentum", "SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD nesterov+wd", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("Adagrad", "Adagrad", {}),
    ("RMSprop", "RMSprop", {}),
    ("Adadelta", "Adadelta", {}),
    ("Adam", "Adam", {}),
    ("Adam wd", "Adam", dict(weight_decay=1e-4)),
    ("AdamW", "AdamW", {}),
    ("NAdam", "NAdam", {}),
]


def softmax_regression_optimizer(cls, kw, device):
    """cls(...) on a fresh 784x10 weight and 10 bias whose gradients are random."""
    W = torch.normal(0, 0.01, (784, 10), device=device, requires_grad=True)
    b = torch.zeros(10, device=device, requires_grad=True)
    for p in (W, b):
        p.grad = torch.randn_like(p) * 0.1
    return cls([W, b], **kw)


def seconds(opt, steps, device):
    """Wall time of `steps` calls of opt.step(), waiting for the GPU at both ends."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def compare(name, kw, device, rounds, steps):
    """Median seconds per step of ours and torch's, and the median of per-round ratios."""
    ours = softmax_regression_optimizer(getattr(optim, name), kw, device)
    theirs = softmax_regression_optimizer(getattr(torch.optim, name), kw, device)
    seconds(ours, 10, device), seconds(theirs, 10, device)  # warm up, make the state
    pairs = [(seconds(ours, steps, device), seconds(theirs, steps, device))
             for _ in range(rounds)]
    return (statistics.median(o for o, _ in pairs) / steps,
            statistics.median(t for _, t in pairs) / steps,
            statistics.median(o / t for o, t in pairs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = d2lmini.try_gpu()
    torch.manual_seed(0)
    print(f"optimizer step on softmax regression (784x10 + 10, float32) on {device}, torch "
          f"{torch.__version__}, {args.threads} CPU thread(s), torch.optim default: "
          f"{'foreach' if device.type == 'cuda' else 'for loop over parameters'}")
    print(f"{'optimizer':<17}{'d2lmini us':>11}{'torch us':>10}{'ratio':>8}")
    worst = 0.0
    for label, name, kw in CASES:
        ours, theirs, ratio = compare(name, kw, device, args.rounds, args.steps)
        worst = max(worst, ratio)
        print(f"{label:<17}{ours * 1e6:>11.1f}{theirs * 1e6:>10.1f}{ratio:>8.2f}")
    print(f"largest ratio {worst:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
