"""One plotting style, set in one place, a classroom mode for projectors, and figures kept in
the notebook as small palette PNGs that stay sharp on HiDPI screens."""

import base64
import io
import struct

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.pylabtools import retina_figure
from PIL import Image

import d2lmini
from d2lmini import style
from d2lmini.machinery import figures


@pytest.fixture(autouse=True)
def restore():
    """Each test leaves rcParams, classroom mode and the shell's figure formats as it found them."""
    shell = InteractiveShell.instance()
    formatters = {mime: formatter.lookup_by_type(matplotlib.figure.Figure)
                  if matplotlib.figure.Figure in formatter else None
                  for mime, formatter in shell.display_formatter.formatters.items()}
    with matplotlib.rc_context():
        yield
    style.set_classroom(False)
    matplotlib.rcParams.update(matplotlib.rcParamsDefault)
    plt.close("all")
    for mime, formatter in shell.display_formatter.formatters.items():
        formatter.pop(matplotlib.figure.Figure, None)
        if formatters[mime] is not None:
            formatter.for_type(matplotlib.figure.Figure, formatters[mime])


def png_header(png: bytes) -> tuple[int, int, int]:
    """Width, height and colour type (3: palette, 6: RGBA) from a PNG's IHDR."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height, _, colour_type = struct.unpack(">IIBB", png[16:26])
    return width, height, colour_type


def line_plot() -> matplotlib.figure.Figure:
    """A figure like the chapters': anti-aliased curves, a legend, text, a grid."""
    fig, ax = plt.subplots(figsize=(4, 3))
    x = np.linspace(0, 6, 200)
    for k in range(5):
        ax.plot(x, np.sin(x + k) * np.exp(-x / (k + 2)), label=f"run {k}")
    ax.set(xlabel="epochs", ylabel="loss", title="five runs")
    ax.legend()
    return fig


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_use_style_sets_one_style_for_the_figures():
    matplotlib.rcParams["font.size"] = 7
    d2lmini.use_style()
    rc = matplotlib.rcParams
    assert rc["font.size"] == 11 and rc["xtick.labelsize"] == 10
    assert rc["figure.dpi"] == 100 and rc["savefig.dpi"] == 200  # saved at twice the density
    assert rc["axes.grid"] and not rc["axes.spines.top"]


def test_classroom_makes_type_and_lines_large_and_can_be_switched_off():
    d2lmini.classroom()
    rc = matplotlib.rcParams
    assert style.is_classroom()
    assert rc["xtick.labelsize"] >= 20 and rc["lines.linewidth"] >= 4
    assert style.params()["axes.labelsize"] >= 20
    d2lmini.classroom(False)
    assert rc["xtick.labelsize"] == 10 and rc["lines.linewidth"] == 2
    # everything classroom mode set is back, also what the normal style leaves at its default
    assert all(rc[name] == style.params()[name] for name in style.CLASSROOM)
    assert rc["axes.titlepad"] == matplotlib.rcParamsDefault["axes.titlepad"]
    assert style.params(classroom=True)["font.size"] == 20  # asked for, whatever the mode
    style.set_classroom()  # the mode alone, as the browser test's first cell sets it
    assert style.is_classroom() and rc["xtick.labelsize"] >= 20


def test_a_figure_is_kept_as_a_palette_png_as_sharp_as_retina():
    fig = line_plot()
    png, metadata = figures.palette_png(fig)
    retina, retina_metadata = retina_figure(fig)
    width, height, colour_type = png_header(png)
    assert colour_type == 3  # a palette of at most 256 colours, not full-colour RGBA (6)
    assert (width, height) == png_header(retina)[:2]  # as many pixels as the retina PNG
    assert abs(width - 800) < 60 and abs(height - 600) < 60  # 4 x 3 inches at 200 px per
    # inch, cropped to what is drawn, and shown at half that: 100 px per inch
    assert metadata == retina_metadata == {"width": width // 2, "height": height // 2}
    assert len(png) < 0.6 * len(retina)
    error = np.abs(pixels(png) - pixels(retina)).max(axis=2)
    assert error.mean() < 0.5 and np.percentile(error, 99) < 16  # the same picture
    assert (error[pixels(retina).min(axis=2) == 255] == 0).all()  # white stays white


def test_a_greyscale_image_keeps_every_shade():
    fig, ax = plt.subplots(figsize=(3, 3))  # like a Fashion-MNIST image: 256 shades of grey
    ax.imshow(np.arange(256).reshape(16, 16), cmap="gray", interpolation="nearest")
    ax.set_title("pullover")
    png, _ = figures.palette_png(fig)
    retina, _ = retina_figure(fig)
    assert (pixels(png) == pixels(retina)).all()


def test_a_transparent_figure_stays_transparent_and_an_empty_one_shows_nothing():
    fig = line_plot()
    fig.patch.set_alpha(0)
    fig.axes[0].patch.set_alpha(0)
    png, _ = figures.palette_png(fig)
    image = Image.open(io.BytesIO(png))
    assert png_header(png)[2] == 3 and "transparency" in image.info
    assert image.convert("RGBA").getpixel((0, 0))[3] == 0
    assert figures.palette_png(plt.figure()) is None


def test_use_style_has_the_notebook_show_each_figure_once_as_a_palette_png():
    shell = InteractiveShell.instance()
    shell.display_formatter.formatters["image/svg+xml"].for_type(
        matplotlib.figure.Figure, lambda fig: "<svg/>")  # as if SVG had been asked for too
    d2lmini.use_style()
    data, metadata = shell.display_formatter.format(line_plot())
    assert set(data) == {"text/plain", "image/png"}  # one image, not a PNG and an SVG
    png = base64.b64decode(data["image/png"])
    width, height, colour_type = png_header(png)
    assert colour_type == 3
    assert metadata["image/png"] == {"width": width // 2, "height": height // 2}


def test_compact_png_keeps_the_image_in_fewer_bytes():
    fig = line_plot()
    quick = io.BytesIO()  # a PNG compressed quickly, as a live panel's frames are
    Image.open(io.BytesIO(figures.palette_png(fig)[0])).save(quick, "png", compress_level=1)
    small = figures.compact_png(quick.getvalue())
    assert len(small) < len(quick.getvalue())
    assert (pixels(small) == pixels(quick.getvalue())).all()


def test_in_classroom_mode_a_figure_is_fitted_before_it_is_shown():
    from panel_support import layout_problems

    def crowded():
        with matplotlib.rc_context(style.params(classroom=True)):
            fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
            for ax in (left, right):
                ax.plot(range(10), range(10), label="a curve with a long name")
                ax.plot(range(10), [9 - v for v in range(10)], label="another curve")
                ax.legend()
                ax.set_title("a title far longer than this plot is wide")
            right.set_xticks(range(10), [f"class {i}" for i in range(10)])
        return fig

    def readable(problems):  # the PNG is cut to what the figure holds: nothing is cut off
        return [p for p in problems if "cut off" not in p]

    before = readable(layout_problems(crowded(), style.params(classroom=True)))
    assert any("legend covers" in p for p in before) and any("overlaps" in p for p in before)
    fig = crowded()
    with matplotlib.rc_context(style.params(classroom=True)):
        figures.fit_for_classroom(fig)
    assert readable(layout_problems(fig, style.params(classroom=True))) == []
    plt.close("all")
