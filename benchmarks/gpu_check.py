"""Every chapter on a CUDA GPU: it runs top to bottom, and its models and minibatches live there.

    python benchmarks/gpu_check.py [notebooks/0N_name.ipynb ...]

On a machine without CUDA it says so and exits 0. With CUDA, for each chapter it
1. runs the chapter top to bottom in a fresh kernel, with a first cell added that watches
   d2lmini.train: at every run, each minibatch and the model's weights must be on the GPU, and
   minibatches must be cut from tensors already there (d2lmini.Batches over GPU tensors, or a
   DataLoader over a dataset of GPU tensors), not copied from the CPU batch by batch;
2. after the last cell, lists the weights (tensors with requires_grad=True, nn.Modules) that
   are not on the GPU;
3. prints the chapter's run time.
Then it times one epoch of chapter 3's softmax regression on the full Fashion-MNIST set (60,000
images, batch 256) on the GPU and on the CPU. It exits 1 if a chapter failed or a check did.
"""

import json
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
MARK = "gpu-check:"

# the added first cell: d2lmini.train's epochs, watched (cells run after it, so it wraps the
# function train() calls for each epoch, d2lmini.training.train_epoch)
WATCH = """\
import torch, d2lmini.training as _training
_gpu_check_problems, _gpu_check_runs, _gpu_check_device = [], [], "EXPECTED_DEVICE"

def _gpu_check_batches(batches, where):
    source = getattr(batches, "features", None)
    if source is None and isinstance(batches, torch.utils.data.DataLoader):
        source = next((t for t in getattr(batches.dataset, "tensors", ())), None)
        if source is None:
            kind = type(batches.dataset).__name__
            _gpu_check_problems.append(f"{where}: a DataLoader over a {kind} copies each "
                                       "minibatch from the CPU")
    if source is not None and source.device.type != _gpu_check_device:
        _gpu_check_problems.append(f"{where}: minibatches are cut from tensors on {source.device}")
    for X, y in batches:
        for name, t in (("X", X), ("y", y)):
            if isinstance(t, torch.Tensor) and t.device.type != _gpu_check_device:
                _gpu_check_problems.append(f"{where}: a minibatch's {name} is on {t.device}")
        yield X, y

def _gpu_check_epoch(history, net, loss, updater, batches, *args,
                     _epoch=_training.train_epoch, **kw):
    where = f"train() run {len(_gpu_check_runs) + 1}"
    _gpu_check_runs.append(where)
    weights = list(net.parameters()) if isinstance(net, torch.nn.Module) else []
    if isinstance(updater, torch.optim.Optimizer):
        weights += [w for group in updater.param_groups for w in group["params"]]
    if any(w.device.type != _gpu_check_device for w in weights):
        _gpu_check_problems.append(f"{where}: the model's weights are not all on the GPU")
    return _epoch(history, net, loss, updater, _gpu_check_batches(batches, where), *args, **kw)

_training.train_epoch = _gpu_check_epoch
"""
# the added last cell: weights left elsewhere, and what the watch found
REPORT = f"""\
import json as _json
_gpu_check_left = sorted(
    name for name, value in list(globals().items()) if not name.startswith("_") and (
        (isinstance(value, torch.Tensor) and value.requires_grad
         and value.device.type != _gpu_check_device)
        or (isinstance(value, torch.nn.Module) and any(
            p.device.type != _gpu_check_device for p in value.parameters()))))
print("{MARK}", _json.dumps({{"runs": len(_gpu_check_runs), "problems": _gpu_check_problems,
                             "weights elsewhere": _gpu_check_left}}))
"""


def check_chapter(path: Path, device: str = "cuda") -> tuple[float, list[str], dict]:
    """Run the chapter with the watch, expecting its data and models on `device` ("cuda");
    return (seconds, its errors, what the watch found)."""
    notebook = nbformat.read(path, as_version=4)
    watch = WATCH.replace("EXPECTED_DEVICE", device)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(watch))
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = NotebookClient(notebook, timeout=600, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    errors, found = [], {}
    for number, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                errors.append(f"cell {number}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and MARK in output.text:
                found = json.loads(output.text.split(MARK, 1)[1])
    return seconds, errors, found


def softmax_epoch(device: torch.device) -> float:
    """Seconds for one epoch of chapter 3's softmax regression on the full set, batch 256."""
    import d2lmini

    train_iter, _ = d2lmini.load_data_fashion_mnist(256, "full", flatten=True, device=device)
    net = torch.nn.Linear(784, 10).to(device)
    loss = torch.nn.CrossEntropyLoss(reduction="none")
    updater = torch.optim.SGD(net.parameters(), lr=0.1)
    d2lmini.train(net, loss, updater, train_iter, 1, progress=False)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    d2lmini.train(net, loss, updater, train_iter, 1, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(paths: list[str]) -> int:
    if not torch.cuda.is_available():
        print(f"no CUDA here (torch {torch.__version__}, torch.cuda.is_available() is False): "
              f"nothing to check. Run this on a machine with an NVIDIA GPU and a CUDA build of "
              f"PyTorch.")
        return 0
    print(f"CUDA: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    failed = False
    chapters = [Path(p).resolve() for p in paths] or sorted(
        (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for chapter in chapters:
        seconds, errors, found = check_chapter(chapter)
        bad = errors or not found or found["problems"] or found["weights elsewhere"]
        failed |= bool(bad)
        print(f"{chapter.stem}: {seconds:.1f} s, {'FAILED' if bad else 'ok'}: "
              f"{found.get('runs', '?')} train() runs watched")
        for line in errors + found.get("problems", [])[:10]:
            print(f"    {line}")
        if found.get("weights elsewhere"):
            print(f"    weights not on the GPU: {', '.join(found['weights elsewhere'])}")
    gpu, cpu = softmax_epoch(torch.device("cuda")), softmax_epoch(torch.device("cpu"))
    print(f"softmax regression, one epoch of 60,000 images at batch 256: GPU {gpu * 1e3:.0f} "
          f"ms, CPU {cpu * 1e3:.0f} ms ({cpu / gpu:.1f}x)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
