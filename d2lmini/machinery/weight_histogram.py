"""A histogram of a layer's weights, this run filled and earlier runs as outlines (chapter 5).

Chapter 5's live panel shows what weight decay does to the hidden layer's weights. Each run
carries its weights as a flat array, `history.weights` (set once the run has ended); a run
still training, or one that diverged, has no histogram.
"""

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from ..plot import GHOST_COLORS, THIS_RUN
from ..training import History


def plot_weight_histogram(ax: Axes, history: History, ghosts: Sequence[History] = (),
                          limit: float = 0.2, bins: int = 80) -> None:
    """Count history.weights in `bins` bins on [-limit, limit], on a log axis; ghosts outlined."""
    if not limit > 0 or int(bins) != bins or bins < 1:
        raise ValueError(f"limit must be > 0 and bins a whole number >= 1, got limit={limit!r}, "
                         f"bins={bins!r}")
    edges = np.linspace(-limit, limit, int(bins) + 1)
    for old, color in zip(reversed(ghosts), GHOST_COLORS):
        old_weights = _weights(old)
        if old_weights is not None:
            ax.stairs(np.histogram(old_weights, edges)[0], edges, color=color)
    weights = _weights(history)
    if weights is not None:
        ax.stairs(np.histogram(weights, edges)[0], edges, color=THIS_RUN, fill=True, alpha=0.6)
        ax.set_title(f"hidden-layer weights (|W| = {np.linalg.norm(weights):.1f})")
    else:
        ax.set_title("hidden-layer weights")
    ax.set(yscale="log", ylim=(1, 1e5), xlim=(-limit, limit), xlabel="weight",
           ylabel="how many")


def _weights(run: History) -> np.ndarray | None:
    """The run's weights as a flat array, or None (still training, or diverged)."""
    weights = getattr(run, "weights", None)
    if weights is None or run.diverged:
        return None
    return np.asarray(weights).ravel()
