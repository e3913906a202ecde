"""The Chinese edition (notebooks/zh/): every chapter, with the English chapter's code cell for
cell, its prose in Chinese with the terms of ../shared/GLOSSARY-zh.md, and every cell runnable
again after Run All. .ci/sync_zh.py keeps a Chinese chapter in step with its English one.

.ci/test runs this file and the Chinese chapters' nbval beside the browser tests."""

import hashlib
import importlib.util
import re
from itertools import zip_longest
from pathlib import Path

import nbformat
import pytest
from test_notebooks import cells_failing_a_second_run

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHINESE = sorted((ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb"))
GLOSSARY = ROOT.parent / "shared" / "GLOSSARY-zh.md"
CJK = re.compile(r"[\u3400-\u9fff]")
SYNC = "run python .ci/sync_zh.py, translate what it lists, then save the chapter"

spec = importlib.util.spec_from_file_location("sync_zh", ROOT / ".ci" / "sync_zh.py")
sync_zh = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sync_zh)


def load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def pair(path: Path) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """An English chapter and its Chinese one."""
    return load(path), load(ROOT / "notebooks" / "zh" / path.name)


# --- the same chapters, the same code ------------------------------------------------------------

def test_every_english_chapter_has_a_chinese_one():
    assert [p.name for p in CHINESE] == [p.name for p in ENGLISH]


def differences(english: nbformat.NotebookNode, chinese: nbformat.NotebookNode) -> list[str]:
    """Where the Chinese chapter's cells are not the English ones': 'cell N: ...'."""
    found = []
    if len(english.cells) != len(chinese.cells):
        found.append(f"{len(english.cells)} cells in English, {len(chinese.cells)} in Chinese")
    for number, (en, zh) in enumerate(zip(english.cells, chinese.cells), start=1):
        where = f"cell {number}"
        if en.cell_type != zh.cell_type:
            found.append(f"{where}: {en.cell_type} in English, {zh.cell_type} in Chinese")
            continue
        if en.get("id") != zh.get("id"):
            found.append(f"{where}: id {en.get('id')} in English, {zh.get('id')} in Chinese")
        if en.metadata.get("tags", []) != zh.metadata.get("tags", []):
            found.append(f"{where}: tags {en.metadata.get('tags', [])} in English, "
                         f"{zh.metadata.get('tags', [])} in Chinese")
        expected = sync_zh.as_chinese_code(en).source if en.cell_type == "code" else None
        if expected is not None and expected != zh.source:
            lines = list(zip_longest(expected.splitlines(), zh.source.splitlines()))
            line, (want, got) = next((i, ab) for i, ab in enumerate(lines, 1) if ab[0] != ab[1])
            found.append(f"{where}: its code differs from the English at line {line}: "
                         f"{want!r} in English, {got!r} in Chinese")
    return found


@pytest.mark.parametrize("path", ENGLISH, ids=lambda p: p.stem)
def test_a_chinese_chapter_has_the_english_cells_and_code(path):
    found = differences(*pair(path))
    assert not found, f"zh/{path.name}: " + "; ".join(found) + f" ({SYNC})"


def test_differences_names_the_cell_that_differs():
    english = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# One"),
        nbformat.v4.new_code_cell(f'{sync_zh.ENGLISH_LINE}\nx = 1', metadata={"tags": ["setup"]}),
        nbformat.v4.new_code_cell("y = 2\nprint(y)")])
    chinese, _, _ = sync_zh.sync(english, None)
    assert differences(english, chinese) == []
    assert 'LANGUAGE = "zh"' in chinese.cells[1].source
    chinese.cells[2].source = "y = 3\nprint(y)"
    chinese.cells[1].metadata["tags"] = []
    assert differences(english, chinese) == [
        "cell 2: tags ['setup'] in English, [] in Chinese",
        "cell 3: its code differs from the English at line 1: 'y = 2' in English, 'y = 3' in "
        "Chinese"]
    chinese.cells[1].source = chinese.cells[1].source.replace('"zh"', '"en"')
    assert differences(english, chinese)[1] == (
        "cell 2: its code differs from the English at line 1: 'LANGUAGE = \"zh\"' in English, "
        "'LANGUAGE = \"en\"' in Chinese")
    chinese.cells[1].source += "\nz = 0"
    assert differences(english, chinese)[1].endswith("'LANGUAGE = \"en\"' in Chinese")
    chinese.cells[1].source = english.cells[1].source.replace('"en"', '"zh"') + "\nz = 0"
    assert differences(english, chinese)[1] == (
        "cell 2: its code differs from the English at line 3: None in English, 'z = 0' in "
        "Chinese")
    chinese.cells.pop()
    assert differences(english, chinese)[0] == "3 cells in English, 2 in Chinese"


# --- the prose is Chinese, with the glossary's terms ---------------------------------------------

