"""The live panel: controls -> at most one waiting run -> train (drawn as it grows) -> draw.

A change of a control (a slider moved, or `control.value = ...` from Python) records the
newest settings and asks the run that is going, if any, to stop at its next step: at most one
run ever waits, and the last figure always matches the last settings. The chapter's train
function gets plain values and returns a History. While it trains through `d2lmini.train`, the
panel watches it (`stream.watch`): a run longer than about half a second is drawn as it grows,
and a run whose settings were replaced stops (the panel raises `Superseded` inside it).

Where the runs happen (the `background` argument):
- True: in a thread of the panel's own, so the kernel stays free to hear the next change
  (JupyterLab, Notebook 7, VS Code: widget updates made from a thread reach the browser).
- False: in the control's change handler, on the kernel's main thread, as ipywidgets.interact
  does. Google Colab needs this: there, widget updates made from other threads do not reach
  the browser (googlecolab/colabtools#3373). The browser still lets at most one change wait:
  ipywidgets sends a widget's next change only when the kernel has finished with the last
  one, merging the changes made meanwhile.
- None (the default): False on Colab, True elsewhere.
"""

import base64
import math
import sys
import threading
import time
import traceback
import types
import weakref
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from html import escape

import ipywidgets as widgets
import torch
from matplotlib import rc_context
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import style
from ..language import say
from ..plot import THIS_RUN_LABEL, describe, number, words
from ..training import History
from .controls import SLIDERS
from .figures import compact_png
from .redraw import ReusedFigure, new_figure
from .stream import watch

TrainFn = Callable[..., History]
DrawFn = Callable[[Figure, History, list[History]], None]

FIRST_FRAME = 0.5  # s: a run still going this long is drawn as it grows
FRAME_GAP = 0.15  # s at least from the end of one frame to the next (~0.25 s apart)
FRAME_SHARE = 2  # and at least twice as long as the frame took: frames slow a run by <= 1/3
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# in classroom mode, the controls' type: 20 px (ipywidgets' 13 px would not carry across a room)
CLASSROOM_CSS = """<style>
.d2lmini-classroom { --jp-widgets-font-size: 20px; --jp-widgets-inline-height: 36px;
  --jp-widgets-inline-label-width: auto; }
.d2lmini-classroom .widget-label, .d2lmini-classroom .widget-readout,
.d2lmini-classroom .widget-checkbox, .d2lmini-classroom .jupyter-button,
.d2lmini-classroom button { font-size: 20px; line-height: 1.4; height: auto; }
</style>"""
CLASSROOM_TALLER = 1.35  # a panel's figure in classroom mode: this much taller
REST = 0.4  # s: a value a dragged slider stayed on this long was chosen (an earlier run to keep)
STALE_BORDER = "3px dashed #d62728"  # around a figure that is an earlier run's, after an error
# matplotlib is not thread-safe (shared font and text-layout caches): panels draw one at a time
_DRAWING = threading.Lock()


class Superseded(BaseException):
    """Raised inside a run whose settings newer ones replaced, or whose panel was closed.

    A BaseException, so that an `except Exception` in a train function lets it through.
    """


# ------------------------------------------------------------------------------ the panel

