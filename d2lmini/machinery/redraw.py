"""A live panel's figure, redrawn fast: its axes are reused, and so are the pixels of what
looks the same as in the last redraw.

A redraw has two layers:
- the background: each axes' frame, ticks, tick labels, axis labels, grid and titles, contour
  lines (ax.contour's, and plot.plot_contour's line collection), and legends at a fixed place
  (drawn under the curves);
- the foreground: everything else (curves, texts, legends placed "best").
Most of the time of a redraw goes into the background (text above all), and from one run to
the next it rarely changes. So when the background would look as it did last time (same size,
limits, scales, ticks, labels and titles, contour lines and fixed legends), its pixels are
pasted back and only the foreground is drawn on them. This is the "blitting" of matplotlib's
animations.
"""

import struct
import textwrap
import zlib

import numpy as np
from matplotlib import rc_context, rcParams
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.legend import Legend
from matplotlib.text import Text
from PIL import Image

from .. import style

try:  # ISA-L's deflate: zlib's format, 5 times as fast (zlib took a fifth of a redraw)
    from isal.isal_zlib import compress
except ImportError:  # a platform isal has no build for: the standard library's zlib
    from zlib import compress


class ReusedFigure(Figure):
    """A Figure whose subplots() hands back its earlier axes, emptied, for the same grid,
    and whose png() draws again only what changed.

    Building axes (ticks, tick labels, fonts) is about half the cost of a redraw, so the panel
    reuses them. A draw function sets its limits, scales and titles again on every call anyway.
    What png() compares is listed in _look; anything else about an axes' frame (a spine's
    colour, the grid on or off) is taken to stay as it was: a draw function that changes it
    from one run to the next calls fig.clear() first, and gets new axes.

    With fit = True (a panel in classroom mode), titles are wrapped to their plot's width, and
    whenever the background changes, matplotlib's constrained layout places the axes so that
    no text is cut off or runs into another plot (it costs a few ms, only then).
    """

    fit = False

    def subplots(self, *args, **kwargs):
        """Like Figure.subplots, but the same grid gives the same (emptied) axes."""
        grid = repr((args, sorted(kwargs.items())))
        if grid != self._grid:
            self.clear()
            # titles at a fixed height: placing them around the axes' decorations costs ~5 ms
            with rc_context({"axes.titley": 1.0}):
                axes = super().subplots(*args, **kwargs)
            # kept as (nested) lists, not as the array: the garbage collector cannot see into a
            # numpy array, so an array of the axes kept here would keep the figure forever
            self._grid, self._grid_axes = grid, axes.tolist() if isinstance(axes, np.ndarray) \
                else axes
            return axes
        for ax in self.axes:
            _empty(ax)
        return np.array(self._grid_axes, dtype=object) if isinstance(self._grid_axes, list) \
            else self._grid_axes

    def start(self) -> None:
        """Get ready for a draw: drop the axes that subplots() did not make."""
        if self._grid is None:
            self.clear()
            return
        kept = list(np.array(self._grid_axes, dtype=object).flat)
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
        self._grid, self._look, self._base = None, None, None

    def png(self) -> bytes:
        """The figure as PNG bytes, at its own dpi; the background is drawn only if it changed."""
        canvas = self.canvas if isinstance(self.canvas, FigureCanvasAgg) \
            else FigureCanvasAgg(self)
        if self.fit:
            wrap_titles(self, canvas.get_renderer())
        look = (canvas.get_width_height(), *map(_look, self.axes))
        for _ in range(2 if self.fit and look != self._look else 0):  # the axes move: again
            ConstrainedLayoutEngine(h_pad=0.06, w_pad=0.06).execute(self)
            wrap_titles(self, canvas.get_renderer())
            look = (canvas.get_width_height(), *map(_look, self.axes))
        front = _foreground(self)
        if look != self._look:
            shown = [artist for artist in front if artist.get_visible()]
            for artist in shown:
                artist.set_visible(False)
            try:
                canvas.draw()
            finally:
                for artist in shown:
                    artist.set_visible(True)
            self._look, self._base = look, _Base(canvas)
        else:
            self._base.restore(canvas)
        renderer = canvas.get_renderer()
        for artist in front:
            artist.draw(renderer)
        return self._base.png(canvas)


