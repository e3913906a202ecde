"""Each chapter's live panel: slider release to finished redraw (training + PNG), median.

    python benchmarks/bench_panels.py [notebooks/01_*.ipynb ...]

Runs a notebook's own code cells, up to the one that makes `panel`, in an IPython shell,
then releases the learning-rate slider on two values near its default, turn about, as a
learner would, and times each retrain-and-redraw. Target: chapters 1 and 2 at most 150 ms,
chapter 3 (Fashion-MNIST) about 1 s.

This shared machine's speed drifts by half from one minute to the next, so each release is
paired with a fixed reference job: bench_linreg's plain torch epoch at batch 32 (8 ms on this
machine, as the foundation issue measured). The ratio to it is what to compare.
"""

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402
from bench_linreg import plain_epoch  # noqa: E402  (this folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from panel_support import run_until_panel  # noqa: E402

REFERENCE_DATA = torch.randn(1000, 2), torch.randn(1000, 1)


def reference_epoch() -> float:
    """Seconds for bench_linreg's plain torch epoch at batch 32 (the fixed job)."""
    start = time.perf_counter()
    plain_epoch(*REFERENCE_DATA, batch_size=32)
    return time.perf_counter() - start


def release_to_redraw(panel, repeats: int = 21) -> tuple[list[float], list[float]]:
    """Seconds from setting the lr slider to the finished redraw, and of the reference job."""
    slider = panel.controls["lr"]
    values = [slider.value, slider.value * 1.1]
    times, references = [], []
    for i in range(repeats):
        start = time.perf_counter()
        slider.value = values[(i + 1) % 2]
        panel.wait()
        times.append(time.perf_counter() - start)
        assert panel.error is None, panel.error
        references.append(reference_epoch())
    return times, references


def main(paths: list[str]) -> None:
    notebooks = [Path(p).resolve() for p in paths] or sorted(
        (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for notebook in notebooks:
        panel, _ = run_until_panel(notebook)
        times, references = release_to_redraw(panel)
        train = statistics.median(h.seconds for h in [panel.history, *panel.ghosts])
        ratio = statistics.median(t / r for t, r in zip(times, references))
        reference = statistics.median(references)
        print(f"{notebook.stem}: release -> redraw median {statistics.median(times) * 1e3:.0f} ms"
              f" (min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}, {len(times)} releases;"
              f" training ~{train * 1e3:.0f} ms) at {panel.history.settings}\n"
              f"    = {ratio:.1f}x the reference epoch (median {reference * 1e3:.1f} ms now);"
              f" at its quiet 8 ms that is {ratio * 8:.0f} ms")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
