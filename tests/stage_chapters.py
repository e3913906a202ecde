"""Every chapter, top to bottom, in a kernel of a platform's stage (.ci/stage.py), as a learner
runs it there: no error and nothing written to stderr, and the live panels in the platform's
mode (on Colab, main-thread; elsewhere, a thread of their own).

Not collected by the default run (its name has no test_ prefix): `.ci/stage.py colab|kaggle`
runs it in the stage's environment. `pytest tests/stage_chapters.py` runs it in the current one.
"""

import ast
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
# every English chapter, and one Chinese chapter: its checkers and panel speak Chinese (the
# main suite runs every Chinese chapter, whose code is the English one's)
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + [
    ROOT / "notebooks" / "zh" / "06_backpropagation.ipynb"]
KERNEL = os.environ.get("D2LMINI_STAGE_KERNEL", "python3")
IMPORTED = [m for m in os.environ.get("D2LMINI_STAGE_IMPORTED", "").split(",") if m]
MARK = "d2lmini-stage:"  # the line the last, added cell prints
REPORT = f"""\
import sys
stage_panels = sorted({{name: value.background for name, value in globals().items()
                        if type(value).__name__ == "LivePanel"}}.items())
language = sys.modules["d2lmini.language"].get_language()
print(f"{MARK} {{'google.colab' in sys.modules}} {{stage_panels}} {{language}}")  # one write
"""


def run_chapter(path: Path) -> tuple[list[str], str]:
    """Run a chapter in a fresh kernel of the stage; its problems (one line each, naming the
    cell by its number among the code cells, from 1) and what the added last cell printed."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = NotebookClient(notebook, kernel_name=KERNEL, timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    problems = []
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells, 1):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                problems.append(f"code cell {number}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                problems.append(f"code cell {number} wrote to stderr: {output.text[:500]}")
    # what the added cell printed, as one text (a kernel may send a line in several pieces)
    report = "".join(output.text for output in code_cells[-1].get("outputs", [])
                     if output.output_type == "stream" and output.name == "stdout")
    return problems, report


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: (
    "zh/" if path.parent.name == "zh" else "") + path.stem)
def test_chapter_runs_top_to_bottom_with_no_error_output(chapter):
    problems, report = run_chapter(chapter)
    assert not problems, f"{chapter.name}:\n" + "\n".join(problems)
    colab, panels, language = re.search(rf"{MARK} (True|False) (\[.*\]) (\w+)", report).groups()
    assert language == ("zh" if chapter.parent.name == "zh" else "en"), report
    assert colab == str("google.colab" in IMPORTED), report
    # on Colab every panel trains in the slider's handler; elsewhere in a thread of its own
    on_colab = colab == "True"
    assert all(background != on_colab for _, background in ast.literal_eval(panels)), report


def test_a_chapter_with_an_error_fails(tmp_path):
    """The stage fails on a chapter that breaks: a copy of chapter 1 with an error injected
    into one of its cells (a name that does not exist), and another cell that warns."""
    copy = tmp_path / CHAPTERS[0].name
    shutil.copy(CHAPTERS[0], copy)
    notebook = nbformat.read(copy, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    code_cells[4].source += "\nno_such_name"
    code_cells[6].source += "\nimport warnings; warnings.warn('injected')"
    nbformat.write(notebook, copy)
    problems, _ = run_chapter(copy)
    assert any(p.startswith("code cell 5: NameError") for p in problems), problems
    assert any(p.startswith("code cell 7 wrote to stderr") and "injected" in p
               for p in problems), problems
