"""d2lmini as it is published: the wheel and the sdist that `python -m build` makes, checked by
twine; the unit tests run from the unpacked sdist; and on a copy of Colab's preinstalled packages,
installing the wheel adds d2lmini alone and the notebooks' setup cell behaves as promised.

Building needs setuptools from PyPI, and the Colab copy needs Colab's packages: they are fetched
once and kept in the temporary folder `d2lmini-colab-wheels`. Without PyPI these tests are
skipped, except in CI (CI set), where they fail."""

import ast
import email
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from packaging.markers import default_environment
from packaging.requirements import Requirement
from test_project import setup_cell

import d2lmini

ROOT = Path(__file__).resolve().parents[1]
VERSION = d2lmini.__version__
CACHE = Path(tempfile.gettempdir()) / "d2lmini-colab-wheels"

# What Colab preinstalls (.ci/platforms.toml, with its date and source): the packages d2lmini
# needs or touches (torch aside: the copy links this suite's own), and the versions of their own
# requirements, for the copy.
COLAB = tomllib.loads((ROOT / ".ci" / "platforms.toml").read_text())["colab"]
COLAB_STACK = {name: version for name, version in (pin.split("==") for pin in COLAB["packages"])
               if name != "torch"}
COLAB_CONSTRAINTS = COLAB["others"] + [f"{name}=={version}"
                                       for name, version in COLAB_STACK.items()]

# The unit tests of the core modules, run from the unpacked sdist (kept short for CI's time; every
# test module is still imported there, with the support modules it needs).
SDIST_UNIT_TESTS = ["test_data.py", "test_scratch.py", "test_train.py", "test_check.py"]


