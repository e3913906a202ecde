"""The project's files agree with each other, the package stays light and clean, and the lessons
carry no project plumbing: no machine or CI paths, no test markers in code, the same setup cell."""

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import d2lmini

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(
    (ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb"))  # the English and Chinese chapters


def language(notebook: Path) -> str:
    """A chapter's language: "zh" in notebooks/zh/, else "en"."""
    return "zh" if notebook.parent.name == "zh" else "en"


def chapter_id(notebook: Path) -> str:
    return f"{notebook.parent.name}/{notebook.name}" if language(notebook) == "zh" \
        else notebook.name

# Contract C4: every notebook's first code cell, exactly; @VERSION@ is d2lmini.__version__ and
# @LANGUAGE@ the chapter's language: "en" in notebooks/, "zh" in notebooks/zh/ (its one line that
# differs from the English chapter's). The failure text is in the cell, in both languages: it is
# said when d2lmini cannot be imported.
SETUP_CELL = r"""#@title Setup: installs d2lmini on Colab or Kaggle (run it; no need to read it)
D2LMINI_VERSION = "@VERSION@"  # the d2lmini version this chapter was written for
LANGUAGE = "@LANGUAGE@"  # the language d2lmini speaks in this chapter: "en", or "zh" (中文)
try:
    import d2lmini
except ImportError:
    import subprocess
    import sys

    pip = [sys.executable, "-m", "pip", "install", "-q", f"d2lmini=={D2LMINI_VERSION}"]
    if subprocess.run(pip).returncode == 0:
        import d2lmini
    else:
        class SetupError(Exception):
            def _render_traceback_(self):  # IPython shows just this paragraph
                return [str(self)]

        wheel = f"d2lmini-{D2LMINI_VERSION}-py3-none-any.whl"
        raise SetupError({
            "en": f"d2lmini {D2LMINI_VERSION} could not be installed, so this chapter cannot "
                  "run yet.\n- Kaggle: open Settings (right-hand panel), switch Internet on, run "
                  "this cell again.\n- No internet, or d2lmini not on PyPI yet: get the wheel "
                  f"file\n  {wheel} (see the project's README), upload it\n  (Colab: the Files "
                  f"pane; Kaggle: Add Input), then run\n  %pip install /path/to/{wheel}\n  and "
                  "run this cell again.",
            "zh": f"无法安装d2lmini {D2LMINI_VERSION}，本章暂时无法运行。\n- Kaggle：打开右侧的"
                  "Settings，打开Internet开关，再次运行本单元格。\n- 没有网络，或PyPI上还没有"
                  f"d2lmini：按项目README的说明取得\n  {wheel}，上传它\n  （Colab：左侧的“文件”"
                  f"面板；Kaggle：Add Input），然后运行\n  %pip install /path/to/{wheel}\n  再"
                  "次运行本单元格。",
        }[LANGUAGE]) from None
if d2lmini.__version__ != D2LMINI_VERSION:
    print({"en": f"This chapter was written for d2lmini {D2LMINI_VERSION}; you have "
                 f"{d2lmini.__version__}. If something fails, run\n"
                 f"  %pip install d2lmini=={D2LMINI_VERSION}\nand restart the kernel.",
           "zh": f"本章是为d2lmini {D2LMINI_VERSION}编写的，你安装的是{d2lmini.__version__}。如果"
                 f"运行出错，请运行\n  %pip install d2lmini=={D2LMINI_VERSION}\n然后重启内核。",
           }[LANGUAGE])
if hasattr(d2lmini, "set_language"):  # (d2lmini 0.3 and older speak English only)
    d2lmini.set_language(LANGUAGE)"""
SETUP_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}, "tags": ["setup"]}


def setup_cell(version: str = d2lmini.__version__, language: str = "en") -> str:
    """The setup cell (contract C4) for a d2lmini version and a chapter's language."""
    return SETUP_CELL.replace("@VERSION@", version).replace("@LANGUAGE@", language)


# An absolute path of some machine: /home/me/..., /tmp/x/y, /content/drive/..., C:\Users\me\...
# (not a URL's path, not a/b/c, not base64, not the placeholder /path/to/ of the setup cell).
POSIX_PATH = re.compile(r"(?<![\w.~:/\\+=-])/(?!path/to/)(?:[\w.@+-]+/)+[\w.@+-]*")
WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\{1,2}[\w.$ -]+\\")  # code and outputs only (LaTeX: f:\R)
TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def _spec(requirement: str) -> str:
    """The version range, without a platform marker (environment.yml has none)."""
    requirement = requirement.split(";")[0].strip()
    return requirement[len(_name(requirement)):].replace(" ", "")


def _code_cells(notebook: Path) -> list[dict]:
    return [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]


