"""Run a chapter's notebook up to its live panel, outside Jupyter (for tests and benchmarks)."""

import html
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell
from nbformat import read


def run_until_panel(notebook: Path, name: str = "panel"):
    """Run the notebook's code cells in an IPython shell until the panel called `name` exists.

    Returns the panel and the notebook's namespace. Cells run in the notebook's folder, as in
    Jupyter, since they may look for files beside the notebook.
    """
    import matplotlib.pyplot as plt

    plt.close("all")  # the figures of a notebook run before (pyplot keeps every figure open)
    shell = InteractiveShell.instance()
    shell.reset()
    cwd = Path.cwd()
    os.chdir(notebook.parent)
    try:
        for cell in read(notebook, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            shell.run_cell(cell.source, silent=True).raise_error()
            if name in shell.user_ns:
                return shell.user_ns[name], shell.user_ns
    finally:
        os.chdir(cwd)
    raise AssertionError(f"{notebook.name} makes no `{name}`")


def panel_at_two_then_one_thread(notebook: Path, default: dict):
    """For a module fixture: the notebook's panel and namespace, its default run and values
    kept in `default`; closed at the end.

    The panel's cell runs with two torch threads (a 2-core laptop, even where CI sets
    OMP_NUM_THREADS=1), the slider's runs with one (a panel's thread could start with another
    count): the same settings must give the same run all the same.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        panel, namespace = run_until_panel(notebook)
        assert panel.wait(120), "the default run did not finish"
        default.update(history=panel.history, values=panel.values())
        torch.set_num_threads(1)
        yield panel, namespace
        panel.close()
    finally:
        torch.set_num_threads(threads)


def assert_same_run(run, default) -> None:
    """The run is the default run again: every step's loss and every metric the same."""
    assert run.step_loss == default.step_loss, (
        f"back at the defaults, the run differs from the default run: final loss "
        f"{run.epoch_loss[-1]:.7f} against {default.epoch_loss[-1]:.7f}")
    assert run.metrics == default.metrics


def key_labels(panel) -> list[str]:
    """The labels of the runs in the panel's key, as the browser shows them (this run first)."""
    return [html.unescape(label) for label in re.findall(r"></span> (.*?)</span>",
                                                        panel.key.value)]


def wait_until(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll check() until it is true; fail, saying what did not happen, after timeout s."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.002)


def layout_problems(fig, rc: dict | None = None) -> list[str]:
    """What a reader could not read in the figure as drawn, from its own text extents: text cut
    off at the figure's edge, two texts on top of each other (titles, labels, tick labels,
    legends), text over another plot, and a legend over a curve of its plot. rc: the style it
    is drawn in (a panel's _rc: ticks and their labels depend on the type's size)."""
    from matplotlib import rc_context

    with rc_context(rc or {}):
        return _layout_problems(fig)


def _layout_problems(fig) -> list[str]:

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    edge = fig.bbox
    boxes = []  # (what, bbox, the axes it belongs to)
    for number, ax in enumerate(fig.axes, 1):
        texts = [("title", t) for t in (ax.title, ax._left_title, ax._right_title)]
        texts += [("x label", ax.xaxis.label), ("y label", ax.yaxis.label)] if ax.axison else []
        for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            if ax.axison and axis.get_visible():  # the ticks a draw shows
                texts += [(f"{name} tick {tick.label1.get_text()!r}", tick.label1)
                          for tick in axis._update_ticks()]
        texts += [("text", t) for t in ax.texts]
        for what, text in texts:
            if text.get_visible() and text.get_text().strip():
                boxes.append((f"plot {number} {what}", text.get_window_extent(renderer), ax))
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            box = legend.get_window_extent(renderer)
            boxes.append((f"plot {number} legend", box, ax))
            for line in ax.get_lines():
                if not line.get_visible() or (line.get_alpha() or 1) < 0.5:
                    continue  # a faint background line may pass under a legend
                points = line.get_transform().transform(line.get_xydata())
                inside = ((points[:, 0] > box.x0) & (points[:, 0] < box.x1)
                          & (points[:, 1] > box.y0) & (points[:, 1] < box.y1))
                if inside.any():
                    boxes.append((f"plot {number} legend covers curve {line.get_label()!r}",
                                  box, "covers"))
    problems = [what for what, _, owner in boxes if owner == "covers"]
    boxes = [b for b in boxes if b[2] != "covers"]
    problems += [f"{what} cut off at the figure's edge" for what, box, _ in boxes
                 if box.x0 < edge.x0 - 1 or box.y0 < edge.y0 - 1 or box.x1 > edge.x1 + 1
                 or box.y1 > edge.y1 + 1]
    for i, (what, box, ax) in enumerate(boxes):
        for other, other_box, _ in boxes[i + 1:]:
            if _overlap(box, other_box) > 1:
                problems.append(f"{what} overlaps {other}")
        for number, other_ax in enumerate(fig.axes, 1):
            if other_ax is not ax and _overlap(box, other_ax.patch.get_window_extent(renderer)) > 1:
                problems.append(f"{what} runs into plot {number}")
    return problems


def _overlap(a, b) -> float:
    """How far two boxes overlap, in pixels (the smaller of the overlap's width and height)."""
    return min(min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0))


def classroom_twin(panel):
    """The same panel (train, draw, copies of its controls) made in classroom mode, trained at
    the panel's settings and at the next learning rate (the one before, at the largest), so that
    its key lists an earlier run.
    Close it after."""
    import d2lmini
    from d2lmini.machinery.panel import LivePanel

    names = ("options", "min", "max", "step", "base", "value", "description", "readout_format")
    controls = {name: type(control)(**{n: getattr(control, n) for n in names
                                        if control.has_trait(n)})
                for name, control in panel.controls.items()}
    d2lmini.style.set_classroom(True)
    try:
        twin = LivePanel(panel.train, panel.draw, controls, figsize=panel.figsize,
                         background=False)
    finally:
        d2lmini.style.set_classroom(False)
    lr = twin.controls["lr"]
    values = [v for _, v in lr.options] if hasattr(lr, "options") else [lr.value]
    i = values.index(lr.value)
    lr.value = values[i + 1 if i + 1 < len(values) else i - 1]  # trains here and now
    return twin


def classroom_layout_problems(panel) -> list[str]:
    """The panel made again in classroom mode (classroom_twin): what layout_problems finds in its
    figure, and whether its controls got classroom type; [] when it lays out whole."""
    twin = classroom_twin(panel)
    try:
        assert twin.ghosts and twin.error is None, twin.error
        problems = layout_problems(twin._figure, twin._rc)
        if "d2lmini-classroom" not in twin.box._dom_classes or \
                "--jp-widgets-font-size: 20px" not in twin.box.children[0].value:
            problems.append("the controls keep their normal type")
        return problems
    finally:
        twin.close()
