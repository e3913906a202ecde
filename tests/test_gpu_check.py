"""benchmarks/gpu_check.py: on a machine without CUDA it says so and exits 0; its watch of
d2lmini.train finds data and weights that are not where they should be."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import gpu_check  # noqa: E402

CELLS = ["""\
import torch, d2lmini
X, y = torch.randn(64, 2), torch.randn(64, 1)
net = torch.nn.Linear(2, 1)
loss = torch.nn.MSELoss(reduction="none")
""", """\
d2lmini.train(net, loss, torch.optim.SGD(net.parameters(), lr=0.1), d2lmini.Batches(X, y, 16),
              2, progress=False)
"""]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the check runs")
@pytest.mark.timeout(120)
def test_without_cuda_it_says_so_and_exits_0():
    result = subprocess.run([sys.executable, "benchmarks/gpu_check.py"], cwd=ROOT,
                            capture_output=True, text=True, timeout=100)
    assert result.returncode == 0, result.stderr
    assert "no CUDA here" in result.stdout and "nothing to check" in result.stdout


@pytest.mark.timeout(180)
def test_the_watch_finds_minibatches_and_weights_off_the_device_and_passes_them_on_it(tmp_path):
    notebook = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=list(map(nbformat.v4.new_code_cell, CELLS))),
                   notebook)
    # expecting the GPU, the CPU tensors of this notebook are found: a check that can fail
    _, errors, found = gpu_check.check_chapter(notebook, device="cuda")
    assert not errors and found["runs"] == 2
    assert any("minibatches are cut from tensors on cpu" in p for p in found["problems"])
    assert any("weights are not all on the GPU" in p for p in found["problems"])
    assert found["weights elsewhere"] == ["net"]
    # expecting the CPU, where everything is: nothing found
    _, errors, found = gpu_check.check_chapter(notebook, device="cpu")
    assert not errors and found == {"runs": 2, "problems": [], "weights elsewhere": []}
