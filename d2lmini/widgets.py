"""The live panel: sliders -> at most one pending run -> train -> draw.

A slider change (a drag released, or `slider.value = ...` from Python) only records the
newest settings. One background thread trains with them and draws; changes that arrive
meanwhile replace each other, so at most one run ever waits and the last figure always
matches the last settings. The kernel stays free to receive slider changes all the while.
"""

import base64
import threading
import time
import traceback
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

from .plot import figure_png
from .train import History

TrainFn = Callable[..., History]
DrawFn = Callable[[Figure, History, list[History]], None]


class ReusedFigure(Figure):
    """A Figure whose subplots() hands back its earlier axes, emptied, for the same grid.

    Building axes (ticks, tick labels, fonts) is about half the cost of a redraw, so the panel
    reuses them. A draw function sets its limits, scales and titles again on every call anyway.
    """

    def subplots(self, *args, **kwargs):
        """Like Figure.subplots, but the same grid gives the same (emptied) axes."""
        grid = repr((args, sorted(kwargs.items())))
        if grid != self._grid:
            self.clear()
            # titles at a fixed height: placing them around the axes' decorations costs ~5 ms
            with rc_context({"axes.titley": 1.0}):
                self._grid, self._grid_axes = grid, super().subplots(*args, **kwargs)
            return self._grid_axes
        for ax in self.axes:
            _empty(ax)
        return self._grid_axes

    def start(self) -> None:
        """Get ready for a draw: drop the axes that subplots() did not make."""
        if self._grid is None:
            self.clear()
            return
        kept = list(np.atleast_1d(self._grid_axes).flat)
        for ax in self.axes:
            if ax not in kept:  # added by the last draw (a twin axis, a colorbar)
                ax.remove()

    def clear(self, keep_observers: bool = False) -> None:
        """Remove everything, the remembered grid too, but keep the margins."""
        params = getattr(self, "subplotpars", None)  # None while Figure.__init__ runs
        names = ("left", "right", "bottom", "top", "wspace") if params is not None else ()
        margins = {name: getattr(params, name) for name in names}
        super().clear(keep_observers)  # this also resets the margins to rcParams' defaults
        self.subplots_adjust(**margins)
        self._grid = None


def _empty(ax) -> None:
    """Remove what was drawn on ax and let its limits follow the next data again."""
    for container in [*ax.containers]:  # bar groups: else the legend lists them again
        container.remove()
    for artist in [*ax.lines, *ax.collections, *ax.texts, *ax.patches, *ax.images,
                   *ax.artists, *ax.tables]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.set_title("")
    ax.relim()
    ax.set_autoscale_on(True)


def new_figure(width: float, height: float, figure_class: type = Figure) -> Figure:
    """A Figure with fixed margins in inches, room for tick labels, axis labels and titles.

    Fixed, because an automatic layout doubles the time it takes to draw the figure.
    """
    fig = figure_class(figsize=(width, height), layout="none")
    fig.subplots_adjust(left=0.8 / width, right=1 - 0.2 / width, bottom=0.6 / height,
                        top=1 - 0.35 / height, wspace=0.3)
    return fig


def lr_slider(value: float = 0.03, low: float = 1e-3, high: float = 10.0) -> widgets.FloatLogSlider:
    """A log-scale learning-rate slider from low to high."""
    import math

    return widgets.FloatLogSlider(value=value, base=10, min=math.log10(low), max=math.log10(high),
                                  step=0.1, description="learning rate", readout_format=".3g")


def int_slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
    """An integer slider from low to high."""
    return widgets.IntSlider(value=value, min=low, max=high, description=description)


class LivePanel:
    """Sliders that retrain with train(**values) and redraw with draw(fig, history, ghosts)."""

    def __init__(self, train: TrainFn, draw: DrawFn, controls: dict[str, widgets.ValueWidget],
                 figsize: tuple[float, float] = (10, 3.6), keep: int = 3):
        self.train, self.draw, self.controls = train, draw, controls
        self.figsize, self.keep = figsize, keep
        self._figure = new_figure(*figsize, figure_class=ReusedFigure)  # drawn into by each run
        self.history: History | None = None  # the run the figure shows
        self.ghosts: list[History] = []  # earlier runs, drawn faded, oldest first
        self.png: bytes = b""
        self.runs = 0  # finished runs, for tests and benchmarks
        self.error: str | None = None
        self._pending: dict | None = None
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

        self.status = widgets.HTML()
        self.figure = widgets.Output()
        for name, control in controls.items():
            control.style = {"description_width": "initial"}
            control.continuous_update = False
            control.add_class(f"d2lmini-slider-{name}")
            control.observe(self._changed, names="value")
        self.status.add_class("d2lmini-status")
        self.figure.add_class("d2lmini-figure")
        self.box = widgets.VBox([widgets.HBox(list(controls.values()),
                                              layout=widgets.Layout(flex_flow="row wrap")),
                                 self.status, self.figure])
        self.box.add_class("d2lmini-panel")
        self._run(self.values())  # the default run, drawn before the panel is shown

    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until no run is going or waiting; return False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                worker = self._worker
            if worker is None:
                return True
            worker.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return False

    def _changed(self, change: dict) -> None:
        """Remember the newest settings; start the worker unless it is already running."""
        with self._lock:
            self._pending = self.values()
            self.status.value = f"{_describe(self._pending)} — training…"
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, daemon=True)
                self._worker.start()

    def _work(self) -> None:
        """Run the newest pending settings until none are left."""
        while True:
            with self._lock:
                settings, self._pending = self._pending, None
                if settings is None:
                    self._worker = None
                    return
            self._run(settings)

    def _run(self, settings: dict) -> None:
        """Train with settings and show the result; an error is shown, never raised."""
        start = time.perf_counter()
        try:
            history = self.train(**settings)
            history.settings = dict(settings)
            ghosts = (self.ghosts + [self.history])[-self.keep:] if self.history else []
            self._figure.start()
            self.draw(self._figure, history, ghosts)
            png = figure_png(self._figure)
        except Exception as error:  # shown in the panel: a slider must never hang the kernel
            self.error = "".join(traceback.format_exception_only(error)).strip()
            self.status.value = f"{_describe(settings)} — <b>error:</b> {_escape(self.error)}"
            self.runs += 1
            return
        self.history, self.ghosts, self.png, self.error = history, ghosts, png, None
        ms = (time.perf_counter() - start) * 1000
        self.figure.outputs = ({"output_type": "display_data", "metadata": {},
                                "data": {"image/png": base64.b64encode(png).decode("ascii"),
                                         "text/plain": "<d2lmini panel figure>"}},)
        self.status.value = f"{_describe(settings)} — {history.message()} ({ms:.0f} ms)"
        self.runs += 1

    def _ipython_display_(self):
        """Display the panel's widgets, so that a cell can end with `panel`."""
        from IPython.display import display

        display(self.box)


def _describe(settings: dict) -> str:
    """lr=0.03 · batch_size=10 · epochs=3"""
    return " · ".join(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}"
                      for name, value in settings.items())


def _escape(text: str) -> str:
    """Make text safe to show inside an HTML widget."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
