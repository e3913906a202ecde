"""Keep the Chinese chapters (notebooks/zh/) in step with the English ones (notebooks/).

usage: python .ci/sync_zh.py [notebooks/0N_*.ipynb ...]               (default: every chapter)
       python .ci/sync_zh.py --translated notebooks/0N_*.ipynb [...]

After an English chapter changes, the first form makes its Chinese chapter's cells those of the
English one, matched by cell id: every code cell copied (the setup cell with LANGUAGE = "zh"), a
new markdown cell put in with its English text, a removed one removed. It lists the markdown
cells to translate: those whose English changed since they were translated (each Chinese markdown
cell keeps a hash of the English it was translated from, in its metadata), and the new ones.
Translate them, run the second form to record that they are translated, then save the chapter
with its outputs: python .ci/save_notebook.py notebooks/zh/0N_*.ipynb.
tests/test_zh.py fails while a code cell differs or a markdown cell is still English.
"""

import argparse
import copy
import hashlib
import sys
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ZH = NOTEBOOKS / "zh"
KEY = "translated_from"  # a Chinese markdown cell's metadata: the hash of its English
ENGLISH_LINE = 'LANGUAGE = "en"'
CHINESE_LINE = 'LANGUAGE = "zh"'


def english_hash(source: str) -> str:
    """A short hash of an English markdown cell's text."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def as_chinese_code(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """An English code cell as the Chinese chapter has it: the same, but the setup cell's
    LANGUAGE line, and no outputs (the chapter is saved again with its own)."""
    cell = copy.deepcopy(cell)
    if "setup" in cell.metadata.get("tags", []):
        assert cell.source.count(ENGLISH_LINE) == 1, "the setup cell sets LANGUAGE once"
        cell.source = cell.source.replace(ENGLISH_LINE, CHINESE_LINE)
    cell.outputs, cell.execution_count = [], None
    return cell


def sync(english: nbformat.NotebookNode, chinese: nbformat.NotebookNode | None
         ) -> tuple[nbformat.NotebookNode, list[str], list[str]]:
    """The Chinese chapter made to match the English, the markdown cells to translate (as
    'cell N: why'), and the code cells that changed."""
    old = {cell.id: cell for cell in chinese.cells} if chinese is not None else {}
    cells, todo, changed = [], [], []
    for number, cell in enumerate(english.cells, start=1):
        mine = old.get(cell.id)
        if cell.cell_type == "code":
            new = as_chinese_code(cell)
            if mine is not None and mine.cell_type == "code" and mine.source == new.source:
                new = mine  # unchanged: its outputs stay
            else:
                changed.append(f"cell {number}")
        elif mine is None or mine.cell_type != "markdown":
            new = copy.deepcopy(cell)  # English for now: translate it
            todo.append(f"cell {number}: new")
        else:
            new = mine
            if mine.metadata.get(KEY) != english_hash(cell.source):
                todo.append(f"cell {number}: its English changed")
        cells.append(new)
    result = copy.deepcopy(chinese if chinese is not None else english)
    result.cells = cells
    return result, todo, changed


def mark_translated(english: nbformat.NotebookNode, chinese: nbformat.NotebookNode) -> None:
    """Record that each Chinese markdown cell is the translation of its English cell now."""
    by_id = {cell.id: cell for cell in english.cells}
    for cell in chinese.cells:
        if cell.cell_type == "markdown":
            cell.metadata[KEY] = english_hash(by_id[cell.id].source)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path)
    parser.add_argument("--translated", action="store_true",
                        help="record that the listed cells are translated")
    args = parser.parse_args()
    chapters = args.chapters or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for path in chapters:
        english = nbformat.read(path, as_version=4)
        target = ZH / path.name
        chinese = nbformat.read(target, as_version=4) if target.exists() else None
        if args.translated:
            if chinese is None:
                sys.exit(f"{target} does not exist yet: run without --translated first")
            mark_translated(english, chinese)
            nbformat.write(chinese, target)
            print(f"{target.name}: every markdown cell recorded as translated")
            continue
        chinese, todo, changed = sync(english, chinese)
        target.parent.mkdir(exist_ok=True)
        nbformat.write(chinese, target)
        print(f"{target.name}: {len(todo)} markdown cells to translate, "
              f"{len(changed)} code cells copied")
        for line in todo:
            print("  translate", line)
        if changed:
            print(f"  then save it: python .ci/save_notebook.py notebooks/zh/{path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