def _output_texts(cell: dict) -> list[str]:
    """Every text a saved output shows (stream, error, text-like mime types; not images)."""
    texts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            texts.append("".join(output["text"]))
        elif output["output_type"] == "error":
            texts += [output["ename"], output["evalue"], *output["traceback"]]
        for mime, value in output.get("data", {}).items():
            if mime in TEXT_MIMES or mime.startswith("text/"):
                texts.append(value if isinstance(value, str) else json.dumps(value))
    return texts


def plumbing(notebook: Path) -> list[str]:
    """What in a notebook is project plumbing rather than lesson: paths, markers, source dumps."""
    found = []
    for index, cell in enumerate(json.loads(notebook.read_text())["cells"]):
        source = "".join(cell["source"])
        code = cell["cell_type"] == "code"
        texts = [("source", source)] + [("output", t) for t in _output_texts(cell)]
        for where, text in texts:
            tell = f"cell {index} {where}"
            paths = POSIX_PATH.findall(text)
            if code:
                paths += WINDOWS_PATH.findall(text)
            found += [f"{tell}: absolute path {p!r}" for p in paths]
            if re.search(r"\.\.[/\\]+(\.\.[/\\]+)*shared", text):
                found.append(f"{tell}: a ../shared path (the CI's data folder)")
        if code and re.search("nbval", source, re.I):
            found.append(f"cell {index}: an nbval marker in code (use a cell tag)")
        if code and "getsource" in source:
            found.append(f"cell {index}: shows package source (getsource): write the code instead")
    return found


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["lab"]
    lines = (ROOT / "environment.yml").read_text().splitlines()
    conda = [ln.strip()[2:] for ln in lines if re.match(r"^  - [a-z]", ln)]
    conda = {_name(r).replace("pytorch", "torch").replace("python-isal", "isal"): _spec(r)
             for r in conda}
    for requirement in wanted:
        assert _name(requirement) in conda, f"{requirement} is missing from environment.yml"
        assert conda[_name(requirement)] == _spec(requirement), requirement
    assert conda["python"] == ">=3.10,<3.14"
    assert project["requires-python"] == ">=3.10,<3.14"


def test_runtime_dependencies_have_no_upper_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        version = _spec(requirement)  # a platform marker may say ==
        assert "<" not in version and "==" not in version, requirement
    assert "ipywidgets>=7.7" in project["dependencies"]  # not >=8: Colab ships 7


def test_version_is_written_in_one_place():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "d2lmini.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", d2lmini.__version__)
    # the README names wheels and pins by this version only
    readme = (ROOT / "README.md").read_text()
    named = re.findall(r"d2lmini(?:-|==)(\d+\.\d+\.\d+)", readme)
    assert set(named) <= {d2lmini.__version__}, named


def test_licences_are_declared_and_present():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pyproject["license"] == "MIT"
    for name in pyproject["license-files"]:
        assert "MIT License" in (ROOT / name).read_text(), name
    assert "d2lmini/fashion_mnist_mini/LICENSE" in pyproject["license-files"]  # Zalando's
    notebooks = (ROOT / "LICENSE-notebooks.txt").read_text()
    assert "Creative Commons Attribution 4.0 International Public License" in notebooks
    assert "Section 8 -- Interpretation." in notebooks  # the whole licence, not a stub


def _readme_blocks(name: str = "README.md") -> list[str]:
    return re.findall(r"```(?:bash|sh|console)?\n(.*?)```", (ROOT / name).read_text(), re.S)


def test_the_chinese_readme_links_back_and_has_the_same_two_commands():
    english, chinese = ((ROOT / name).read_text() for name in ("README.md", "README.zh-CN.md"))
    assert "(README.zh-CN.md)" in "\n".join(english.splitlines()[:5]), "link it at the top"
    assert "(README.md)" in "\n".join(chinese.splitlines()[:5]), "link back at the top"
    blocks = _readme_blocks("README.zh-CN.md")
    for block in _readme_blocks()[:2]:  # the notebooks' command (Chinese chapters), the tests'
        assert block.replace("jupyter lab notebooks\n", "jupyter lab notebooks/zh\n") in blocks \
            or block in blocks, block
    assert "notebooks/zh/" in chinese and "Colab" in chinese and "Kaggle" in chinese
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", chinese)
    assert [link for link in links if not (ROOT / link).exists()] == []


