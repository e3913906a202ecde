"""Run a chapter from a clean kernel and save it with its outputs, as the repository keeps them.

usage: python .ci/save_notebook.py notebooks/04_optimizers.ipynb [--to OUT.ipynb]

Runs every cell in a fresh kernel, in the notebook's folder, with one torch thread (as CI) and
the full Fashion-MNIST set of ../shared when D2LMINI_DATA is not set (as .ci/test). Refuses to
save if any cell raises, or if a cell runs out of time. Saves no execution timestamps and no
widget state: a live panel's figure is kept once, as its cell's image/png output, which
JupyterLab (untrusted), nbviewer and GitHub show when no kernel runs the panel.
"""

import argparse
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
    parser.add_argument("notebook", type=Path, help="a chapter: notebooks/04_optimizers.ipynb")
    parser.add_argument("--to", type=Path, help="save here instead of over the notebook")
    args = parser.parse_args()
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
