"""The project's files agree with each other, and the package stays light and clean."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def _spec(requirement: str) -> str:
    return requirement.strip()[len(_name(requirement)):].replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["lab"]
    lines = (ROOT / "environment.yml").read_text().splitlines()
    conda = [ln.strip()[2:] for ln in lines if re.match(r"^  - [a-z]", ln)]
    conda = {_name(r).replace("pytorch", "torch"): _spec(r) for r in conda}
    for requirement in wanted:
        assert _name(requirement) in conda, f"{requirement} is missing from environment.yml"
        assert conda[_name(requirement)] == _spec(requirement), requirement
    assert conda["python"] == ">=3.10,<3.14"
    assert project["requires-python"] == ">=3.10,<3.14"


def test_runtime_dependencies_have_no_upper_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        assert "<" not in requirement and "==" not in requirement, requirement
    assert "ipywidgets>=7.7" in project["dependencies"]  # not >=8: Colab ships 7


def test_import_d2lmini_leaves_matplotlib_and_ipywidgets_unloaded():
    code = ("import sys, d2lmini; heavy = [m for m in ('matplotlib', 'ipywidgets', 'pooch')"
            " if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_are_importable():
    import d2lmini

    for name in d2lmini.__all__:
        assert getattr(d2lmini, name) is not None, name
    with pytest.raises(AttributeError):
        d2lmini.no_such_helper  # noqa: B018


def test_package_does_not_import_notebook_or_test_tools():
    for path in (ROOT / "d2lmini").glob("*.py"):
        source = path.read_text()
        for tool in ("pytest", "jupyterlab", "nbval", "playwright"):
            assert not re.search(rf"^\s*(import|from) {tool}\b", source, re.M), (path, tool)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_installs_d2lmini_when_missing_and_is_saved_executed(notebook):
    nb = json.loads(notebook.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    first = "".join(code[0]["source"])
    assert "import d2lmini" in first and "except ImportError" in first
    assert "pip install" in first and "d2lmini" in first
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "save it from a clean restart-and-run-all"
    panels = [c for c in code if "LivePanel(" in "".join(c["source"])]
    assert panels, "every chapter has a live panel"
    for cell in panels:
        assert "nbval-ignore-output" in cell["metadata"].get("tags", []), "tag the panel cell"


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    result = subprocess.run([ruff, "check", "--output-format", "concise", str(ROOT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
