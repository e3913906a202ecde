"""A platform's stage: every chapter top to bottom in a kernel of an environment like Colab's or
Kaggle's (.ci/platforms.toml), and, for Colab, the widget and chapter-panel tests there too.

    python .ci/stage.py colab|kaggle [pytest arguments]

The environment (its Python version, torch and Jupyter pins, d2lmini's wheel built from this
checkout) is a virtual environment in the user's cache folder, kept for the next run of the
same pins (it is large: torch with its CUDA libraries, as the platforms have it); it is never in
the repository. A platform that imports modules in its kernel (Colab: google.colab) gets a
stand-in module in that environment only, and a kernel that imports it at start.

When no interpreter of the platform's Python version is found, the stage is skipped with a
message saying how to get one; under CI=true that fails instead.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# what the stage needs besides the platform's own packages (all preinstalled on both platforms,
# at versions the pins do not record): chapter 5's KFold, and the tools that run the chapters
TOOLS = ["scikit-learn", "nbclient", "nbformat", "pytest>=7", "pytest-timeout>=2.1"]
KERNEL = "d2lmini-stage"


def platform(name: str) -> dict:
    """The platform's entry in .ci/platforms.toml."""
    table = tomllib.loads((ROOT / ".ci" / "platforms.toml").read_text())
    if name not in table:
        sys.exit(f"no platform {name!r} in .ci/platforms.toml (it has {', '.join(table)})")
    return table[name]


def find_python(version: str) -> str | None:
    """An interpreter of this version: on PATH, from pyenv or uv, or the Windows launcher."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(map(str, pyenv_root.glob(f"versions/{version}.*/bin/python{version}")),
                         reverse=True)
    for command in (["uv", "python", "find", version], ["py", f"-{version}", "-c",
                                                        "import sys; print(sys.executable)"]):
        if shutil.which(command[0]):
            found = subprocess.run(command, capture_output=True, text=True)
            candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    for python in filter(None, candidates):
        check = subprocess.run([python, "-c", "import sys, venv; print('%d.%d' % "
                                "sys.version_info[:2])"], capture_output=True, text=True)
        if check.returncode == 0 and check.stdout.strip() == version:
            return python
    return None


def bin_python(venv: Path) -> Path:
    """The venv's interpreter (POSIX or Windows layout)."""
    posix = venv / "bin" / "python"
    return posix if posix.exists() else venv / "Scripts" / "python.exe"


def pip(python: Path, *args: str) -> None:
    """Run pip in the environment; stop the stage, with pip's output, if it fails."""
    command = [str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`pip {' '.join(args)}` failed:\n{result.stdout}{result.stderr}")


def build_wheel(folder: Path) -> Path:
    """d2lmini's wheel, built from a copy of this checkout (a build writes into its source
    tree, and two stages build at once); the stage installs it as a learner would."""
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "notebooks", "tests", "benchmarks"))
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "wheel",
                    "--no-deps", "-w", str(folder), str(source)], check=True)
    return next(folder.glob("d2lmini-*.whl"))


def environment(name: str, spec: dict, python: str, wheel: Path) -> Path:
    """The stage's virtual environment: made once per set of pins, then reused."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    dependencies = tomllib.loads(pyproject)["project"]["dependencies"]
    key = hashlib.sha256(json.dumps([spec, dependencies, TOOLS]).encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    venv = cache / "d2lmini-stages" / f"{name}-py{spec['python']}-{key}"
    if not (venv / "ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        start = time.perf_counter()
        print(f"making {name}'s environment in {venv} (kept for later runs)", flush=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        constraints = venv / "constraints.txt"
        constraints.write_text("\n".join(spec["packages"] + spec["others"]) + "\n")
        pip(bin_python(venv), "install", "--prefer-binary", "-c", str(constraints),
            *spec["packages"], str(wheel), *TOOLS)
        _stand_ins(venv, spec["imported"])
        (venv / "ready").write_text(f"made in {time.perf_counter() - start:.0f} s\n")
    # this checkout's d2lmini, over the one installed when the environment was made
    pip(bin_python(venv), "install", "--no-deps", "--force-reinstall", str(wheel))
    return venv


def _stand_ins(venv: Path, modules: list[str]) -> None:
    """Empty stand-ins for the modules, and a kernel that imports them at start."""
    python = bin_python(venv)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                                "get_paths()['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    for module in modules:  # e.g. google/colab/__init__.py (google stays a namespace package)
        folder = site.joinpath(*module.split("."))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").write_text(f'"""A stand-in for {module}: the d2lmini stage '
                                            f'imports it in the kernel, as the platform does."""\n')
    imports = "".join(f"import {module}; " for module in modules)
    kernel = venv / "share" / "jupyter" / "kernels" / KERNEL
    kernel.mkdir(parents=True, exist_ok=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-c", f"{imports}from ipykernel import kernelapp; "
                 "kernelapp.launch_new_instance()", "-f", "{connection_file}"],
        "display_name": "d2lmini stage", "language": "python"}, indent=1))


def main(name: str, pytest_args: list[str]) -> int:
    spec = platform(name)
    python = find_python(spec["python"])
    if python is None:
        how = (f"Python {spec['python']} (the {name} stage's) was not found. Get one with "
               f"`uv python install {spec['python']}`, `pyenv install {spec['python']}` or your "
               f"system's packages (e.g. apt install python{spec['python']}-venv), then run "
               f"`python .ci/stage.py {name}` again.")
        if os.environ.get("CI") == "true":
            print(f"FAILED: {how}", file=sys.stderr)
            return 1
        print(f"SKIPPED the {name} stage: {how}")
        return 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"d2lmini-{name}-") as folder:
        venv = environment(name, spec, python, build_wheel(Path(folder)))
    made = time.perf_counter() - start
    tests = ["tests/stage_chapters.py"]
    if name == "colab":  # the panels' widget code under ipywidgets 7 in main-thread mode
        tests += ["tests/test_widgets.py", *map(str, sorted(ROOT.glob("tests/test_chapter*.py")))]
    env = dict(os.environ, D2LMINI_STAGE=name, D2LMINI_STAGE_KERNEL=KERNEL,
               D2LMINI_STAGE_IMPORTED=",".join(spec["imported"]),
               PYDEVD_DISABLE_FILE_VALIDATION="1")  # ipykernel 6's debugpy warns without it
    env.pop("VIRTUAL_ENV", None)  # IPython 7 would put the suite's packages first on sys.path
    env.pop("PYTHONPATH", None)
    print(f"{name}'s stage ({spec['source']}, read {spec['read']}): Python {spec['python']}, "
          f"{', '.join(spec['packages'])}; environment ready in {made:.0f} s", flush=True)
    result = subprocess.run([str(bin_python(venv)), "-m", "pytest", *tests, "-q",
                             "-W", "ignore::DeprecationWarning", "-o",
                             "addopts=-p no:cacheprovider -rfEs", *pytest_args],
                            cwd=ROOT, env=env)
    return result.returncode


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