def run(command: list, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, capturing its text output; the test fails if it runs past `timeout` s
    (the slowest, the unit tests from the sdist, take 20 s in CI)."""
    command = [str(c) for c in command]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as error:
        output = [o.decode(errors="replace") if isinstance(o, bytes) else o or ""
                  for o in (error.stdout, error.stderr)]
        pytest.fail(f"`{' '.join(command)}` did not finish in {timeout:.0f} s (stopped); its "
                    f"output:\n{output[0][-3000:]}{output[1][-3000:]}")


def no_pypi(what: str, result: subprocess.CompletedProcess):
    """Skip (fail in CI) when PyPI was needed and could not be reached."""
    message = f"{what} needs PyPI (once; then it is cached):\n{result.stdout}{result.stderr}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _name(requirement: str) -> str:
    return Requirement(requirement).name.lower().replace("_", "-")


def bin_python(venv: Path) -> Path:
    """The Python of a virtual environment."""
    posix = venv / "bin" / "python"
    return posix if posix.exists() else venv / "Scripts" / "python.exe"


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> dict:
    """The sdist and the wheel, built as a publisher builds them (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    result = run([sys.executable, "-m", "build", "--outdir", out, ROOT])
    if "No matching distribution found for setuptools" in result.stdout + result.stderr:
        no_pypi("building d2lmini", result)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"sdist": out / f"d2lmini-{VERSION}.tar.gz",
            "wheel": out / f"d2lmini-{VERSION}-py3-none-any.whl"}


def test_wheel_holds_the_package_its_licences_and_metadata(dist):
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    modules = {f"d2lmini/{p.name}" for p in (ROOT / "d2lmini").glob("*.py")}
    data = {f"d2lmini/fashion_mnist_mini/{p.name}"
            for p in (ROOT / "d2lmini" / "fashion_mnist_mini").iterdir() if p.is_file()}
    assert modules | data <= names, sorted((modules | data) - names)
    info = f"d2lmini-{VERSION}.dist-info"
    assert {f"{info}/licenses/LICENSE", f"{info}/licenses/d2lmini/fashion_mnist_mini/LICENSE"} \
        <= names
    assert not [n for n in names if n.startswith(("tests/", "notebooks/")) or ".pyc" in n]

    metadata = email.message_from_bytes(zipfile.ZipFile(dist["wheel"]).read(f"{info}/METADATA"))
    assert metadata["Version"] == VERSION and metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE", "d2lmini/fashion_mnist_mini/LICENSE"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert runtime == project["dependencies"]


def test_twine_check_passes(dist):
    result = run([sys.executable, "-m", "twine", "check", "--strict", dist["sdist"],
                  dist["wheel"]])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def _local_imports(path: Path) -> set[str]:
    """The modules of tests/ that a test file imports (e.g. panel_support)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return {name for name in found if (path.parent / f"{name}.py").exists()}


def test_sdist_holds_everything_its_tests_need(dist):
    top = f"d2lmini-{VERSION}/"
    names = {n.removeprefix(top) for n in tarfile.open(dist["sdist"]).getnames()}
    tests = sorted((ROOT / "tests").glob("test_*.py"))
    needed = {f"tests/{p.name}" for p in tests}
    needed |= {f"tests/{m}.py" for p in tests for m in _local_imports(p)}
    assert "tests/panel_support.py" in needed  # what the sdist lacked before (issue 12)
    needed |= {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    needed |= {"pyproject.toml", "README.md", "environment.yml", "LICENSE",
               "LICENSE-notebooks.txt", ".ci/run", ".ci/test",
               "d2lmini/fashion_mnist_mini/LICENSE"}
    assert needed <= names, sorted(needed - names)
    assert not [n for n in names if "__pycache__" in n or ".ipynb_checkpoints" in n]


def test_unit_tests_pass_from_the_unpacked_sdist(dist, tmp_path):
    with tarfile.open(dist["sdist"]) as sdist:  # (the filter: Python 3.11.4+, 3.10.12+)
        sdist.extractall(tmp_path, **({"filter": "data"} if hasattr(tarfile, "data_filter")
                                      else {}))
    src = tmp_path / f"d2lmini-{VERSION}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = run([sys.executable, "-c", "import d2lmini; print(d2lmini.__file__)"], cwd=src,
                env=env)
    assert Path(where.stdout.strip()).is_relative_to(src), "the sdist's own d2lmini is tested"
    pytest_ = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    # every test module imports there (with its support modules, e.g. panel_support) ...
    collected = run([*pytest_, "--collect-only", "tests"], cwd=src, env=env)
    assert collected.returncode == 0, collected.stdout[-6000:] + collected.stderr[-3000:]
    # ... and the unit tests pass
    result = run([*pytest_, *[f"tests/{f}" for f in SDIST_UNIT_TESTS]], cwd=src, env=env)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary


# --- a copy of Colab: its preinstalled versions in a throw-away virtual environment -------------

def _installed_closure(name: str) -> list:
    """An installed distribution and, recursively, the installed ones it requires."""
    marker_env = default_environment() | {"extra": ""}
    found, todo = {}, [name]
    while todo:
        try:
            dist = importlib.metadata.distribution(todo.pop())
        except importlib.metadata.PackageNotFoundError:
            continue
        key = dist.metadata["Name"].lower()
        if key not in found:
            found[key] = dist
            for requirement in map(Requirement, dist.requires or []):
                if not requirement.marker or requirement.marker.evaluate(marker_env):
                    todo.append(requirement.name)
    return list(found.values())


def _link_torch(folder: Path) -> set[str]:
    """Link the installed torch and what it needs into a folder outside the venv: Colab has
    torch, and pip must neither fetch GBs for it nor ever uninstall it (it is not the venv's).
    Returns the names linked."""
    folder.mkdir()
    closure = _installed_closure("torch")
    for dist in closure:
        base = Path(dist.locate_file(""))
        for top in {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            if (base / top).exists() and not (folder / top).exists():
                (folder / top).symlink_to(base / top, target_is_directory=(base / top).is_dir())
    return {dist.metadata["Name"].lower().replace("_", "-") for dist in closure}


@pytest.fixture(scope="session")
def colab(tmp_path_factory) -> Path:
    """A venv with Colab's preinstalled stack: torch (linked), numpy, matplotlib, ipywidgets
    7.7.1, ipykernel 6.17.1, IPython 7.34.0, tqdm, pooch, requests, at Colab's versions."""
    if sys.platform == "win32":
        pytest.skip("links torch into the copy with symlinks: POSIX only")
    folder = tmp_path_factory.mktemp("colab")
    venv = folder / "venv"
    run([sys.executable, "-m", "venv", venv], check=True)
    python = bin_python(venv)
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    check=True).stdout.strip())
    # torch with its own requirements stands in for Colab's torch (and its setuptools: drop the
    # venv's own, which is older than the one torch asks for)
    linked = _link_torch(folder / "torch")
    (site / "colab-torch.pth").write_text(str(folder / "torch") + "\n")
    pip = [python, "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "uninstall", "-y", "setuptools"], check=True)
    constraints = folder / "colab-constraints.txt"
    constraints.write_text("\n".join(c for c in COLAB_CONSTRAINTS if _name(c) not in linked))
    wanted = list(COLAB_STACK)
    install = [*pip, "install", "--no-compile", "--prefer-binary", "-c", constraints, *wanted]
    if run([*install, "--no-index", "--find-links", CACHE]).returncode != 0:
        fetched = run([*pip, "download", "--prefer-binary", "-d", CACHE, "-c", constraints,
                       *wanted])
        if fetched.returncode != 0:
            no_pypi("the copy of Colab", fetched)
        result = run([*install, "--no-index", "--find-links", CACHE])
        assert result.returncode == 0, result.stdout + result.stderr
    versions = json.loads(run([python, "-c", "import importlib.metadata as m, json; print("
                               f"json.dumps({{n: m.version(n) for n in {list(COLAB_STACK)}}}))"],
                              check=True).stdout)
    assert versions == COLAB_STACK
    return venv


def test_installing_the_wheel_on_colab_installs_d2lmini_alone(colab, dist, tmp_path):
    report = tmp_path / "report.json"
    result = run([bin_python(colab), "-m", "pip", "install", "--dry-run", "--report", report,
                  "--no-index", "--find-links", dist["wheel"].parent, dist["wheel"]])
    assert result.returncode == 0, "d2lmini needs what Colab lacks:\n" + result.stderr
    installs = [(i["metadata"]["name"], i["metadata"]["version"])
                for i in json.loads(report.read_text())["install"]]
    assert installs == [("d2lmini", VERSION)], f"would install or upgrade {installs}"


def _run_setup_cell(python: Path, code: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    """Run code as a notebook cell in IPython (as Colab's kernel does), with no pip config."""
    # (VIRTUAL_ENV too: IPython 7 would add that venv's packages, e.g. the suite's d2lmini)
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("PIP_", "PYTHON")) and k != "VIRTUAL_ENV"}
    clean |= {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"} | env
    script = ("from IPython.core.interactiveshell import InteractiveShell\n"
              f"InteractiveShell.instance().run_cell({code!r})\n")
    return run([python, "-c", script], cwd=cwd, env=clean)


FAILED_INSTALL = {  # language: (first line, last line) of the paragraph
    "en": (f"d2lmini {VERSION} could not be installed, so this chapter cannot run yet.",
           "  and run this cell again."),
    "zh": (f"无法安装d2lmini {VERSION}，本章暂时无法运行。", "  再次运行本单元格。"),
}


@pytest.mark.parametrize("language", sorted(FAILED_INSTALL))
def test_setup_cell_explains_a_failed_install_in_one_paragraph(colab, tmp_path, language):
    result = _run_setup_cell(bin_python(colab), setup_cell(language=language), tmp_path,
                             PIP_INDEX_URL="http://127.0.0.1:9/", PIP_RETRIES="0")
    print(result.stdout + result.stderr)  # what a learner sees (pytest -s shows it)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    first, last = FAILED_INSTALL[language]
    assert lines[0] == first
    assert f"  %pip install /path/to/d2lmini-{VERSION}-py3-none-any.whl" in lines
    assert lines[-1] == last and len(lines) == 7


NEWER = {
    "en": (f"This chapter was written for d2lmini 9.0.0; you have {VERSION}. If something "
           "fails, run\n  %pip install d2lmini==9.0.0\nand restart the kernel.\n"),
    "zh": (f"本章是为d2lmini 9.0.0编写的，你安装的是{VERSION}。如果运行出错，请运行\n"
           "  %pip install d2lmini==9.0.0\n然后重启内核。\n"),
}


@pytest.mark.parametrize("language", sorted(NEWER))
def test_setup_cell_is_silent_with_its_version_and_names_the_upgrade_otherwise(
        colab, dist, tmp_path, language):
    target = tmp_path / "site"
    run([bin_python(colab), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--target", target, dist["wheel"]], check=True)
    same = _run_setup_cell(bin_python(colab), setup_cell(language=language), tmp_path,
                           PYTHONPATH=str(target))
    assert (same.returncode, same.stdout, same.stderr) == (0, "", ""), same
    newer = _run_setup_cell(bin_python(colab), setup_cell("9.0.0", language), tmp_path,
                            PYTHONPATH=str(target))
    assert newer.stdout == NEWER[language], newer.stdout + newer.stderr


def test_ci_runs_both_platform_stages_with_their_pins_in_one_place():
    script = (ROOT / ".ci" / "test").read_text()
    assert ".ci/stage.py colab" in script and ".ci/stage.py kaggle" in script
    stage = (ROOT / ".ci" / "stage.py").read_text()
    assert 'tests/test_widgets.py' in stage and 'glob("tests/test_chapter*.py")' in stage
    platforms = tomllib.loads((ROOT / ".ci" / "platforms.toml").read_text())
    for name, python in (("colab", "3.13"), ("kaggle", "3.12")):
        assert platforms[name]["python"] == python and platforms[name]["read"]
        assert platforms[name]["source"].startswith("github.com/")
    assert {"ipywidgets==7.7.1", "ipykernel==6.17.1", "ipython==7.34.0"} <= set(
        platforms["colab"]["packages"])
    assert "ipywidgets==8.1.5" in platforms["kaggle"]["packages"]
    assert platforms["colab"]["imported"] == ["google.colab"]
    # the versions are written there only: no other script or test (but this one) repeats a pin
    elsewhere = [path for path in [*ROOT.glob(".ci/*"), *ROOT.glob("tests/*.py")]
                 if path.name not in ("platforms.toml", "test_packaging.py") and re.search(
                     r"ipywidgets==|ipykernel==|torch==2\.1[01]", path.read_text())]
    assert not elsewhere, elsewhere