def test_readme_commands_make_a_venv_and_choose_torch_before_installing():
    blocks = _readme_blocks()
    lab = [b for b in blocks if "jupyter lab notebooks" in b and "venv" in b]
    suite = [b for b in blocks if "bash .ci/test" in b]
    assert lab and suite, "the README has a command for the notebooks and one for the tests"
    cpu = "python -m pip install torch --index-url https://download.pytorch.org/whl/cpu"
    for block in lab + suite:
        lines = block.splitlines()
        step = {key: next((i for i, ln in enumerate(lines) if key in ln), None)
                for key in ("-m venv .venv", "activate", cpu, 'pip install -e ".[lab]"',
                            "bash .ci/test")}
        assert step["-m venv .venv"] == 0 and step["activate"] is not None, block
        assert step[cpu] is not None and step[cpu] > step["activate"], "torch's build first"
        install = step['pip install -e ".[lab]"'] or step["bash .ci/test"]
        assert install is not None and install > step[cpu], block
    readme = (ROOT / "README.md").read_text()
    assert r".venv\Scripts\activate" in readme  # Windows
    assert "d2lmini.classroom()" in readme
    assert "bash .ci/test" in (ROOT / ".ci" / "run").read_text()  # CI runs the README's command


def test_import_d2lmini_leaves_matplotlib_and_ipywidgets_unloaded():
    code = ("import sys, d2lmini; heavy = [m for m in ('matplotlib', 'ipywidgets', 'pooch')"
            " if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120)
    assert out.stdout.strip() == "[]"


def test_public_names_are_importable():
    for name in d2lmini.__all__:
        assert getattr(d2lmini, name) is not None, name
    with pytest.raises(AttributeError):
        d2lmini.no_such_helper  # noqa: B018


def test_package_does_not_import_notebook_or_test_tools():
    for path in (ROOT / "d2lmini").glob("*.py"):
        source = path.read_text()
        for tool in ("pytest", "jupyterlab", "nbval", "playwright"):
            assert not re.search(rf"^\s*(import|from) {tool}\b", source, re.M), (path, tool)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=chapter_id)
def test_notebook_starts_with_the_setup_cell(notebook):
    first = _code_cells(notebook)[0]
    source = "".join(first["source"])
    pinned = re.search(r'D2LMINI_VERSION = "([^"]*)"', source)
    assert pinned and pinned[1] == d2lmini.__version__, "pin the package's __version__"
    assert source == setup_cell(language=language(notebook)), (
        "paste contract C4's setup cell as the first code cell")
    metadata = {key: first["metadata"].get(key) for key in SETUP_METADATA}
    metadata["jupyter"] = {"source_hidden": (metadata["jupyter"] or {}).get("source_hidden")}
    assert metadata == SETUP_METADATA, "the setup cell is a collapsed form (cellView: form)"
    assert first["outputs"] == [], "with the right d2lmini installed, the setup cell says nothing"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=chapter_id)
def test_notebook_carries_no_machine_paths_or_test_plumbing(notebook):
    assert plumbing(notebook) == []


def test_plumbing_finds_what_it_looks_for(tmp_path):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "See [x](https://a.org/b/c), a/b/c."},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": setup_cell(),
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "5 / 10 / 20\n"}]},
        {"cell_type": "code", "metadata": {}, "execution_count": 2,
         "source": "# NBVAL_IGNORE_OUTPUT\nroot = '../../shared/data'\ninspect.getsource(f)",
         "outputs": [{"output_type": "stream", "name": "stderr",
                      "text": "/root/.pyenv/lib/x.py:3: Warning\n"},
                     {"output_type": "execute_result", "execution_count": 2, "metadata": {},
                      "data": {"text/plain": "'C:\\\\Users\\\\me\\\\data'",
                               "image/png": "iVBOR/abc/def/"}}]},
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    found = plumbing(path)
    assert [f.split(":")[0] for f in found] == ["cell 2 source", "cell 2 output", "cell 2 output",
                                                "cell 2", "cell 2"], found
    assert "'/root/.pyenv/lib/x.py'" in found[1] and "Users" in found[2]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=chapter_id)
def test_notebook_is_saved_executed_with_its_panel_tagged(notebook):
    code = _code_cells(notebook)
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "save it from a clean restart-and-run-all"
    stamped = [i for i, c in enumerate(code) if "execution" in c["metadata"]]
    assert not stamped, f"code cells {stamped[:5]}... carry execution timestamps: strip them"
    panels = [c for c in code if "LivePanel(" in "".join(c["source"])]
    assert panels, "every chapter has a live panel"
    for cell in panels:
        assert "nbval-ignore-output" in cell["metadata"].get("tags", []), "tag the panel cell"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=chapter_id)
def test_a_reader_without_a_kernel_sees_every_panels_figure(notebook):
    """nbconvert's HTML (what nbviewer shows), made offline: each panel's output shows its saved
    PNG, inline, and every other figure is there too (none replaced by an empty widget view)."""
    from nbconvert import HTMLExporter

    node = nbformat.reads(notebook.read_text(), as_version=4)
    html, _ = HTMLExporter().from_notebook_node(node)
    pngs = [output["data"]["image/png"][:60] for cell in node.cells
            for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]
    panels = [cell for cell in node.cells if "LivePanel(" in cell.source]
    for cell in panels:
        assert any("image/png" in output.get("data", {}) for output in cell.outputs), \
            "a panel's output carries its default run's PNG"
    shown = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]{60})', html)
    assert shown == pngs, f"{len(shown)} of {len(pngs)} figures show in the HTML"


