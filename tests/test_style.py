"""One plotting style, set in one place, and a classroom mode for projectors."""

import base64
import struct

import matplotlib
import pytest
from IPython.core.interactiveshell import InteractiveShell

from d2lmini import style


@pytest.fixture(autouse=True)
def restore():
    """Each test leaves rcParams and classroom mode as it found them."""
    with matplotlib.rc_context():
        yield
    style.classroom(False)
    matplotlib.rcParams.update(matplotlib.rcParamsDefault)


def test_use_style_sets_one_style_for_the_figures():
    matplotlib.rcParams["font.size"] = 7
    style.use_style()
    rc = matplotlib.rcParams
    assert rc["font.size"] == 11 and rc["xtick.labelsize"] == 10
    assert rc["figure.dpi"] == 100 and rc["savefig.dpi"] == 200  # saved at twice the density
    assert rc["axes.grid"] and not rc["axes.spines.top"]


def test_classroom_makes_type_and_lines_large_and_can_be_switched_off():
    style.classroom()
    rc = matplotlib.rcParams
    assert style.is_classroom()
    assert rc["xtick.labelsize"] >= 20 and rc["lines.linewidth"] >= 4
    assert style.params()["axes.labelsize"] >= 20
    style.classroom(False)
    assert rc["xtick.labelsize"] == 10 and rc["lines.linewidth"] == 2
    assert style.params(classroom=True)["font.size"] == 20  # asked for, whatever the mode


def test_inline_figures_are_drawn_at_twice_the_density_they_are_shown_at():
    import matplotlib.pyplot as plt

    shell = InteractiveShell.instance()
    style.use_style()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2])
    data, metadata = shell.display_formatter.format(fig)
    plt.close(fig)
    png = base64.b64decode(data["image/png"]) if isinstance(data["image/png"], str) \
        else data["image/png"]
    width, height = struct.unpack(">II", png[16:24])
    assert 700 < width <= 800 and 500 < height <= 600  # 4 x 3 inches at 200 px per inch,
    # cropped to what is drawn, and shown at half that: 100 px per inch
    assert metadata["image/png"]["width"] == pytest.approx(width / 2, abs=1)