class _Base:
    """The background's pixels, and the same as indices into a palette of its colours.

    A PNG with a palette of 256 colours is a third of the bytes of a full-colour one, but
    choosing the palette for a whole 2000x720 image takes longer than drawing the foreground.
    So the background gets its palette once, and each redraw's PNG is its indices with only
    the pixels that the foreground changed (a few percent) given colours of their own. The PNG
    is written here (_png), not by Pillow, whose encoder always uses the slower zlib.
    """

    COLORS = 160  # the background's share of the palette; the foreground's: the other 96

    def __init__(self, canvas: FigureCanvasAgg):
        rgba = np.asarray(canvas.buffer_rgba())
        self.pixels = rgba.view(np.uint32).ravel().copy()  # a pixel's RGBA as one number
        image = Image.frombuffer("RGBA", canvas.get_width_height(), rgba, "raw", "RGBA", 0, 1)
        image = image.quantize(self.COLORS, method=Image.Quantize.FASTOCTREE)
        height, width = rgba.shape[:2]
        # the rows of a PNG: each is a filter byte (0: none) and the row's palette indices
        self.rows = np.zeros((height, width + 1), dtype=np.uint8)
        self.rows[:, 1:] = np.asarray(image)
        palette = image.getpalette("RGB") or []
        self.palette = palette + [0] * (3 * self.COLORS - len(palette))

    def restore(self, canvas: FigureCanvasAgg) -> None:
        """Put the background's pixels back on the canvas."""
        np.asarray(canvas.buffer_rgba()).view(np.uint32).ravel()[:] = self.pixels

    def png(self, canvas: FigureCanvasAgg) -> bytes:
        """What the canvas shows now, as PNG bytes."""
        pixels = np.asarray(canvas.buffer_rgba()).view(np.uint32).ravel()
        changed = np.flatnonzero(pixels != self.pixels)
        rows, palette = self.rows.copy(), self.palette
        if len(changed):
            front = Image.frombuffer("RGBA", (len(changed), 1), pixels[changed], "raw", "RGBA",
                                     0, 1)
            front = front.quantize(256 - self.COLORS, method=Image.Quantize.FASTOCTREE)
            width = rows.shape[1] - 1  # pixel i sits after its row's filter byte and those before
            rows.ravel()[changed + changed // width + 1] = self.COLORS + np.asarray(front)[0]
            palette = palette + front.getpalette("RGB")
        return _png(rows, bytes(palette))


def _png(rows: np.ndarray, palette: bytes) -> bytes:
    """A PNG file of 8-bit palette indices, given as rows that each start with a filter byte."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    height, width = rows.shape[0], rows.shape[1] - 1
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8 bits, palette, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"PLTE", palette)
            + chunk(b"IDAT", compress(rows, 1)) + chunk(b"IEND", b""))


def _foreground(fig: Figure) -> list:
    """The artists drawn over the background, in the order a full draw would draw them."""
    front = []
    for ax in fig.axes:
        background = {ax.patch, ax.xaxis, ax.yaxis, *ax.spines.values(), *_titles(ax)}
        children = [artist for artist in ax.get_children() if artist not in background
                    and _background_look(artist) is None]
        front += sorted(children, key=lambda artist: artist.get_zorder())
    return front + sorted((artist for artist in fig.get_children()
                           if artist is not fig.patch and not isinstance(artist, Axes)),
                          key=lambda artist: artist.get_zorder())


def _look(ax: Axes) -> tuple:
    """What ax's background looks like: where this is equal, so are its pixels."""
    parts = [id(ax), ax.get_position().bounds, ax.get_xlim(), ax.get_ylim(), ax.get_xscale(),
             ax.get_yscale(), ax.axison, ax.get_facecolor(),
             tuple(spine.get_visible() for spine in ax.spines.values()),
             tuple((title.get_text(), title.get_position()) for title in _titles(ax)),
             tuple(filter(None, map(_background_look, ax.get_children())))]
    for axis in (ax.xaxis, ax.yaxis):
        tick_params = getattr(axis, "get_tick_params", dict)()  # matplotlib >= 3.7
        parts += [axis.get_visible(), axis.get_label_text(), repr(tick_params)]
        for ticks in (axis.major, axis.minor):
            locations = list(ticks.locator())
            parts += [tuple(locations), tuple(ticks.formatter.format_ticks(locations))]
    return tuple(parts)


def _background_look(artist) -> tuple | None:
    """What contour lines (a contour set, or a collection of lines) or a fixed-place legend look
    like (they are drawn with the background); None for any other artist."""
    if isinstance(artist, ContourSet | LineCollection):
        paths = [path.vertices for path in artist.get_paths()]
        points = np.concatenate(paths) if paths else np.zeros((0, 2))
        return ("lines", tuple(getattr(artist, "levels", ())), hash(points.round(9).tobytes()),
                artist.get_linewidth().tobytes(), artist.get_edgecolor().tobytes(),
                artist.get_alpha())
    if isinstance(artist, Legend) and getattr(artist, "_loc", 0) != 0:  # 0: "best", data-dependent
        handles = getattr(artist, "legend_handles", None) or artist.legendHandles  # mpl < 3.7
        return ("legend", artist._loc, tuple(text.get_text() for text in artist.get_texts()),
                tuple(repr(getattr(handle, f"get_{name}", lambda: None)()) for handle in handles
                      for name in ("color", "facecolor", "edgecolor", "linestyle", "alpha")))
    return None


def wrap_titles(fig: Figure, renderer) -> None:
    """Break each title into lines where it is wider than the room it is centred in: its plot's
    column of the figure, and no further than the figure's edge."""
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        columns = spec.get_gridspec().ncols if spec is not None else 1
        column = fig.bbox.width / columns
        centre = (ax.bbox.x0 + ax.bbox.x1) / 2 - fig.bbox.x0
        left = column * min(int(centre // column), columns - 1)
        room = 0.96 * 2 * min(centre - left, left + column - centre)
        for title in _titles(ax):
            if title.get_text() and title.get_window_extent(renderer).width > room:
                wrap(title, room, renderer)


def wrap(text: Text, room: float, renderer, along: str = "width") -> None:
    """Break a text into lines where it is longer than room (pixels, its width or height),
    never inside a $formula$; a text wrapped before is joined up first."""
    words = " ".join(text.get_text().split())
    text.set_text(words)
    length = getattr(text.get_window_extent(renderer), along)
    lines = textwrap.fill(words, max(8, int(len(words) * room / length))) if length else words
    if length > room and not any(line.count("$") % 2 for line in lines.split("\n")):
        text.set_text(lines)


def _titles(ax: Axes) -> tuple:
    """The axes' three titles (left, centre, right)."""
    return ax._left_title, ax.title, ax._right_title


def _empty(ax: Axes) -> None:
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
    """A Figure with fixed margins, sized for the current style's type: room for tick labels,
    axis labels and titles (fixed, because an automatic layout doubles the time to draw)."""
    def points(name: str) -> float:
        return FontProperties(size=rcParams[name]).get_size_in_points()

    tick, label, title = points("ytick.labelsize"), points("axes.labelsize"), points(
        "axes.titlesize")
    left = (3.6 * tick + 1.4 * label + 10) / 72  # inches: "0.0001", the axis label, padding
    bottom = (1.5 * tick + 1.4 * label + 8) / 72
    top = (1.6 * title + 4) / 72
    right = 0.25
    gap = left + 0.1  # between two axes side by side: the right one's tick labels and label
    axes_width = (width - left - right - gap) / 2
    fig = figure_class(figsize=(width, height), layout="none",
                       dpi=style.DENSITY * style.DISPLAY_DPI)  # drawn as it will be saved
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=gap / axes_width)
    return fig
