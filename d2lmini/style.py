"""One plotting style for every figure and live panel, and a classroom mode for projectors.

The look is a set of rcParams: NORMAL, and CLASSROOM's large type and thick lines, readable
from the back of a room. Figures are drawn at twice the pixel density they are shown at, so
that they stay sharp on HiDPI screens and projectors. Live panels use the style whether or not
a notebook set it; `set_classroom()` switches every later figure and panel to the classroom
look.
In a notebook, `d2lmini.use_style()` and `d2lmini.classroom()` (machinery/figures.py) also
have it keep each figure as a small, sharp PNG.
"""

import matplotlib

DISPLAY_DPI = 100  # a figure inch is shown as this many CSS pixels
DENSITY = 2  # and drawn with this many image pixels per CSS pixel

NORMAL = {
    "figure.dpi": DISPLAY_DPI,
    "savefig.dpi": DENSITY * DISPLAY_DPI,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "lines.linewidth": 2.0,
    "lines.markersize": 5,
    "axes.linewidth": 0.8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": True,
    "legend.framealpha": 0.85,
    "legend.edgecolor": "0.8",
    "image.cmap": "viridis",
}

CLASSROOM = {  # what set_classroom() changes: type about twice as large, thick lines
    "font.size": 20,
    "axes.titlesize": 22,
    "axes.labelsize": 21,
    "xtick.labelsize": 21,  # digits at least 18 px tall on a 1280x720 projector (browser test)
    "ytick.labelsize": 21,
    "legend.fontsize": 18,
    "lines.linewidth": 4.0,
    "lines.markersize": 9,
    "axes.linewidth": 1.5,
    "xtick.major.width": 1.5,
    "ytick.major.width": 1.5,
    "xtick.major.size": 6,
    "ytick.major.size": 6,
    "grid.linewidth": 1.0,
    "axes.titlepad": 13,  # room between a title and the top y tick label
    "xtick.major.pad": 13,  # and between the lowest y tick label and the first x one
}

_classroom = False


def params(classroom: bool | None = None) -> dict:
    """The rcParams of the style: normal, or classroom when it is on (or asked for)."""
    on = _classroom if classroom is None else classroom
    # what only classroom mode sets goes back to matplotlib's default when it is off
    undo = {name: matplotlib.rcParamsDefault[name] for name in CLASSROOM}
    return {**undo, **NORMAL, **(CLASSROOM if on else {})}


def set_classroom(on: bool = True) -> None:
    """Switch the style of every later figure and live panel to large type and thick lines (or
    back); in a notebook, d2lmini.classroom() does this and keeps its figures sharp and small."""
    global _classroom
    _classroom = bool(on)
    matplotlib.rcParams.update(params())


def is_classroom() -> bool:
    """True while classroom mode is on."""
    return _classroom