MAX_CELL_LINES = 25  # one idea a cell: longer code goes into d2lmini or into two cells


def long_cells(notebook: Path) -> list[str]:
    """The code cells over MAX_CELL_LINES lines, by cell number; the setup cell is exempt."""
    cells = json.loads(notebook.read_text())["cells"]
    return [f"cell {i}: {len(lines)} lines ({lines[0][:60]!r})"
            for i, cell in enumerate(cells) if cell["cell_type"] == "code"
            and "setup" not in cell["metadata"].get("tags", [])
            and len(lines := "".join(cell["source"]).splitlines()) > MAX_CELL_LINES]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=chapter_id)
def test_every_code_cell_is_at_most_25_lines(notebook):
    assert long_cells(notebook) == []


def test_long_cells_finds_a_long_cell_and_spares_the_setup_cell(tmp_path):
    def cell(lines, tags=()):
        return {"cell_type": "code", "metadata": {"tags": list(tags)}, "execution_count": 1,
                "outputs": [], "source": "\n".join(f"x{i} = {i}" for i in range(lines))}

    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [cell(40, ["setup"]), cell(25), cell(26)],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert long_cells(path) == ["cell 2: 26 lines ('x0 = 0')"]


CORE_PATH = ("04_optimizers", "05_regularization", "06_backpropagation")  # a 90-minute core path


def unmarked_sections(notebook: Path) -> list[str]:
    """Numbered section headings ("## 3. ...") that do not say "(core)" or "(going further)"."""
    headings = [line for cell in json.loads(notebook.read_text())["cells"]
                if cell["cell_type"] == "markdown"
                for line in "".join(cell["source"]).splitlines() if re.match(r"## \d+\.", line)]
    assert headings, f"{notebook.name} has no numbered sections"
    return [h for h in headings
            if not re.search(r"(\((core|going further)\)|（(核心|进阶)）)\s*$", h)]


@pytest.mark.parametrize("notebook", [n for n in NOTEBOOKS if n.stem in CORE_PATH],
                         ids=chapter_id)
def test_each_section_says_whether_it_is_core_or_going_further(notebook):
    assert unmarked_sections(notebook) == []
    intro = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
    words = ("核心", "进阶") if language(notebook) == "zh" else ("core", "going further")
    assert all(word in intro for word in words), "the introduction names the core path"


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    result = subprocess.run([ruff, "check", "--output-format", "concise", str(ROOT)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- tests that cannot hang ----------------------------------------------------------------------

WAITS = {"join", "wait", "get", "communicate"}  # thread, process, event, queue, Popen
RUNS = {"run", "call", "check_call", "check_output"}  # subprocess's


def unbounded_waits(source: str) -> list[int]:
    """The lines of calls that may wait for ever: join(), wait(), get() or communicate() with
    no timeout; subprocess.run and the like without timeout=; and any timeout=None or 0
    (Playwright's "no timeout"). Loops that poll are not found: give them a deadline."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        timeout = keywords.get("timeout")
        name, owner = node.func.attr, getattr(node.func.value, "id", "")
        if ((name in WAITS and not node.args and timeout is None)
                or (owner == "subprocess" and name in RUNS and timeout is None)
                or (isinstance(timeout, ast.Constant) and timeout.value in (None, 0))):
            lines.append(node.lineno)
    return lines


def test_unbounded_waits_finds_waits_without_a_deadline():
    source = """
thread.join()
thread.join(5)
done.wait()
assert panel.wait(30)
results.get()
results.get(timeout=60)
", ".join(names)
subprocess.run(command)
subprocess.run(command, timeout=120)
page.click(timeout=0)
proc.communicate()
settings.get("lr")
"""
    assert unbounded_waits(source) == [2, 4, 6, 9, 11, 12]


def test_every_wait_in_the_tests_has_a_deadline():
    """A hang fails its test (pytest-timeout, for every test); a wait of its own with a
    deadline says what it waited for."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(_name(r) == "pytest-timeout" for r in project["project"]["optional-dependencies"]
               ["test"])
    assert float(project["tool"]["pytest"]["ini_options"]["timeout"]) > 0
    found = {path.name: lines for path in sorted((ROOT / "tests").glob("*.py"))
             if (lines := unbounded_waits(path.read_text()))}
    assert not found, f"waits with no deadline (file: lines): {found}"
