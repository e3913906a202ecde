"""Figures: loss against epochs with labelled earlier runs, accuracy, contours with paths, images.

The current run is drawn bold with the axes fitted to it, and up to a few earlier runs
("ghosts") thinner, each in its own colour, labelled in a legend by what differed ("lr 0.3",
"batch 8") and clipped to the current run's axes. Names are shown in words (`words`, from the
table NAMES). A live panel draws with these same functions.
"""

import math
import textwrap
from collections.abc import Callable, Sequence

import numpy as np
from contourpy import contour_generator
from matplotlib import colormaps, rcParams
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from . import language
from .training import History
from .validate import check_number

THIS_RUN = "C0"  # the current run, in every plot
THIS_RUN_LABEL = "this run"
GHOST_COLORS = ("C1", "C2", "C4", "C5", "C6", "C8")  # earlier runs, newest first (C3: messages)
RAW = {"alpha": 0.25, "linewidth": 1.0}  # the unsmoothed per-step loss, behind its average
GHOST = {"alpha": 0.75, "linewidth": 1.5}

# names of settings and metrics, in words (status line, legends); SHORT ones label ghosts
NAMES = {"lr": "learning rate", "batch_size": "batch size", "epochs": "epochs",
         "train_acc": "train accuracy", "test_acc": "test accuracy",
         "valid_acc": "validation accuracy", "train_loss": "train loss",
         "test_loss": "test loss", "full_set": "full set", "weight_decay": "weight decay",
         "valid_loss": "validation loss", "lambd": "λ", "num_hiddens": "hidden units",
         "n_train": "training examples", "shape": "data"}
SHORT = {"lr": "lr", "batch_size": "batch", "weight_decay": "wd"}


def words(name: str) -> str:
    """A setting's or metric's name in words: words("test_acc") == "test accuracy"."""
    return NAMES.get(name, name.replace("_", " "))


def number(value) -> str:
    """A value as people write it: 3 significant digits, whole numbers without a point."""
    if isinstance(value, tuple | list):
        return ", ".join(map(number, value)) or "none"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3g}"
    return f"{int(value)}" if abs(value) < 1e6 else f"{value:.3g}"


def describe(settings: dict) -> str:
    """Settings in words: 'learning rate 0.0316 · batch size 97 · 3 epochs', or in Chinese
    when d2lmini speaks Chinese (the status line): '学习率0.0316 · 批量大小97 · 3个迭代周期'."""
    if language.get_language() == "zh":
        return " · ".join(language.say("epochs", n=number(value)) if name == "epochs" else
                          _setting(language.SETTINGS_ZH.get(name, words(name)), value, "zh")
                          for name, value in settings.items())
    return " · ".join(f"{number(value)} epoch{'' if value == 1 else 's'}" if name == "epochs"
                      else _setting(words(name), value) for name, value in settings.items())


def difference(run: History, current: History) -> str:
    """What an earlier run did differently from the current one: 'lr 0.3 · batch 8'."""
    return " · ".join(_setting(SHORT.get(name, words(name)), value)
                      for name, value in run.settings.items()
                      if current.settings.get(name) != value) or "same settings"


def _setting(label: str, value, in_language: str = "en") -> str:
    """A setting with its value: 'lr 0.3', 'full set on' (in Chinese: '学习率0.3', '全部数据开')."""
    value = language.say("on" if value else "off", in_language) if isinstance(value, bool) \
        else number(value)
    return f"{label}{value}" if in_language == "zh" else f"{label} {value}"


def ema(values: Sequence[float], beta: float = 0.9) -> list[float]:
    """Exponential moving average s_i = beta * s_(i-1) + (1 - beta) * v_i, starting at v_0."""
    check_number(beta, "beta", 0, 1)
    smoothed = []
    for value in values:
        smoothed.append(value if not smoothed else beta * smoothed[-1] + (1 - beta) * value)
    return smoothed


# ------------------------------------------------------------------------------ loss