def prose(markdown: str) -> str:
    """Markdown without what stays English: math, code, HTML tags, link targets."""
    for pattern in (r"\$\$.*?\$\$", r"\$[^$]*\$", r"```.*?```", r"`[^`]*`", r"<[^>]+>",
                    r"\]\([^)]*\)"):
        markdown = re.sub(pattern, " ", markdown, flags=re.S)
    return markdown


def english_paragraphs(markdown: str) -> list[str]:
    """Paragraphs of prose that are English: six words or more and not one Chinese character,
    or twice as many English words as Chinese characters."""
    found = []
    for paragraph in re.split(r"\n\s*\n", prose(markdown)):
        words, chinese = re.findall(r"[A-Za-z]{2,}", paragraph), CJK.findall(paragraph)
        if (len(words) >= 6 and not chinese) or (len(words) >= 12
                                                  and len(words) > 2 * len(chinese)):
            found.append(paragraph.strip()[:70])
    return found


@pytest.mark.parametrize("path", CHINESE, ids=lambda p: p.stem)
def test_a_chinese_chapters_prose_is_chinese(path):
    cells = [cell for cell in load(path).cells if cell.cell_type == "markdown"]
    english = [f"cell {number}: {paragraph!r}" for number, cell in enumerate(cells, start=1)
               for paragraph in english_paragraphs(cell.source)]
    assert not english, "English paragraphs, to translate: " + "; ".join(english)
    text = prose("".join(cell.source for cell in cells))
    share = len(CJK.findall(text)) / max(1, len(CJK.findall(text)) + len(re.findall(r"[A-Za-z]",
                                                                                     text)))
    assert share > 0.6, f"only {share:.0%} of the prose's letters are Chinese"


def test_english_paragraphs_finds_english_and_spares_chinese_with_code_and_math():
    assert english_paragraphs("We train the model with a learning rate of 0.1 here.") != []
    assert english_paragraphs("我们用`torch.optim.SGD(net.parameters(), lr=0.1)`训练模型，"
                              "$w \\leftarrow w - \\eta \\nabla L$。") == []
    mixed = "用 SGD 训练。 This sentence was left in English by mistake and is long."
    assert english_paragraphs(mixed) != []


@pytest.mark.parametrize("path", ENGLISH, ids=lambda p: p.stem)
def test_every_markdown_cell_is_translated_from_the_english_it_has_now(path):
    english, chinese = pair(path)
    stale = [f"cell {number}" for number, (en, zh) in enumerate(
        zip(english.cells, chinese.cells), start=1) if en.cell_type == zh.cell_type == "markdown"
        and zh.metadata.get(sync_zh.KEY) != sync_zh.english_hash(en.source)]
    assert not stale, f"zh/{path.name}: English changed since translated: {stale} ({SYNC})"


def glossary() -> list[tuple[str, str]]:
    """(English term, Chinese term) from ../shared/GLOSSARY-zh.md. A row of several terms, "a /
    b / c", gives one pair each; "training / validation / test set" gives "training set", ...;
    a Chinese term's English in parentheses is dropped: 暂退法（dropout） -> 暂退法."""
    pairs = []
    for row in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if not row.startswith("|") or len(cells) != 2 or cells[0] in ("English", "---"):
            continue
        english, chinese = ([term.strip() for term in cell.split("/")] for cell in cells)
        if len(english) != len(chinese):
            continue
        head = english[-1].split()[-1] if len(english[-1].split()) > 1 else None
        english = [t if head is None or len(t.split()) > 1 else f"{t} {head}" for t in english]
        pairs += [(e, re.sub(r"（.*?）", "", z)) for e, z in zip(english, chinese)]
    return pairs


def headings(notebook: nbformat.NotebookNode) -> list[str]:
    return [line for cell in notebook.cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if line.startswith("#")]


def missing_terms(english: list[str], chinese: list[str], pairs: list[tuple[str, str]]
                  ) -> list[str]:
    """The glossary terms of the English headings whose Chinese no Chinese heading has."""
    english_text, chinese_text = "\n".join(english).lower(), "\n".join(chinese)
    return [f"{term} ({zh})" for term, zh in pairs
            if re.search(rf"\b{re.escape(term.lower())}s?\b", english_text)
            and zh not in chinese_text]


@pytest.mark.skipif(not GLOSSARY.exists(), reason="../shared/GLOSSARY-zh.md is not beside the "
                    "project (it is in CI)")
@pytest.mark.parametrize("path", ENGLISH, ids=lambda p: p.stem)
def test_the_chinese_headings_use_the_glossarys_terms(path):
    english, chinese = pair(path)
    pairs = glossary()
    assert len(pairs) > 50, "the glossary was not read"
    assert not missing_terms(headings(english), headings(chinese), pairs)


