"""The memory a chapter's live panel keeps, once closed or once dropped, over 20 panels.

    python benchmarks/bench_panel_memory.py [--panels 20] [notebooks/04_*.ipynb ...]

Runs a notebook's own code cells up to the one that makes `panel` (chapters 4 and 5 by
default), in an IPython shell, then runs that cell again `panels` times, as a class does, and
moves one control of each new panel once (the learning rate to the next value, waiting for the
run and its figure):
(a) closed: each panel is closed before the next run of the cell;
(b) dropped: the cell is run as Jupyter runs it (its last line `panel` is shown, so IPython's
    output history, Out, keeps the panel) and no panel is closed: the next run of the cell
    binds `panel` to the new one.
After gc.collect(), it prints what stayed since before the first of the runs, in MB and per
panel: the process's resident memory (RSS); "trimmed", the same once glibc's malloc_trim has
given back the free memory that the C allocator keeps for later (most of what threads freed),
so the memory still in use; and the Python and numpy memory that tracemalloc traced
(matplotlib's pixel buffers and Pillow's images are outside it, RSS counts them). Then how
many of the panels are still alive (weak references), how many of those are not closed, and
how many widgets ipywidgets still holds.
"""

import argparse
import contextlib
import ctypes
import ctypes.util
import gc
import io
import os
import sys
import tracemalloc
import weakref
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import ipywidgets  # noqa: E402
import psutil  # noqa: E402  (comes with ipykernel)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from panel_support import run_until_panel  # noqa: E402

MB = 2**20


def rss() -> int:
    """The process's resident memory, in bytes."""
    return psutil.Process().memory_info().rss


def trimmed_rss() -> int | None:
    """RSS once the C allocator has given its free memory back (glibc only; else None)."""
    trim = getattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim", None)
    if trim is None:
        return None
    trim(0)
    return rss()


def widget_count() -> int:
    """How many widgets ipywidgets keeps alive (its registry), in ipywidgets 7 and 8."""
    registry = getattr(ipywidgets.widgets.widget, "_instances", None)
    return len(registry if registry is not None else ipywidgets.Widget.widgets)


def panel_cell(notebook: Path) -> str:
    """The source of the code cell that makes `panel`."""
    import nbformat
    cells = nbformat.read(notebook, as_version=4).cells
    return next(cell.source for cell in cells if cell.cell_type == "code"
                and cell.source.lstrip().startswith(("panel =", "controls =")) and
                "panel = d2lmini.LivePanel(" in cell.source)


def move_once(panel) -> None:
    """Release the learning-rate slider on the next value, and wait for the redraw."""
    slider = panel.controls["lr"]
    values = [v for _, v in slider.options]
    i = values.index(slider.value)
    slider.value = values[i + 1 if i + 1 < len(values) else i - 1]
    assert panel.wait(120), "the panel's run did not finish"
    assert panel.error is None, panel.error


def measure(shell, cell: str, panels: int, close: bool) -> dict:
    """Run the panel's cell `panels` times (each panel moved once; closed, or dropped), and
    return what stayed after gc.collect()."""
    gc.collect()
    tracemalloc.start()
    rss_before, traced_before, widgets_before = rss(), tracemalloc.get_traced_memory()[0], \
        widget_count()
    trimmed_before = trimmed_rss()
    alive = []
    for _ in range(panels):
        with contextlib.redirect_stdout(io.StringIO()):  # "Out[n]: <d2lmini live panel ...>"
            shell.run_cell(cell, store_history=not close, silent=close).raise_error()
        panel = shell.user_ns["panel"]
        move_once(panel)
        alive.append(weakref.ref(panel))
        if close:
            panel.close()
        del panel
    # the last one is dropped too: its name rebound by a cell, as a class's next cell would
    shell.run_cell("panel = None", store_history=not close, silent=close).raise_error()
    gc.collect()
    result = {"rss": rss() - rss_before,
              "trimmed": None if trimmed_before is None else trimmed_rss() - trimmed_before,
              "traced": tracemalloc.get_traced_memory()[0] - traced_before,
              "alive": sum(ref() is not None for ref in alive),
              "open": sum(ref() is not None and not ref()._closed for ref in alive),
              "widgets": widget_count() - widgets_before}
    tracemalloc.stop()
    shell.displayhook.flush()  # the output history of (b): not for the next measurement
    return result


def report(what: str, result: dict, panels: int) -> str:
    def mb(what: str, key: str) -> str:
        size = result[key]
        return "" if size is None else \
            f"{what} {size / MB:+.0f} MB ({size / MB / panels:+.1f} MB a panel), "

    return (f"    {what}: {mb('RSS', 'rss')}{mb('trimmed', 'trimmed')}{mb('traced', 'traced')}"
            f"panels alive {result['alive']} of {panels} ({result['open']} not closed), "
            f"widgets kept {result['widgets']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=20)
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args()
    notebooks = [Path(p).resolve() for p in args.notebooks] or [
        next((ROOT / "notebooks").glob(f"{n:02d}_*.ipynb")) for n in (4, 5)]
    for notebook in notebooks:
        with contextlib.redirect_stdout(io.StringIO()):  # the notebook's own printed lines
            first, _ = run_until_panel(notebook)
        first.wait()
        move_once(first)  # the first move's one-time costs (a thread, caches), not counted
        first.close()
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        cell = panel_cell(notebook)
        print(f"{notebook.stem} `panel`, {args.panels} panels made and moved once:")
        for what, close in (("closed ", True), ("dropped", False)):
            print(report(what, measure(shell, cell, args.panels, close), args.panels),
                  flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