def plot_loss(ax: Axes, history: History, ghosts: Sequence[History] = (),
              smooth: float | None = None) -> None:
    """Per-step loss against epochs, log scale: smoothed and bold, the raw steps faint behind.

    The axes fit this run; earlier runs (ghosts, oldest first) are clipped to them, each
    labelled by what it did differently. smooth is the EMA's beta; by default each run is
    averaged over about a tenth of an epoch, so runs with different batch sizes compare. The
    EMA averages log(loss): on the log axis it runs through the middle of the noise and keeps
    up with a loss that falls fast (an EMA of the loss itself would fall at most by beta per
    step, held up by the larger losses before).
    """
    x, raw = _steps(history)
    smoothed = _smooth(raw, smooth if smooth is not None else _beta(x))
    low, high = _loss_range(history, raw, smoothed, ghosts)
    if smoothed != raw:  # the raw steps, faint, where the average differs from them
        ax.plot(x, raw, color=THIS_RUN, **RAW)
    for old, color in zip(reversed(ghosts), GHOST_COLORS):
        old_x, old_raw = _steps(old)
        old_smoothed = _smooth(old_raw, smooth if smooth is not None else _beta(old_x))
        label = difference(old, history) + (" (diverged)" if old.diverged else "")
        if _hidden_under(old_x, old_smoothed, x, smoothed, math.log(high / low)):
            label += " (hidden under this run)"
        ax.plot(old_x, old_smoothed, color=color, label=label, **GHOST)
    ax.plot(x, smoothed, "o-" if len(x) <= 20 else "-", color=THIS_RUN, label=THIS_RUN_LABEL,
            markersize=4)  # a few steps (a full batch, an early divergence): each one a dot
    ax.set(xlabel="epochs", ylabel="loss", yscale="log")
    right = max(history.epochs or 0, x[-1] if x else 1)
    ax.set_xlim(-0.02 * right, right)  # a little room: the first steps stay off the axis line
    _few_ticks(ax.xaxis, integer=True)
    ax.set_ylim(low, high)
    log_ticks(ax.yaxis, low, high)
    legend = "upper right"
    if history.diverged:  # the message at the top, the legend below it
        legend = "lower left" if _say_where_it_left(ax, history, x, smoothed, high) \
            else "lower right"
    if ghosts:  # a legend only when there are runs to tell apart
        ax.legend(loc=legend)


def log_ticks(axis, low: float, high: float) -> None:
    """Plain tick labels (0.5, 1, 1e-05) on a log y axis from low to high, and no minor ticks:
    1-2-5 ticks over a few decades, powers of ten over many or where the labels would crowd
    (else matplotlib shows none), and no LaTeX-style labels, which take ~70 ms to draw."""
    decades = math.log10(high / low)
    room = axis.axes.bbox.height * 72 / axis.axes.figure.dpi  # in points, as the type
    size = FontProperties(size=rcParams["ytick.labelsize"]).get_size_in_points()
    subs = (1, 2, 5) if decades <= 4 and 3 * decades * 1.8 * size <= room else (1,)
    axis.set_major_locator(LogLocator(subs=subs, numticks=7))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))


def _steps(history: History) -> tuple[list[float], list[float]]:
    """x (epochs) and loss of each step, up to the first loss that is not finite."""
    raw = []
    for value in history.step_loss:
        if not math.isfinite(value):
            break
        raw.append(value)
    return history.step_epochs()[:len(raw)], raw


def _hidden_under(old_x: list[float], old: list[float], x: list[float], current: list[float],
                  log_span: float) -> bool:
    """True when an earlier run's curve lies within about a line's width (1.5% of the log
    axis' height) of the current run's everywhere they share, so the bold curve covers it."""
    if len(old) < 2 or len(current) < 2 or old_x[-1] > x[-1] * 1.02:  # it goes on further right
        return False
    here = np.interp(old_x, x, np.log(np.maximum(current, 1e-30)))
    return bool(np.max(np.abs(np.log(np.maximum(old, 1e-30)) - here)) <= 0.015 * log_span)


def _smooth(losses: list[float], beta: float) -> list[float]:
    """The EMA of log(loss), back on the loss's scale (a loss of 0 counts as 1e-30)."""
    if beta == 0:
        return list(losses)
    return [math.exp(v) for v in ema([math.log(max(v, 1e-30)) for v in losses], beta)]