def test_missing_terms_finds_a_heading_without_its_term():
    pairs = [("weight decay", "权重衰减"), ("dropout", "暂退法"), ("test set", "测试集")]
    english = ["## 4. Weight decay (core)", "## 10. Dropout", "## Training and test sets"]
    assert missing_terms(english, ["## 4. 权重衰减（核心）", "## 10. 暂退法",
                                   "## 训练集和测试集"], pairs) == []
    assert missing_terms(english, ["## 4. 权重衰退", "## 10. dropout"], pairs) == [
        "weight decay (权重衰减)", "dropout (暂退法)", "test set (测试集)"]


def numbers(markdown: str) -> list[str]:
    """The numbers of a markdown cell's prose, as written (thousands separators dropped)."""
    return sorted(n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?(?:e-?\d+)?",
                                                          prose(markdown)))


def output_numbers(notebook: nbformat.NotebookNode) -> set[str]:
    """The numbers that a notebook's code cells print."""
    text = "\n".join(output.get("text", "") + output.get("data", {}).get("text/plain", "")
                     for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []))
    return set(numbers(text))


def lost_numbers(english: nbformat.NotebookNode, chinese: nbformat.NotebookNode) -> list[str]:
    """Numbers of an English markdown cell that its Chinese cell does not quote, as 'cell N:
    [...]'. The code is the same, so the outputs are, but for what a run measures (a time):
    a number the English run printed and the Chinese run did not is the Chinese prose's to
    replace with its own run's."""
    measured = output_numbers(english) - output_numbers(chinese)
    lost = []
    for number, (en, zh) in enumerate(zip(english.cells, chinese.cells), start=1):
        if en.cell_type == zh.cell_type == "markdown":
            missing = set(numbers(en.source)) - set(numbers(zh.source)) - measured
            if missing:
                lost.append(f"cell {number}: {sorted(missing)}")
    return lost


@pytest.mark.parametrize("path", ENGLISH, ids=lambda p: p.stem)
def test_the_chinese_prose_quotes_the_numbers_the_english_does(path):
    """Each number of an English cell is in its Chinese cell (the outputs are the same)."""
    lost = lost_numbers(*pair(path))
    assert not lost, f"zh/{path.name}: numbers of the English prose not in the Chinese: {lost}"


def test_lost_numbers_spares_only_what_the_two_runs_measured_differently():
    def chapter(prose, printed):
        return nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell(prose), nbformat.v4.new_code_cell(
                "t()", outputs=[nbformat.v4.new_output("stream", text=printed)])])
    english = chapter("It took 3.7 times as long, and the loss is 0.25.", "3.7 times, loss 0.25")
    assert lost_numbers(english, chapter("用时是2.4倍，损失为0.25。", "2.4 times, loss 0.25")) == []
    assert lost_numbers(english, chapter("用时是3.7倍，损失为0.2。", "3.7 times, loss 0.25")) == [
        "cell 1: ['0.25']"]
    assert lost_numbers(english, chapter("用时较长，损失为0.25。", "3.7 times, loss 0.25")) == [
        "cell 1: ['3.7']"]


# --- every cell can be run again after Run All ----------------------------------------------------

@pytest.mark.parametrize("path", CHINESE, ids=lambda p: p.stem)
def test_every_chinese_cell_can_be_run_again_after_run_all(path):
    failed = cells_failing_a_second_run(path)
    assert not failed, f"zh/{path.name}: cells that fail when run again:\n" + "\n".join(failed)


# --- the sync script ------------------------------------------------------------------------------

def test_sync_copies_code_keeps_translations_and_lists_changed_english():
    english = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Linear regression"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("Some prose.")])
    chinese, todo, changed = sync_zh.sync(english, None)
    assert todo == ["cell 1: new", "cell 3: new"] and changed == ["cell 2"]
    chinese.cells[0].source, chinese.cells[2].source = "# 线性回归", "一些文字。"
    sync_zh.mark_translated(english, chinese)
    chinese.cells[1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    assert sync_zh.sync(english, chinese)[1:] == ([], [])
    english.cells[1].source = "x = 2"
    english.cells[2].source = "Some better prose."
    english.cells.insert(1, nbformat.v4.new_markdown_cell("New prose."))
    synced, todo, changed = sync_zh.sync(english, chinese)
    assert todo == ["cell 2: new", "cell 4: its English changed"] and changed == ["cell 3"]
    assert [cell.source for cell in synced.cells] == ["# 线性回归", "New prose.", "x = 2",
                                                     "一些文字。"]
    assert synced.cells[2].outputs == []  # changed code: to be saved again
    english.cells.pop(1)
    english.cells[1].source = "x = 1"
    kept = sync_zh.sync(english, chinese)[0]
    assert kept.cells[1].outputs == chinese.cells[1].outputs  # unchanged code keeps its outputs
    assert hashlib.sha256(b"Some prose.").hexdigest()[:16] == sync_zh.english_hash("Some prose.")
