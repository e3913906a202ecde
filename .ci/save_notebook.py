"""Run a chapter from a clean kernel and save it with its outputs, as the repository keeps them.

usage: python .ci/save_notebook.py notebooks/04_optimizers.ipynb [--to OUT.ipynb]
       python .ci/save_notebook.py --recompress notebooks/*.ipynb

Runs every cell in a fresh kernel, in the notebook's folder, with one torch thread (as CI) and
the full Fashion-MNIST set of ../shared when D2LMINI_DATA is not set (as .ci/test). Refuses to
save if any cell raises, or if a cell runs out of time. Saves no execution timestamps and no
widget state: a live panel's figure is kept once, as its cell's image/png output, which
JupyterLab (untrusted), nbviewer and GitHub show when no kernel runs the panel.

Each saved PNG is compressed again, losslessly, with oxipng's Zopfli deflate (pip install
pyoxipng; it is among the test tools): the same pixels in about 12% fewer bytes, which keeps
notebooks/ under its 3 MB (tests/test_notebook_size.py). It takes a minute or so a chapter.
--recompress does only that, to notebooks already saved, without running them.
"""

import argparse
import base64
import os
import sys
import time
from pathlib import Path

import nbclient
import nbformat

CELL_TIMEOUT_S = 900  # chapter 4's longest cell takes about a minute on 2 CPU cores


def run(notebook: nbformat.NotebookNode, folder: Path) -> None:
    """Execute every cell in a fresh kernel whose working folder is `folder`."""
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
        record_timing=False,  # no execution timestamps in the cells' metadata
        store_widget_state=False,  # the panels' figures are in their outputs already
        resources={"metadata": {"path": str(folder)}})
    client.execute()


def clean(notebook: nbformat.NotebookNode) -> None:
    """Drop what would only add noise to a save: timestamps of an older save, widget state, and
    where a cell's printing happened to be cut into several stream outputs (as shown, joined)."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        outputs = []
        for output in cell.get("outputs", []):
            last = outputs[-1] if outputs else None
            if (output.output_type == "stream" and last is not None
                    and last.output_type == "stream" and last.name == output.name):
                last.text += output.text
            else:
                outputs.append(output)
        if "outputs" in cell:
            cell.outputs = outputs


def recompress(notebook: nbformat.NotebookNode) -> tuple[int, int]:
    """Store every PNG output again in as few bytes as oxipng's Zopfli finds, the pixels kept
    (checked); returns the bytes of the PNGs before and after."""
    import io

    import numpy as np
    import oxipng
    from PIL import Image

    before = after = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get("image/png")
            if not payload:
                continue
            png = base64.b64decode(payload)
            smaller = oxipng.optimize_from_memory(png, level=4, grayscale_reduction=False,
                                                  deflate=oxipng.Deflaters.zopfli(15))
            pixels = [np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
                      for data in (png, smaller)]
            palette = smaller[25] == png[25] == 3  # a palette PNG stays one (colour type 3)
            if len(smaller) < len(png) and palette and np.array_equal(*pixels):
                output.data["image/png"] = base64.b64encode(smaller).decode()
                png = smaller
            before, after = before + len(base64.b64decode(payload)), after + len(png)
    return before, after


def problems(notebook: nbformat.NotebookNode) -> list[str]:
    """Why the run must not be saved: error outputs, execution counts other than 1..N."""
    found = []
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code, start=1):
        if any(output.output_type == "error" for output in cell.outputs):
            found.append(f"code cell {number} shows an error")
        if cell.execution_count != number:
            found.append(f"code cell {number} has execution count {cell.execution_count}")
    return found


def main() -> int:
    """Run the notebook named on the command line and save it (in place, or to --to)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path, nargs="+",
                        help="a chapter: notebooks/04_optimizers.ipynb (several with --recompress)")
    parser.add_argument("--to", type=Path, help="save here instead of over the notebook")
    parser.add_argument("--recompress", action="store_true",
                        help="only compress the saved PNGs again, without running the notebooks")
    args = parser.parse_args()
    if args.recompress:
        for path in args.notebook:
            notebook = nbformat.read(path, as_version=4)
            before, after = recompress(notebook)
            nbformat.write(notebook, path)
            print(f"{path}: PNGs {before / 1e3:.0f} kB -> {after / 1e3:.0f} kB")
        return 0
    if len(args.notebook) > 1:
        parser.error("name one notebook to run and save (several only with --recompress)")
    args.notebook = args.notebook[0]
    source = args.notebook.resolve()
    if not source.is_file():
        parser.error(f"notebook: there is no file {args.notebook}; name a chapter's .ipynb")
    os.environ["OMP_NUM_THREADS"] = "1"  # the saved numbers are CI's (CI runs torch on one thread)
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist"
    if "D2LMINI_DATA" not in os.environ and shared.is_dir():
        os.environ["D2LMINI_DATA"] = str(shared)

    notebook = nbformat.read(source, as_version=4)
    start = time.monotonic()
    try:
        run(notebook, source.parent)
    except nbclient.exceptions.CellExecutionError as error:
        print(f"{args.notebook}: a cell raised; not saved.\n{str(error)[-4000:]}", file=sys.stderr)
        return 1
    except (nbclient.exceptions.CellTimeoutError, nbclient.exceptions.DeadKernelError) as error:
        print(f"{args.notebook}: {error}; not saved.", file=sys.stderr)
        return 1
    clean(notebook)
    try:
        recompress(notebook)
    except ImportError:
        print("pyoxipng is not installed (pip install pyoxipng): the PNGs stay as Pillow wrote "
              "them, about 12% larger", file=sys.stderr)
    found = problems(notebook)
    if found:
        print(f"{args.notebook}: not saved: " + "; ".join(found), file=sys.stderr)
        return 1
    target = args.to or source
    nbformat.validate(notebook)
    nbformat.write(notebook, target)
    print(f"saved {target} ({target.stat().st_size / 1e6:.2f} MB) "
          f"in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