def _beta(x: Sequence[float]) -> float:
    """The EMA's beta that averages over about a tenth of an epoch (x[0]: epochs per step)."""
    return min(0.98, max(0.0, 1 - 10 * x[0])) if x else 0.0


def _loss_range(history: History, raw: list[float], smoothed: list[float],
                ghosts: Sequence[History]) -> tuple[float, float]:
    """Log-axis limits fitted to this run, on round 1-2-5 values; a diverging run gets room to
    leave through the top. Round limits keep the axes still while a slider moves a little
    (and a live panel need not draw them again: redraw.py)."""
    values = [v for v in smoothed if v > 0]
    if values:
        low, high = min(values) / 1.5, max(values) * 1.5
        if history.diverged:  # where it started, and room to see it take off
            high = 10 * raw[0]
    else:  # nothing finite to fit: the earlier runs, if any
        values = [v for g in ghosts for v in _steps(g)[1] if v > 0] or [0.1, 10.0]
        low, high = min(values) / 1.5, max(values) * 1.5
    low, high = _round_125(low, down=True), _round_125(high, down=False)
    return low, max(high, low * 10)


def _round_125(value: float, down: bool) -> float:
    """The nearest of ..., 0.1, 0.2, 0.5, 1, 2, 5, 10, ... below (or above) value."""
    if not 0 < value < math.inf:
        return value
    decade = 10.0 ** math.floor(math.log10(value))
    steps = [decade * m for m in (1, 2, 5, 10)]
    if down:
        return max(s for s in steps if s <= value * (1 + 1e-9))
    return min(s for s in steps if s >= value * (1 - 1e-9))


def _say_where_it_left(ax: Axes, history: History, x: list[float], smoothed: list[float],
                       top: float) -> bool:
    """Write the run's message at the top of the chart, above where the curve left it.

    Returns True when the message sits in the right half (the legend then goes elsewhere).
    """
    if not x:
        say(ax, history.message("en"))  # figures stay English (no Chinese font needed)
        return False
    left = next((xi for xi, v in zip(x, smoothed) if v >= top), x[-1])
    low, high = ax.get_xlim()
    where = min(0.97, max(0.03, (left - low) / (high - low)))
    right = where > 0.5
    ax.text(where, 0.96, _lines(history.message("en")), transform=ax.transAxes,
            ha="right" if right else "left", va="top", color="C3", fontsize="medium",
            bbox={"facecolor": "white", "edgecolor": "C3", "alpha": 0.9})
    return right


def _lines(message: str, width: int = 36) -> str:
    """A message on short lines, broken after its colon first: 'diverged at step 3:\n...'."""
    head, colon, tail = message.partition(": ")
    parts = [head + colon.strip(), tail] if colon else [message]
    return "\n".join(line for part in parts if part for line in textwrap.wrap(part, width))


# ------------------------------------------------------------------------------ metrics

def plot_metrics(ax: Axes, history: History, ghosts: Sequence[History] = (),
                 names: Sequence[str] | None = None) -> None:
    """Per-epoch metrics (e.g. train_acc, test_acc) against epochs; accuracy on a 0-1 axis.

    This run bold with markers, earlier runs thin in their colours (as in plot_loss), one
    line style per metric. A run that diverged says so in its loss plot, not here.
    """
    runs = [*ghosts, history]
    names = names or list(dict.fromkeys(n for run in runs for n in run.metrics))
    styles = ("-", "--", ":", "-.")
    for i, name in enumerate(names):
        for old, color in zip(reversed(ghosts), GHOST_COLORS):
            values = old.metrics.get(name, [])
            ax.plot(_epochs(values), values, styles[i % 4], color=color, **GHOST)
        values = history.metrics.get(name, [])
        if values:
            ax.plot(_epochs(values), values, styles[i % 4], marker="o", color=THIS_RUN,
                    label=words(name))
        elif any(old.metrics.get(name) for old in ghosts):  # say which line style is which
            ax.plot([], [], styles[i % 4], color="gray", label=words(name))
    ax.set(xlabel="epochs")
    done = max((len(values) for values in history.metrics.values()), default=0)
    ax.set_xlim(0, max(history.epochs or 0, done, 1))
    _few_ticks(ax.xaxis, integer=True)
    if names and all("acc" in name for name in names):
        ax.set(ylim=(0, 1), ylabel="accuracy")
    lines, labels = ax.get_legend_handles_labels()
    if lines:  # never an empty legend
        ax.legend(loc="lower right")


