"""A notebook's figures: the d2lmini style, and each figure kept as a small, sharp PNG.

A notebook stores every figure it shows as a PNG. The inline backend's "retina" PNG is full
colour, yet a plot has few colours besides the shades of its anti-aliased edges: here a figure
is stored with a palette of at most 256 colours (a third of the bytes), drawn at twice the
density it is shown at, so that it stays sharp on HiDPI screens and projectors.
`use_style()` and `classroom()` (d2lmini.use_style, d2lmini.classroom) set the style of
style.py and have the notebook show its figures this way.
"""

import base64
import io

import matplotlib
from matplotlib.figure import Figure
from PIL import Image

from .. import style
from .redraw import wrap, wrap_titles


def palette_png(fig: Figure) -> tuple[bytes, dict] | None:
    """The figure as a PNG of at most 256 colours at twice the density it is shown at, and the
    size to show it at in CSS pixels (as IPython's metadata); None for an empty figure. In
    classroom mode the figure is first fitted to its large type (fit_for_classroom)."""
    if not fig.axes and not fig.lines:  # as the inline backend: an empty figure shows nothing
        return None
    if style.is_classroom():
        fit_for_classroom(fig)
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=style.DENSITY * fig.dpi, bbox_inches="tight",
                facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor(),
                pil_kwargs={"compress_level": 0})  # read back at once: no time compressing
    image = Image.open(full)
    if image.getchannel("A").getextrema()[0] == 255:  # opaque: median cut keeps faint shades
        image = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    else:  # a transparent background: the one method that keeps it
        image = image.quantize(256, method=Image.Quantize.FASTOCTREE)
    width, height = image.size
    return _compact(image), {"width": width // style.DENSITY, "height": height // style.DENSITY}


CLASSROOM_GROWTH = 1.5  # a figure made for normal type, in classroom mode: this much larger


def fit_for_classroom(fig: Figure) -> None:
    """Lay a figure out for classroom type: larger (its type is twice as large; the notebook
    shows it at most as wide as the page), legends under their plot (not over its curves),
    titles and axis labels wrapped, crowded tick labels slanted (x) or thinned (y), then
    constrained layout (the PNG is cut to what it holds, so nothing is cut off). Once per
    figure."""
    if getattr(fig, "fitted_for_classroom", False):
        return
    fig.fitted_for_classroom = True
    width, height = fig.get_size_inches()
    fig.set_size_inches(width * CLASSROOM_GROWTH, height * CLASSROOM_GROWTH)
    renderer = fig.canvas.get_renderer()
    if fig.get_layout_engine() is None or not fig.get_layout_engine().adjust_compatible:
        fig.set_layout_engine("constrained")
    below = [ax for ax in fig.axes if ax.get_legend() is not None
             and ax.get_legend().get_bbox_to_anchor() is ax.bbox]  # legends inside a plot
    for _ in range(3):  # wrap, slant, move legends, lay out; again where the plots moved to
        wrap_titles(fig, renderer)
        for ax in fig.axes:
            _wrap_axis_labels(ax, renderer)
            _slant_if_crowded(ax, renderer)
            _thin_if_crowded(ax, renderer)
        for ax in below:
            _legend_below(ax, renderer)
        fig.get_layout_engine().execute(fig)
    for ax in below:  # under the axis labels where the last layout put them
        _legend_below(ax, renderer)
    fig.set_layout_engine("none")  # as laid out: saving must not move them again


def _legend_below(ax, renderer) -> None:
    """Put the plot's legend under its x axis label, centred."""
    legend = ax.get_legend()
    legend.set_visible(False)  # not part of the plot's extent measured here
    bottom = ax.get_tightbbox(renderer).y0
    legend.set_visible(True)
    y = ax.transAxes.inverted().transform((0, bottom))[1]
    legend.set_bbox_to_anchor((0.5, y), transform=ax.transAxes)
    legend._loc = 9  # upper center (Legend.set_loc: matplotlib >= 3.8 only)


def _wrap_axis_labels(ax, renderer) -> None:
    """Break an axis label that is longer than its axis into lines."""
    if ax.xaxis.label.get_text():
        wrap(ax.xaxis.label, ax.bbox.width, renderer)
    if ax.yaxis.label.get_text():
        wrap(ax.yaxis.label, ax.bbox.height, renderer, along="height")


def _thin_if_crowded(ax, renderer) -> None:
    """Show every other y tick label (every third, ...) while neighbours run into each other."""
    labels = _tick_labels(ax.yaxis)
    for step in (2, 3, 4):
        if not _run_together([label for label in labels if label.get_visible()], renderer):
            return
        for i, label in enumerate(labels):
            label.set_visible(i % step == 0)


def _slant_if_crowded(ax, renderer) -> None:
    """Slant the x tick labels (more, if need be) while neighbours run into each other."""
    labels = _tick_labels(ax.xaxis)
    for angle in (45, 90):
        if not _run_together(labels, renderer):
            return
        for label in labels:
            label.set(rotation=angle, horizontalalignment="right", rotation_mode="anchor")


def _tick_labels(axis) -> list:
    """The tick labels a draw shows on the axis, in order along it."""
    return [tick.label1 for tick in axis._update_ticks() if tick.label1.get_text()]


def _run_together(labels: list, renderer) -> bool:
    """True if two neighbouring labels overlap (by more than a pixel)."""
    boxes = [label.get_window_extent(renderer) for label in labels]
    return any(a.overlaps(b) and min(a.x1, b.x1) - max(a.x0, b.x0) > 1
               and min(a.y1, b.y1) - max(a.y0, b.y0) > 1 for a, b in zip(boxes, boxes[1:]))


def compact_png(png: bytes) -> bytes:
    """The same image in as few bytes as Pillow can write it: for a PNG the notebook keeps
    (a live panel's frames are compressed quickly instead, and are a third larger)."""
    return _compact(Image.open(io.BytesIO(png)))


def _compact(image: Image.Image) -> bytes:
    """The image as a PNG, compressed at zlib's strongest level."""
    png = io.BytesIO()
    image.save(png, format="png", optimize=True)
    return png.getvalue()


def _formatted(fig: Figure) -> tuple[str, dict] | None:
    """palette_png as IPython's image/png formatter returns it: base64 text and metadata."""
    result = palette_png(fig)
    if result is None:
        return None
    png, metadata = result
    return base64.b64encode(png).decode("ascii"), metadata


def show_figures_as_palette_png() -> None:
    """Have this notebook show (and store) each figure as palette_png's PNG, and only that."""
    try:
        from IPython import get_ipython
    except ImportError:  # no IPython: a script, nothing is shown inline
        return
    shell = get_ipython()
    if shell is None:
        return
    try:  # importing it sets the inline backend's own formats; ours must come after, to stay
        import matplotlib_inline.backend_inline  # noqa: F401
    except ImportError:
        pass
    for formatter in shell.display_formatter.formatters.values():
        formatter.pop(Figure, None)  # one image a figure: no retina PNG, SVG or PDF beside it
    shell.display_formatter.formatters["image/png"].for_type(Figure, _formatted)


def use_style() -> None:
    """Set the d2lmini plotting style for this notebook's figures, shown as sharp small PNGs."""
    matplotlib.rcParams.update(style.params())
    show_figures_as_palette_png()


def classroom(on: bool = True) -> None:
    """Switch every later figure and live panel to large type and thick lines (or back)."""
    style.set_classroom(on)
    show_figures_as_palette_png()
