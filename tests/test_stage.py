""".ci/stage.py: without the platform's Python, the stage is skipped with a how-to, and under
CI=true it fails; the interpreter search finds this machine's own version."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("stage", ROOT / ".ci" / "stage.py")
stage = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stage)


def test_a_missing_python_is_skipped_with_a_how_to_and_fails_under_ci(monkeypatch, capsys):
    monkeypatch.setattr(stage, "platform", lambda name: {"python": "3.99", "source": "s",
                                                         "read": "r", "packages": []})
    monkeypatch.setenv("CI", "false")
    assert stage.main("colab", []) == 0
    said = capsys.readouterr().out
    assert "SKIPPED the colab stage" in said and "uv python install 3.99" in said
    monkeypatch.setenv("CI", "true")
    assert stage.main("colab", []) == 1
    assert "FAILED" in capsys.readouterr().err


def test_the_search_finds_this_pythons_version_and_not_a_missing_one():
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = stage.find_python(version)
    assert found is not None and Path(found).exists()
    assert stage.find_python("3.99") is None


def test_each_platform_in_the_file_has_what_a_stage_needs():
    for name in ("colab", "kaggle"):
        spec = stage.platform(name)
        assert {"python", "packages", "others", "imported", "read", "source"} <= set(spec)
        assert any(pin.startswith("torch==") for pin in spec["packages"])
