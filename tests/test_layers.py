"""The package's two layers: what the chapters teach at the top, the machinery beneath it.

The learner's modules (d2lmini/*.py) are read line by line: they import no thread, no image
bytes and no matplotlib internals, and nothing of the machinery when they are imported. The
machinery (d2lmini/machinery/) may use them. The README lists every module in its layer.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "d2lmini"
LEARNER = sorted(PACKAGE.glob("*.py"))
MACHINERY = sorted((PACKAGE / "machinery").glob("*.py"))
# what a learner's module must not import: threads, image bytes, matplotlib's inner workings
NOT_FOR_LEARNERS = {"threading", "weakref", "base64", "struct", "PIL", "ipywidgets",
                    "matplotlib.backends", "matplotlib.backend_bases", "matplotlib.transforms"}
LEARNER_LINES = 1990  # 1,880 with chapter 6 (its engine, autograd.py); 1,972 with language.py


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at the top level?) for each import in a file (for `from m import x`: m, or
    .x for `from . import x`); relative ones start with '.'."""
    found = []
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names = [base] if node.module else [base + alias.name for alias in node.names]
            found += [(name, id(node) in top) for name in names]
    return found


@pytest.mark.parametrize("path", LEARNER, ids=lambda p: p.name)
def test_a_learners_module_imports_no_machinery_at_its_top(path):
    for name, at_top in imports(path):
        if at_top:
            assert not name.startswith(".machinery"), f"{path.name} imports {name}"
        assert not any(name == banned or name.startswith(banned + ".")
                       for banned in NOT_FOR_LEARNERS), f"{path.name} imports {name}"


def test_the_check_above_finds_a_machinery_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("from .machinery.panel import LivePanel\nimport threading\n")
    assert imports(module) == [(".machinery.panel", True), ("threading", True)]


def test_importing_the_learners_layer_loads_no_machinery():
    code = ("import sys, d2lmini, d2lmini.plot, d2lmini.optim, d2lmini.style, "
            "d2lmini.fashion_mnist; d2lmini.load_data_fashion_mnist(256); "
            "print(sorted(m for m in sys.modules if m.startswith('d2lmini.machinery')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_machinery_is_not_imported_by_the_learners_layer_except_where_said():
    """One arrow goes up: the loader asks download.py for the full set, found, read and checked
    (inside the function that needs it); __init__.py's lazy names are looked up, not imported."""
    upward = {(path.name, name) for path in LEARNER for name, _ in imports(path)
              if name.startswith(".machinery")}
    assert upward == {("fashion_mnist.py", ".machinery.download")}


def test_the_learners_layer_stays_small():
    lines = sum(len(path.read_text().splitlines()) for path in LEARNER)
    assert lines <= LEARNER_LINES, f"the learner's layer has {lines} lines"


def test_the_readme_lists_every_module_in_its_layer():
    readme = (ROOT / "README.md").read_text()
    learner_part, machinery_part = readme.split("**The machinery**", 1)
    listed = set(re.findall(r"^\|[^|\n]*\| `(\w+\.py)` \|", learner_part, re.M))
    assert listed == {p.name for p in LEARNER} - {"__init__.py"}
    listed = set(re.findall(r"^\| `(\w+\.py)` \|", machinery_part, re.M))
    assert listed == {p.name for p in MACHINERY} - {"__init__.py"}
