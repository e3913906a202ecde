"""Each chapter's live panel: slider release to finished redraw (training + PNG), median.

    python benchmarks/bench_panels.py [notebooks/01_*.ipynb ...]

Runs a notebook's own code cells, up to the one that makes `panel`, in an IPython shell,
then releases the learning-rate slider on two values near its default, turn about, as a
learner would, and times each retrain-and-redraw. Target: chapters 1 and 2 at most 150 ms,
chapter 3 (Fashion-MNIST) about 1 s.
"""

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from nbformat import read  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def panel_of(notebook: Path):
    """Run the notebook's code cells until `panel` exists; return it."""
    shell = InteractiveShell.instance()
    shell.reset()
    os.chdir(notebook.parent)  # cells may read files relative to the notebook
    for cell in read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        result = shell.run_cell(cell.source, silent=True)
        if not result.success:
            raise RuntimeError(f"{notebook.name}: a cell failed: {result.error_in_exec!r}")
        if "panel" in shell.user_ns:
            return shell.user_ns["panel"]
    raise RuntimeError(f"{notebook.name} makes no `panel`")


def release_to_redraw(panel, repeats: int = 21) -> list[float]:
    """Seconds from setting the lr slider to the finished redraw, for each release."""
    slider = panel.controls["lr"]
    values = [slider.value, slider.value * 1.1]
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        slider.value = values[(i + 1) % 2]
        panel.wait()
        times.append(time.perf_counter() - start)
        assert panel.error is None, panel.error
    return times


def main(paths: list[str]) -> None:
    notebooks = [Path(p).resolve() for p in paths] or sorted(
        (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for notebook in notebooks:
        panel = panel_of(notebook)
        times = release_to_redraw(panel)
        train = statistics.median(h.seconds for h in [panel.history, *panel.ghosts])
        print(f"{notebook.stem}: release -> redraw median {statistics.median(times) * 1e3:.0f} ms"
              f" (min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}, {len(times)} releases;"
              f" training ~{train * 1e3:.0f} ms) at {panel.history.settings}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
