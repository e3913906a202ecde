"""The notebooks stay small: figures as palette PNGs, each image once, no widget state.

Every learner clones them and every re-save is a diff, so the saved notebooks hold what a
reader without a kernel needs to see and no more. Each edition (English in notebooks/, Chinese
in notebooks/zh/) has 3 MB: a learner reads one, and a clone holds both. Save a chapter with
`python .ci/save_notebook.py notebooks/0N_*.ipynb`, which keeps them so.
"""

import base64
import json
import struct
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(path for path in NOTEBOOKS.rglob("*.ipynb")
               if ".ipynb_checkpoints" not in path.parts)  # JupyterLab's autosaves: not ours
BUDGET = 3_000_000  # bytes, for each edition: notebooks/*.ipynb, notebooks/zh/*.ipynb
# Chapters 1-5 take 2.51 MB of it (chapter 4, the longest, 0.74 MB). A chapter written later
# gets its share: a sixth of the budget, what an average chapter of six may take.
CHAPTERS_PLANNED = 6
SHARE = BUDGET // CHAPTERS_PLANNED
WRITTEN = 5  # chapters 1-5 are held by the folder's budget; chapters 6 on each by SHARE
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
SAVE = "save it with .ci/save_notebook.py"


def images(notebook: dict) -> list[tuple[str, str]]:
    """(where, base64 payload) of every image the notebook stores: in cell outputs, and in
    the saved state of its widgets (an ipywidgets Image's value is a binary buffer there)."""
    found = []
    for number, cell in enumerate(notebook["cells"], start=1):
        for output in cell.get("outputs", []):
            for mime, value in output.get("data", {}).items():
                if mime.startswith("image/") and mime != "image/svg+xml":
                    found.append((f"cell {number} {mime}", "".join(value).replace("\n", "")))
    state = notebook["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model_id, model in state.items():
        for buffer in model.get("buffers", []):
            found.append((f"widget {model_id} {buffer['path']}", buffer["data"]))
        value = model.get("state", {}).get("value")
        if model.get("model_name") == "ImageModel" and isinstance(value, str) and value:
            found.append((f"widget {model_id} value", value))
    return found


def png_colour_type(payload: str) -> int:
    """The colour type in a base64 PNG's IHDR: 3 is a palette, 2 RGB, 6 RGBA."""
    png = base64.b64decode(payload)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR", "not a PNG"
    return png[25]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def edition(path: Path) -> str:
    """The edition a chapter belongs to: its folder under notebooks/ ("" English, "zh")."""
    return path.parent.relative_to(NOTEBOOKS).as_posix().replace(".", "")


EDITIONS = sorted({edition(path) for path in PATHS})


def test_editions_are_told_apart():
    assert [edition(NOTEBOOKS / name) for name in ("01_a.ipynb", "zh/01_a.ipynb")] == ["", "zh"]
    assert EDITIONS == ["", "zh"], "the English chapters and the Chinese ones in notebooks/zh/"


@pytest.mark.parametrize("folder", EDITIONS, ids=lambda folder: folder or "en")
def test_each_editions_notebooks_are_under_3_mb(folder):
    """A learner opens one edition: each has the budget (the Chinese chapters hold the same
    figures as the English ones, since their code is the same, and need them as much)."""
    paths = [path for path in PATHS if edition(path) == folder]
    assert paths, f"no notebooks found in {NOTEBOOKS / folder}"
    total = sum(path.stat().st_size for path in paths)
    sizes = ", ".join(f"{path.name} {path.stat().st_size / 1e6:.2f} MB" for path in paths)
    assert total < BUDGET, f"notebooks/{folder} holds {total / 1e6:.2f} MB: {sizes}"


def later(path: Path) -> bool:
    """A chapter written after chapters 1-5 (06_..., or any edition of it)."""
    return path.name[:2].isdigit() and int(path.name[:2]) > WRITTEN


def test_later_chapters_are_told_apart():
    assert [later(Path(name)) for name in ("05_regularization.ipynb", "06_backpropagation.ipynb",
                                           "zh/06_backpropagation.ipynb")] == [False, True, True]


@pytest.mark.parametrize("path", [path for path in PATHS if later(path)] or
                         [pytest.param(None, marks=pytest.mark.skip("no chapter after 5 yet"))],
                         ids=lambda path: getattr(path, "name", "none"))
def test_each_later_chapter_is_within_its_share(path):
    size = path.stat().st_size
    assert size <= SHARE, (f"{path.name} is {size / 1e6:.2f} MB, over a chapter's share of "
                           f"{SHARE / 1e6:.2f} MB ({BUDGET / 1e6:.0f} MB for "
                           f"{CHAPTERS_PLANNED} chapters)")


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.name)
def test_no_widget_state_is_saved(path):
    """A panel's figure is in its cell's image/png output: that is what JupyterLab (untrusted),
    nbviewer and GitHub show without a kernel. Saved widget state would hold the image again,
    and where it is present nbconvert (nbviewer, GitHub) shows the widgets instead of it."""
    assert "widgets" not in load(path)["metadata"], f"{path.name} has widget state: {SAVE}"


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.name)
def test_each_image_is_stored_once(path):
    seen: dict[str, str] = {}
    twice = []
    for where, payload in images(load(path)):
        if payload in seen:
            twice.append(f"{where} repeats {seen[payload]}")
        seen.setdefault(payload, where)
    assert not twice, f"{path.name} stores an image twice: {twice}"


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.name)
def test_every_png_is_a_palette_png(path):
    """A full-colour PNG of a figure is about three times the bytes of a palette one."""
    full_colour = [where for where, payload in images(load(path))
                   if "image/png" in where and png_colour_type(payload) != 3]
    assert not full_colour, (f"{path.name} stores full-colour PNGs (run d2lmini.use_style() "
                             f"in its imports cell, then {SAVE}): {full_colour}")


