"""Figures: loss curves with faded earlier runs, loss contours with paths, image grids."""

import io
import math
from collections.abc import Callable, Sequence

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from .train import History

FADED = {"alpha": 0.3, "linewidth": 1.0}
BOLD = {"alpha": 1.0, "linewidth": 2.0}


def ema(values: Sequence[float], beta: float = 0.9) -> list[float]:
    """Exponential moving average s_i = beta * s_(i-1) + (1 - beta) * v_i, starting at v_0."""
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    smoothed = []
    for value in values:
        smoothed.append(value if not smoothed else beta * smoothed[-1] + (1 - beta) * value)
    return smoothed


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render a matplotlib Figure to PNG bytes (works without pyplot, from any thread)."""
    buffer = io.BytesIO()
    # savefig resets the figure's layout engine from rcParams afterwards; a notebook that
    # turned on constrained layout would otherwise make every later redraw twice as slow
    with rc_context({"figure.constrained_layout.use": False, "figure.autolayout": False}):
        # the fastest zlib level: ~10 ms less per redraw for a PNG ~5% larger
        fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def plot_loss(ax: Axes, history: History, ghosts: Sequence[History] = (),
              smooth: float = 0.0) -> None:
    """Draw the per-step loss on a log scale: this run bold, earlier runs faded."""
    runs = [*ghosts, history]
    curves = [_finite(run.step_loss, smooth) for run in runs]
    for curve in curves[:-1]:
        ax.plot(curve, color="gray", **FADED)
    ax.plot(curves[-1], color="C0", **BOLD)
    ax.set(xlabel="step", ylabel="loss", yscale="log")
    _few_ticks(ax.xaxis, integer=True)
    low, high = _loss_range(runs, curves)
    ax.set_ylim(low, high)
    # plain labels (0.5, 1, 1e-05) and no minor ticks: LaTeX-style labels take ~70 ms to draw;
    # 1-2-5 ticks over a few decades, powers of ten over many (else matplotlib shows none)
    subs = (1, 2, 5) if math.log10(high / low) <= 4 else (1,)
    ax.yaxis.set_major_locator(LogLocator(subs=subs, numticks=7))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    if history.diverged:
        say(ax, history.message())


def _loss_range(runs: Sequence[History], curves: Sequence[list[float]]) -> tuple[float, float]:
    """Y-limits that fit every run that did not diverge; diverging curves leave the chart."""
    values = [v for curve in curves for v in curve if v > 0] or [1.0]
    calm = [v for run, curve in zip(runs, curves) if not run.diverged for v in curve if v > 0]
    starts = [curve[0] for curve in curves if curve and curve[0] > 0]
    low, high = min(values), max(calm + starts, default=max(values))
    if any(run.diverged for run in runs):
        high *= 10  # room to see a diverging curve take off
    return low / 1.5, max(high * 1.5, low * 10)


def plot_metrics(ax: Axes, history: History, ghosts: Sequence[History] = (),
                 names: Sequence[str] | None = None) -> None:
    """Draw per-epoch metrics (e.g. train_acc, test_acc): this run bold, earlier runs faded."""
    # the names of this run and the earlier ones: a run that diverged early has none
    names = names or list(dict.fromkeys(n for h in [*ghosts, history] for n in h.metrics))
    for i, name in enumerate(names):
        for old in ghosts:
            ax.plot(_epochs(old.metrics.get(name, [])), old.metrics.get(name, []),
                    color=f"C{i + 1}", **FADED)
        values = history.metrics.get(name, [])
        ax.plot(_epochs(values), values, "o-", color=f"C{i + 1}", label=name, **BOLD)
    ax.set(xlabel="epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if names:
        ax.legend(loc="lower right")
    if history.diverged:
        say(ax, history.message())


def plot_contour(ax: Axes, loss: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 xlim: tuple[float, float], ylim: tuple[float, float],
                 levels: int = 20, n: int = 60) -> None:
    """Draw contour lines of loss(W1, W2) over a grid (log-spaced levels)."""
    w1, w2 = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    z = loss(w1, w2)
    low, span = float(z.min()), float(z.max() - z.min())
    # log-spaced above the minimum: rings close to it, and still some far out
    steps = np.geomspace(span * 1e-3, span, levels) if span > 0 else [1.0]
    ax.contour(w1, w2, z, levels=low + np.asarray(steps), cmap="viridis", linewidths=0.8)
    ax.set(xlim=xlim, ylim=ylim, xlabel="w₁", ylabel="w₂")  # not "$w_1$": mathtext is slow
    _few_ticks(ax.xaxis)
    _few_ticks(ax.yaxis)


def plot_path(ax: Axes, path: Sequence[Sequence[float]], ghosts: Sequence[Sequence] = (),
              target: Sequence[float] | None = None) -> None:
    """Draw parameter paths (lists of (w1, w2)) on ax: this one bold, earlier ones faded."""
    for old in ghosts:
        if len(old):
            ax.plot(*np.asarray(old, dtype=float).T, ".-", color="gray", markersize=2, **FADED)
    if len(path):
        points = np.asarray(path, dtype=float)
        ax.plot(*points.T, ".-", color="C3", markersize=3, **BOLD)
        ax.plot(*points[0], "o", color="C3")
    if target is not None:
        ax.plot(*target, "*", color="black", markersize=12)


def say(ax: Axes, text: str) -> None:
    """Write a message in the middle of an axes, in place of a plot that would mislead."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", wrap=True,
            color="C3", fontsize=11, bbox={"facecolor": "white", "edgecolor": "C3"})


def show_images(imgs, num_rows: int, num_cols: int, titles: Sequence[str] | None = None,
                scale: float = 1.5, colors: Sequence[str] | None = None) -> Figure:
    """Show a grid of images (tensors or arrays of shape (H, W) or (1, H, W)) with titles."""
    figure = _new_figure((num_cols * scale, num_rows * scale * 1.2))
    axes = figure.subplots(num_rows, num_cols, squeeze=False).flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        img = img.detach().cpu().numpy() if hasattr(img, "detach") else np.asarray(img)
        ax.imshow(img.reshape(img.shape[-2:]), cmap="gray_r")
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[i], fontsize=8, color=colors[i] if colors else "black")
    for ax in axes[len(imgs):]:
        ax.set_axis_off()
    return figure


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A pyplot figure (shown inline in a notebook) sized in inches."""
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained")


def _few_ticks(axis, integer: bool = False) -> None:
    """At most 5 round tick labels: each one costs about 1 ms of every panel redraw."""
    axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10], integer=integer))


def _finite(values: Sequence[float], smooth: float) -> list[float]:
    """The values up to the first non-finite one, optionally smoothed."""
    kept = []
    for value in values:
        if not math.isfinite(value):
            break
        kept.append(value)
    return ema(kept, smooth) if smooth else kept


def _epochs(values: Sequence[float]) -> list[int]:
    """1, 2, ..., len(values): the epoch numbers of per-epoch values."""
    return list(range(1, len(values) + 1))
