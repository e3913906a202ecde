"""plot_weight_histogram: this run filled with its norm in the title, earlier runs outlined."""

import matplotlib
import numpy as np
import pytest

import d2lmini
from d2lmini.machinery.weight_histogram import plot_weight_histogram

matplotlib.use("Agg")


def run_with(weights=None, diverged=False):
    run = d2lmini.History(step_loss=[1.0], epoch_loss=[1.0], epochs=1)
    if diverged:
        run.diverged_at = 1
    if weights is not None:
        run.weights = np.asarray(weights, dtype=float)
    return run


def axes():
    return matplotlib.figure.Figure().subplots()


def test_counts_the_weights_and_names_their_norm():
    ax = axes()
    weights = np.array([-0.15, 0.0, 0.0, 0.01, 0.3])  # 0.3 lies outside [-0.2, 0.2]
    plot_weight_histogram(ax, run_with(weights))
    (bars,) = ax.patches
    assert bars.get_data().values.sum() == 4 and bars.get_fill()
    assert ax.get_title() == f"hidden-layer weights (|W| = {np.linalg.norm(weights):.1f})"
    assert ax.get_yscale() == "log" and ax.get_xlim() == (-0.2, 0.2)


def test_earlier_runs_are_outlines_and_runs_without_weights_are_skipped():
    ax = axes()
    ghosts = [run_with([0.1, 0.1]), run_with(), run_with([0.0], diverged=True), run_with([0.05])]
    plot_weight_histogram(ax, run_with(), ghosts)  # this run is still training: no weights
    assert len(ax.patches) == 2 and not any(p.get_fill() for p in ax.patches)
    assert ax.get_title() == "hidden-layer weights"


@pytest.mark.parametrize("limit, bins", [(0, 80), (-1, 80), (0.2, 0), (0.2, 2.5)])
def test_bad_limits_or_bins_are_named(limit, bins):
    with pytest.raises(ValueError, match="limit must be > 0 and bins a whole number"):
        plot_weight_histogram(axes(), run_with([0.0]), limit=limit, bins=bins)
