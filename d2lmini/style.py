"""One plotting style for every figure and live panel, and a classroom mode for projectors.

`use_style()` in a notebook's imports cell sets it for the notebook's own figures (drawn at
twice the pixel density they are shown at, so they stay sharp on HiDPI screens and
projectors); live panels use it whether or not it was called. `classroom()` makes every
later figure and panel use large type and thick lines, readable from the back of a room.
"""

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

CLASSROOM = {  # what classroom() changes: type about twice as large, thick lines
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
}

_classroom = False


def params(classroom: bool | None = None) -> dict:
    """The rcParams of the style: normal, or classroom when it is on (or asked for)."""
    on = _classroom if classroom is None else classroom
    return {**NORMAL, **(CLASSROOM if on else {})}


def use_style() -> None:
    """Set the d2lmini plotting style for this notebook's figures (and sharp inline images)."""
    import matplotlib

    matplotlib.rcParams.update(params())
    try:
        from IPython import get_ipython

        if get_ipython() is not None:  # inline figures at twice the density they are shown at
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("retina")
    except ImportError:  # no IPython or matplotlib-inline: a script, nothing to show inline
        pass


def classroom(on: bool = True) -> None:
    """Switch every later figure and live panel to large type and thick lines (or back)."""
    global _classroom
    _classroom = bool(on)
    use_style()


def is_classroom() -> bool:
    """True while classroom mode is on."""
    return _classroom