class LivePanel:
    """Controls that retrain with train(**values) and redraw with draw(fig, history, ghosts).

    controls maps each argument of train to a widget (lr_slider, batch_slider, int_slider, a
    Checkbox, ...). draw gets the figure to draw on, the run, and up to `keep` earlier runs
    (oldest first). The default run is trained and drawn before the panel is shown; its figure
    also goes into the notebook file, for readers without a kernel (GitHub, nbviewer).
    follow_drag=True retrains while a slider is dragged, not only when it is released: worth it
    only where a run and its figure take well under 0.1 s, since each newer value stops the run
    that is going. The values a drag passes over are not kept as earlier runs: only those the
    slider stayed on for REST seconds.
    """

    def __init__(self, train: TrainFn, draw: DrawFn, controls: dict[str, widgets.ValueWidget],
                 figsize: tuple[float, float] = (10, 3.6), keep: int = 3,
                 background: bool | None = None, follow_drag: bool = False):
        if not callable(train) or not callable(draw):
            raise ValueError("train and draw must be functions: train(**values) -> History, "
                             "draw(fig, history, ghosts)")
        if not controls or not all(hasattr(c, "value") for c in controls.values()):
            raise ValueError("controls must map each argument of train to a widget, e.g. "
                             "{'lr': d2lmini.lr_slider(0.03)}")
        if int(keep) != keep or keep < 0:
            raise ValueError(f"keep must be a whole number >= 0, got {keep!r}")
        self.train, self.draw, self.controls = train, draw, dict(controls)
        self.figsize, self.keep = figsize, int(keep)
        self.background = ("google.colab" not in sys.modules) if background is None \
            else bool(background)
        self._rc = style.params()  # the style (classroom or not) when the panel was made
        self._classroom = style.is_classroom()
        if self._classroom:  # room for the large type, and the same size in every chapter
            figsize, self._rc = _classroom_figure(figsize, self._rc)
        with rc_context(self._rc):
            self._figure = new_figure(*figsize, figure_class=ReusedFigure)
        self._figure.fit = self._classroom  # laid out to fit its type, titles wrapped
        self.history: History | None = None  # the run the figure shows
        self.ghosts: list[History] = []  # earlier runs drawn with it, oldest first
        self.png = b""  # the figure shown now
        self.static_png = b""  # the default run's figure, saved in the notebook
        self.error: str | None = None  # the last run's error, in one line
        self.traceback: str | None = None  # and where it happened
        self.runs = self.frames = self.superseded = 0  # counts, for tests and benchmarks
        self._pending: dict | None = None  # the newest settings not yet run
        self._follow_drag = bool(follow_drag)
        self._latest, self._latest_at = None, time.monotonic()  # the last settings, and when
        self._passed: set[str] = set()  # settings a drag passed over: never earlier runs
        self._redraw = False  # draw the current run again (its ghosts were forgotten)
        self._generation = 0  # +1 for every change: a run whose number is old stops
        self._worker: threading.Thread | None = None  # the thread running runs, if any
        self._closed = False
        self._lock = threading.RLock()

        self.status = widgets.HTML()
        self.key = widgets.HTML()  # which colour is which run, for every plot of the figure
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%",
                                                                       height="auto"))
        self.forget_button = widgets.Button(description="forget earlier runs",
                                            tooltip="remove the faded curves of earlier runs")
        for name, control in self.controls.items():
            control.style.description_width = "initial"
            if isinstance(control, SLIDERS):
                # a longer track: values easier to aim at (and room for classroom's type)
                control.layout.width = "520px" if self._classroom else "340px"
            control.add_class(f"d2lmini-slider-{name}")
        # the widgets call the panel through weak references: a panel no longer used is freed,
        # and its widgets closed, without close() (a widget lives on in ipywidgets' registry)
        self._on_change, self._on_click = _weakly(self._changed), _weakly(self.forget)
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.forget_button.on_click(self._on_click)
        self._row = widgets.HBox([*self.controls.values(), self.forget_button],
                                 layout=widgets.Layout(flex_flow="row wrap"))
        self.box = widgets.VBox([self._row, self.status, self.key, self.image])
        for widget, name in ((self.status, "status"), (self.key, "key"), (self.image, "figure"),
                             (self.forget_button, "forget"), (self.box, "panel")):
            widget.add_class(f"d2lmini-{name}")
        self.box.add_class("d2lmini-background" if self.background else "d2lmini-main-thread")
        if self._classroom:  # the controls' type as large as the figure's (ipywidgets' own size)
            self.box.add_class("d2lmini-classroom")
            self.box.children = (widgets.HTML(CLASSROOM_CSS), *self.box.children)
        self._close_widgets = weakref.finalize(self, _close, *self.box.children, self.box,
                                               self.forget_button, *self.controls.values())
        self._close_widgets.atexit = False  # a kernel that ends takes its widgets with it
        _PANELS.add(self)
        _watch_the_notebook()

        for control in self.controls.values():  # retrain on release, or while dragging
            control.continuous_update = bool(follow_drag)
        self._latest = self.values()
        self._run(self._latest, self._generation, stream=False)  # the default run
        self.static_png = compact_png(self.png) if self.png else b""  # for the notebook file

    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until no run is going or waiting; return False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                worker = self._worker
            if worker is None or worker is threading.current_thread():
                return True
            worker.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return False

    def forget(self, _button=None) -> None:
        """Forget the earlier runs: the figure shows the current run alone."""
        with self._lock:
            self.ghosts = []
            if self._closed or self._pending is not None or self.history is None:
                return  # the waiting run will be drawn without them
            self._redraw = True
        self._start()

    def close(self) -> None:
        """Stop the panel's work and close its widgets (they leave the notebook)."""
        with self._lock:
            if self._closed:
                return
            self._closed, self._pending = True, None
            self._generation += 1  # the run that is going stops at its next step
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(30)
        for control in self.controls.values():
            control.unobserve(self._on_change, names="value")
        self.forget_button.on_click(self._on_click, remove=True)
        self.image.value = b""  # the figure's PNG: a closed panel keeps no pixels
        self._close_widgets()
        self._figure, self.png, self.static_png, self.ghosts = None, b"", b"", []

    # -------------------------------------------------------------------- running

    def _changed(self, change=None) -> None:
        """Remember the newest settings, stop the run that is going, start one if none is."""
        with self._lock:
            if self._closed:
                return
            self._pending = self.values()
            self._mark_chosen_or_passed(self._pending)
            self._generation += 1
            self.status.value = self._line(self._pending, say("training"))
        self._start()

    def _mark_chosen_or_passed(self, settings: dict) -> None:
        """The settings before these were passed over by a drag if they lasted less than REST
        (while following a drag), else chosen."""
        now = time.monotonic()
        before = repr(self._latest)
        if self._follow_drag and now - self._latest_at < REST:
            self._passed.add(before)
        else:
            self._passed.discard(before)
        self._latest, self._latest_at = settings, now

    def _start(self) -> None:
        """Run what is waiting: in a thread, or here and now (main-thread mode)."""
        with self._lock:
            if self._worker is not None:
                return  # the running loop takes the newest settings when its run stops
            if self.background:
                self._worker = threading.Thread(target=self._work, name="d2lmini-panel",
                                                daemon=True)
                self._worker.start()
                return
            self._worker = threading.current_thread()
        self._work()

    def _work(self) -> None:
        """Run the newest waiting settings (or redraw) until nothing is waiting."""
        try:
            while True:
                with self._lock:
                    settings, self._pending = self._pending, None
                    redraw, self._redraw = self._redraw, False
                    generation = self._generation
                    if self._closed or (settings is None and not redraw):
                        self._worker = None  # in the same lock: a change now starts a new one
                        return
                if settings is not None:
                    self._run(settings, generation)  # it shows its errors, never raises
                    continue
                try:
                    png, key = self._render(self.history, self.ghosts)
                    self._show(generation, png, key=key)
                except BaseException as error:  # a failing redraw is said; the panel goes on
                    self._failed(generation, self.history.settings, error)
        except BaseException:
            with self._lock:  # never leave the panel waiting for a loop that is gone
                self._worker = None
            raise

    def _run(self, settings: dict, generation: int, stream: bool = True) -> None:
        """Train with settings and show the result; an error is shown, never raised."""
        start = time.perf_counter()
        self._show(generation, line=self._line(settings, say("training")))
        try:
            with (watch(self._watcher(settings, generation, start)) if stream else nullcontext(),
                  _one_torch_thread()):
                history = self.train(**settings)
            if not isinstance(history, History):
                raise TypeError(f"the train function must return a d2lmini History, "
                                f"got {type(history).__name__}")
            history.settings = dict(settings)
            ghosts = self._ghosts_for(history)
            png, key = self._render(history, ghosts)
        except Superseded:
            self.superseded += 1
            return
        except BaseException as error:  # KeyboardInterrupt too: the panel must stay usable
            self.error = "".join(traceback.format_exception_only(error)).strip()
            self.traceback = traceback.format_exc()
            self.runs += 1
            self._failed(generation, settings, error)
            return
        seconds = time.perf_counter() - start
        with self._lock:
            if generation != self._generation:
                self.superseded += 1  # finished, but newer settings wait: they are shown next
                return
            self.history, self.ghosts, self.error, self.traceback = history, ghosts, None, None
            self.runs += 1
            end = (say("final loss", loss=number(history.epoch_loss[-1]))
                   if history.epoch_loss and not history.diverged else history.message())
            steps = len(history.step_loss)
            self._show(generation, png, self._line(settings, say(
                "finished", end=end, steps=steps, s="s" * (steps != 1), seconds=f"{seconds:.2f}")),
                key)

    def _failed(self, generation: int, settings: dict, error: BaseException) -> None:
        """Say what went wrong, and mark the figure below as an earlier run's (if there is one)."""
        what = "".join(traceback.format_exception_only(error)).strip().rstrip(".")
        kind = say("error" if isinstance(error, Exception) else "stopped")
        shown = self.history is not None and self.history.settings != settings
        stale = say("stale", settings=describe(self.history.settings)) if shown else ""
        end = say("what next", kind=kind, what=escape(what, quote=False),
                  stale=escape(stale, quote=False), name=self._name())
        if self._show(generation, line=self._line(settings, end)) and shown:
            self.image.layout.border = STALE_BORDER

    def _name(self) -> str:
        """The notebook's name for this panel (e.g. surface_panel), for messages; else 'panel'."""
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with ipywidgets
            return "panel"
        shell = get_ipython()
        names = [name for name, value in list(getattr(shell, "user_ns", {}).items())
                 if value is self and not name.startswith("_")]
        return names[0] if names else "panel"

    def _watcher(self, settings: dict, generation: int, start: float) -> Callable:
        """What train() calls as the run grows: stop if superseded, else now and then a frame."""
        next_frame, decided, drawn = start + FIRST_FRAME, False, None

        def progress(history: History) -> None:
            nonlocal next_frame, decided, drawn
            if generation != self._generation:
                raise Superseded
            grown = (len(history.step_loss), sum(map(len, history.metrics.values())))
            if grown == drawn:
                return  # nothing new to draw
            now = time.perf_counter()
            if not decided and now - start > 0.03 and history.epochs and history.step_loss:
                decided = True  # a run that will take long is drawn from now on
                done = history.step_epochs()[-1] / history.epochs
                if (now - start) / done > FIRST_FRAME:
                    next_frame = now
            if now >= next_frame:
                if not self._frame(history, settings, generation):
                    next_frame, decided = math.inf, True  # draw cannot show half a run
                    return
                took = time.perf_counter() - now
                next_frame, drawn = now + took + max(FRAME_GAP, FRAME_SHARE * took), grown

        return progress

    def _frame(self, history: History, settings: dict, generation: int) -> bool:
        """Draw a run that is still going, with how far it has got; False if draw failed."""
        history.settings = dict(settings)
        try:
            png, key = self._render(history, self._ghosts_for(history))
        except Exception:  # e.g. draw uses what train adds after d2lmini.train returns
            return False
        epochs = history.step_epochs()
        epoch = min(history.epochs, math.floor(epochs[-1] + 1e-9) + 1) if epochs else 1
        if self._show(generation, png, self._line(
                settings, say("training epoch", epoch=epoch, epochs=history.epochs)), key):
            self.frames += 1
        return True

    def _ghosts_for(self, history: History) -> list[History]:
        """The last `keep` earlier runs, oldest first, one per settings, none like this one,
        none that a drag passed over."""
        runs = [*self.ghosts, self.history] if self.history is not None else list(self.ghosts)
        newest = {repr(run.settings): run for run in runs if run.settings != history.settings
                  and repr(run.settings) not in self._passed}
        return list(newest.values())[-self.keep:] if self.keep else []

    def _render(self, history: History, ghosts: list[History]) -> tuple[bytes, str]:
        """Draw the run on the panel's figure; return it as a PNG, and the key to its runs."""
        with _DRAWING, rc_context(self._rc):
            self._figure.start()
            self.draw(self._figure, history, ghosts)
            runs = _take_runs_legend(self._figure, every=self._classroom)
            return self._figure.png(), self._key(runs)

    def _show(self, generation: int, png: bytes | None = None, line: str | None = None,
              key: str | None = None) -> bool:
        """Show a figure, status line and/or key, unless newer settings came meanwhile."""
        with self._lock:
            if generation != self._generation or self._closed:
                return False
            if line is not None:  # first: when the new figure arrives, its words are there
                self.status.value = line
            if key is not None:
                self.key.value = key
            if png is not None:
                self.png = self.image.value = png
                self.image.layout.border = ""  # a figure of these settings: not stale
            return True

    def _key(self, runs: list[tuple[str, str, float, str]]) -> str:
        """The key to the figure's runs, as HTML: a short line in each run's colour, its label.

        Called while drawing (inside the panel's style), so that C0, C1, ... are its colours.
        """
        return "".join(
            f'<span style="font-size: {self._text_size()}; margin-right: 1.5em; '
            f'white-space: nowrap">'
            f'<span style="display: inline-block; width: 1.6em; vertical-align: middle; '
            + (f'height: 0.8em; background: {to_hex(color)}; ' if look == "box" else
               f'border-top: {0.25 if alpha == 1 else 0.18}em {look} {to_hex(color)}; ')
            + f'opacity: {alpha}"></span> {escape(label, quote=False)}</span>'
            for label, color, alpha, look in runs)

    def _line(self, settings: dict, end: str) -> str:
        """The status line: settings in words, then how the run went."""
        words = escape(describe(settings), quote=False)
        return f'<span style="font-size: {self._text_size()}">{words} — {end}</span>'

    def _text_size(self) -> str:
        """The size of the status line and the key: larger in classroom mode."""
        return "1.5em" if self._classroom else "1em"

    # -------------------------------------------------------------------- display

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The widgets, and the default run's figure for readers without a kernel."""
        data = {"text/plain": f"<d2lmini live panel: "
                              f"{', '.join(words(name) for name in self.controls)}>"}
        if self._closed:
            return data
        data[WIDGET_VIEW] = {"version_major": 2, "version_minor": 0,
                             "model_id": self.box.model_id}
        metadata = {}
        if self.static_png and "google.colab" not in sys.modules:
            data["image/png"] = base64.b64encode(self.static_png).decode("ascii")
            width, height = _png_size(self.static_png)
            metadata["image/png"] = {"width": width // style.DENSITY,
                                     "height": height // style.DENSITY}
        return data, metadata


def _take_runs_legend(fig: Figure, every: bool = False) -> list[tuple[str, str, float, str]]:
    """Remove the legends that tell runs apart (plot_loss's), or every legend, and return their
    entries as (label, colour, alpha, look: solid, dashed, dotted or box), this run first: the
    panel lists them once, above its figure, for every plot (such a legend took a third of each
    redraw, and could hide a curve; in classroom mode any legend could)."""
    runs, others = [], []
    for ax in fig.axes:
        handles, labels = ax.get_legend_handles_labels()
        if ax.get_legend() is None or not (every or THIS_RUN_LABEL in labels):
            continue
        ax.get_legend().remove()
        entries = [(label, *_handle_look(handle)) for handle, label in zip(handles, labels)]
        if THIS_RUN_LABEL in labels:
            this = labels.index(THIS_RUN_LABEL)
            runs = runs or [entries[this], *entries[:this], *entries[this + 1:]]
        else:
            others += [entry for entry in entries if entry not in others]
    return runs + others


def _handle_look(handle) -> tuple[str, float, str]:
    """A legend handle's colour, alpha and look: a line's style, or a box for a bar or patch."""
    if isinstance(handle, Line2D):
        style = {"--": "dashed", ":": "dotted", "-.": "dashed"}.get(handle.get_linestyle(),
                                                                     "solid")
        return handle.get_color(), handle.get_alpha() or 1.0, style
    patch = handle.patches[0] if isinstance(handle, BarContainer) else handle
    return patch.get_facecolor(), patch.get_alpha() or 1.0, "box"


def _classroom_figure(figsize: tuple[float, float], rc: dict) -> tuple[tuple, dict]:
    """A panel's figure in classroom mode: taller (titles may take two lines), and its type
    scaled with its width, so that it shows as large as a 10-inch figure's once the browser
    fits the figure to the notebook's width."""
    scale = figsize[0] / 10
    sizes = {name: value * scale for name, value in rc.items() if isinstance(value, int | float)
             and name.endswith(("font.size", "labelsize", "titlesize", "legend.fontsize",
                                "titlepad", "major.pad"))}
    return (figsize[0], figsize[1] * CLASSROOM_TALLER), {**rc, **sizes}


def _weakly(method: Callable) -> Callable:
    """A callback that calls method while its object lives, and does nothing after."""
    method = weakref.WeakMethod(method)

    def call(*args):
        bound = method()
        if bound is not None:
            bound(*args)

    return call


def _close(*panel_widgets: widgets.Widget) -> None:
    """Close widgets, with their style and layout (they leave the notebook)."""
    for widget in panel_widgets:
        for part in (getattr(widget, "style", None), getattr(widget, "layout", None), widget):
            if isinstance(part, widgets.Widget):
                part.close()


# ------------------------------------------------------------------------------ dropped panels

_PANELS: "weakref.WeakSet[LivePanel]" = weakref.WeakSet()  # the panels not yet freed
_NAMED: "weakref.WeakSet[LivePanel]" = weakref.WeakSet()  # those a notebook's name held
_WATCHED: list = []  # the IPython shells whose cells _close_dropped follows


def _watch_the_notebook() -> None:
    """After each cell of this IPython kernel, close the panels that it dropped."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return
    shell = get_ipython()
    if shell is not None and not any(watched is shell for watched in _WATCHED):
        shell.events.register("post_run_cell", _close_dropped)
        _WATCHED.append(shell)


def _close_dropped(result=None) -> None:
    """Close each panel that a name of the notebook held and that only IPython's output
    history (Out[n], _n, _) holds now: its cell was run again, or its name rebound.

    A cell that ends with `panel` shows the panel, and IPython keeps what a cell showed in
    Out, for good; so such a panel is never garbage-collected. Closing it frees its figure,
    images and widgets; Out keeps the small closed panel (its last run), as it keeps any value.
    A panel that was never given a name (a cell ending with `d2lmini.LivePanel(...)`) stays,
    as does one that anything else holds (a list, another name).
    """
    from IPython import get_ipython
    shell = get_ipython()
    if shell is None:
        return
    named = {id(value) for name, value in list(shell.user_ns.items())
             if isinstance(value, LivePanel) and not name.startswith("_")}
    _NAMED.update(panel for panel in _PANELS if id(panel) in named)
    dropped = [weakref.ref(panel) for panel in _NAMED if id(panel) not in named]
    for ref in dropped:
        panel = ref()
        if panel is None or panel._closed or not panel.wait(0):
            continue  # freed, closed, or still running (looked at again after the next cell)
        _NAMED.discard(panel)  # looked at once: kept for good if anything else holds it
        if _only_in_output_history(panel, shell, result):
            panel.close()
        del panel


def _only_in_output_history(panel: "LivePanel", shell, result) -> bool:
    """True when nothing but IPython's output history holds the panel.

    Frames, closure cells and the results of earlier cells do not count: they are finished
    code (the panel's, its cell's), kept by a library that caches an exception with its
    traceback (pyparsing does, for matplotlib's text).
    """
    import gc

    from IPython.core.interactiveshell import ExecutionResult
    history = [shell.user_ns, getattr(shell, "user_ns_hidden", None), shell.user_ns.get("_oh"),
               shell.displayhook]
    history += [getattr(holder, "__dict__", None) for holder in history]
    a_result = set(vars(result)) if isinstance(result, ExecutionResult) else None
    return all(isinstance(holder, types.FrameType | types.CellType | ExecutionResult)
               or (isinstance(holder, dict) and set(holder) == a_result)
               or any(holder is known for known in history if known is not None)
               for holder in gc.get_referrers(panel))


_TORCH_THREADS = {"runs": 0, "count": 1}  # runs now in panels' threads; the count found
_TORCH_THREADS_LOCK = threading.Lock()


@contextmanager
def _one_torch_thread():
    """Train a panel's run with one torch thread, wherever it runs, then restore the count.

    One thread for every run, the default run in the panel's cell, runs in the panel's thread
    and runs in the change handler (Colab) alike: a model's result can depend on how many
    threads add its numbers up (chapter 5's MLP ended at loss 0.292 with 2 threads and 0.25 with
    1), and the same settings must give the same figure however the run was started. It costs
    nothing: a panel's models are small, and chapter 5's default run took 3.3 s with 2 threads on
    2 cores and 1.9 s with 1 (chapters 1-4: the same either way). The count is one per process,
    so with runs of two panels overlapping, the first to start keeps the count it found and the
    last to end puts it back.
    """
    with _TORCH_THREADS_LOCK:
        if _TORCH_THREADS["runs"] == 0:
            _TORCH_THREADS["count"] = torch.get_num_threads()
        _TORCH_THREADS["runs"] += 1
        torch.set_num_threads(1)
    try:
        yield
    finally:
        with _TORCH_THREADS_LOCK:
            _TORCH_THREADS["runs"] -= 1
            if _TORCH_THREADS["runs"] == 0:
                torch.set_num_threads(_TORCH_THREADS["count"])


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, from a PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