def _epochs(values: Sequence[float]) -> list[int]:
    """1, 2, ..., len(values): the epochs at whose end per-epoch values were measured."""
    return list(range(1, len(values) + 1))


# ------------------------------------------------------------------------------ paths

def plot_contour(ax: Axes, loss: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 xlim: tuple[float, float], ylim: tuple[float, float],
                 levels: int = 20, n: int = 60) -> None:
    """Draw contour lines of loss(W1, W2) over an n x n grid, at log-spaced heights above its
    minimum: rings close to the minimum, and still some far out."""
    w1, w2 = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    z = np.asarray(loss(w1, w2), dtype=float)
    low, span = float(z.min()), float(z.max() - z.min())
    heights = low + (np.geomspace(span * 1e-3, span, levels) if span > 0 else np.ones(1))
    # contourpy (what ax.contour uses inside) finds the lines of each height; one collection
    # draws them all in under half ax.contour's time (a live panel draws them at every redraw)
    lines = contour_generator(w1, w2, z)
    shades = colormaps["viridis"]((heights - heights[0]) / max(heights[-1] - heights[0], 1e-300))
    drawn = [(line, shade) for height, shade in zip(heights, shades)
             for line in lines.lines(height)]
    ax.add_collection(LineCollection([line for line, _ in drawn], linewidths=0.8, alpha=0.6,
                                     colors=[shade for _, shade in drawn]), autolim=False)
    ax.set(xlim=xlim, ylim=ylim, xlabel="w₁", ylabel="w₂")  # not "$w_1$": mathtext is slow
    _few_ticks(ax.xaxis)
    _few_ticks(ax.yaxis)


def plot_path(ax: Axes, path: Sequence[Sequence[float]], ghosts: Sequence[Sequence] = (),
              target: Sequence[float] | None = None) -> None:
    """Draw parameter paths (lists of (w1, w2)): this one bold, earlier ones (oldest first)
    thin in the colours plot_loss gives them."""
    for old, color in zip(reversed(ghosts), GHOST_COLORS):
        if len(old):
            ax.plot(*np.asarray(old, dtype=float).T, ".-", color=color, markersize=2, **GHOST)
    if len(path):
        points = np.asarray(path, dtype=float)
        ax.plot(*points.T, ".-", color=THIS_RUN, markersize=3)
        ax.plot(*points[0], "o", color=THIS_RUN)
    if target is not None:
        ax.plot(*target, "*", color="black", markersize=12)


def say(ax: Axes, text: str) -> None:
    """Write a message in the middle of an axes, in place of a plot that would mislead."""
    ax.text(0.5, 0.5, _lines(text), transform=ax.transAxes,
            ha="center", va="center", color="C3", fontsize="medium",
            bbox={"facecolor": "white", "edgecolor": "C3"})


# ------------------------------------------------------------------------------ images

def show_images(imgs, num_rows: int, num_cols: int, titles: Sequence[str] | None = None,
                scale: float = 1.5, colors: Sequence[str] | None = None) -> Figure:
    """Show a grid of images (tensors or arrays of shape (H, W) or (1, H, W)) with titles."""
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(num_cols * scale, num_rows * scale * 1.2), layout="constrained")
    axes = figure.subplots(num_rows, num_cols, squeeze=False).flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        img = img.detach().cpu().numpy() if hasattr(img, "detach") else np.asarray(img)
        ax.imshow(img.reshape(img.shape[-2:]), cmap="gray_r")
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[i], fontsize="small", color=colors[i] if colors else "black")
    for ax in axes[len(imgs):]:
        ax.set_axis_off()
    return figure


def _few_ticks(axis, integer: bool = False) -> None:
    """At most 5 round tick labels: each one costs about 1 ms of every panel redraw."""
    axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10], integer=integer))
