"""Run a chapter's notebook up to its live panel, outside Jupyter (for tests and benchmarks)."""

import html
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell
from nbformat import read


def run_until_panel(notebook: Path, name: str = "panel"):
    """Run the notebook's code cells in an IPython shell until the panel called `name` exists.

    Returns the panel and the notebook's namespace. Cells run in the notebook's folder, as in
    Jupyter, since they may look for files beside the notebook.
    """
    shell = InteractiveShell.instance()
    shell.reset()
    cwd = Path.cwd()
    os.chdir(notebook.parent)
    try:
        for cell in read(notebook, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            shell.run_cell(cell.source, silent=True).raise_error()
            if name in shell.user_ns:
                return shell.user_ns[name], shell.user_ns
    finally:
        os.chdir(cwd)
    raise AssertionError(f"{notebook.name} makes no `{name}`")


def key_labels(panel) -> list[str]:
    """The labels of the runs in the panel's key, as the browser shows them (this run first)."""
    return [html.unescape(label) for label in re.findall(r"></span> (.*?)</span>",
                                                        panel.key.value)]


def wait_until(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll check() until it is true; fail, saying what did not happen, after timeout s."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.002)
