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


def palette_png(fig: Figure) -> tuple[bytes, dict] | None:
    """The figure as a PNG of at most 256 colours at twice the density it is shown at, and the
    size to show it at in CSS pixels (as IPython's metadata); None for an empty figure."""
    if not fig.axes and not fig.lines:  # as the inline backend: an empty figure shows nothing
        return None
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