def test_the_checks_above_find_a_twice_stored_full_colour_image():
    rgba = base64.b64encode(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
                            + struct.pack(">IIBBBBB", 4, 4, 8, 6, 0, 0, 0)).decode()
    notebook = {"cells": [{"outputs": [{"data": {"image/png": rgba}}]}],
                "metadata": {"widgets": {WIDGET_STATE: {"state": {"m1": {
                    "model_name": "ImageModel", "buffers": [{"path": ["value"], "data": rgba}],
                    "state": {}}}}}}}
    assert [where for where, _ in images(notebook)] == ["cell 1 image/png", "widget m1 ['value']"]
    assert png_colour_type(rgba) == 6


def test_saving_compresses_the_pngs_again_with_the_same_pixels():
    """.ci/save_notebook.py's recompress(): fewer bytes, the same image (tested on a figure)."""
    import importlib.util
    import io

    import matplotlib
    import nbformat
    import numpy as np
    from PIL import Image

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from d2lmini.machinery.figures import compact_png, palette_png

    spec = importlib.util.spec_from_file_location(
        "save_notebook", Path(__file__).resolve().parents[1] / ".ci" / "save_notebook.py")
    save_notebook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(save_notebook)
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.plot(np.sin(np.linspace(0, 9, 200)), label="a curve")
    ax.legend()
    png = compact_png(palette_png(fig)[0])
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "plot()", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": base64.b64encode(png).decode()})])])
    before, after = save_notebook.recompress(notebook)
    stored = base64.b64decode(notebook.cells[0].outputs[0].data["image/png"])
    assert before == len(png) and after == len(stored) < len(png)
    pixels = [np.asarray(Image.open(io.BytesIO(data)).convert("RGBA")) for data in (png, stored)]
    assert np.array_equal(*pixels)
    assert png_colour_type(base64.b64encode(stored).decode()) == 3  # still a palette PNG
