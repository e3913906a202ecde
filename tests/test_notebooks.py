"""The chapters as notebooks: the functions they write from scratch are the package's, and every
code cell can be run a second time after Run All (as learners do)."""

import inspect
import textwrap
from pathlib import Path

import nbclient
import nbformat
import pytest
from code_equality import difference, notebook_functions
from nbclient.exceptions import CellExecutionError

import d2lmini

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))

# what each chapter must write itself, in code cells (so the identity test cannot pass vacuously)
WRITTEN_IN = {
    "01_linear_regression_scratch": {"synthetic_data", "data_iter", "linreg", "squared_loss",
                                     "sgd"},
    "03_softmax_regression": {"softmax", "cross_entropy", "accuracy"},
    "04_optimizers": {f"{name}.update" for name in ("SGD", "Adagrad", "RMSprop", "Adadelta",
                                                     "Adam", "AdamW", "NAdam")},
    "05_regularization": {"dropout_layer", "l2_penalty", "l1_penalty"},
    "06_backpropagation": {f"Value.{name}" for name, value in vars(d2lmini.autograd.Value).items()
                           if inspect.isfunction(value) and value.__name__ == name},  # no alias
}


# --- (a) a from-scratch function in a notebook is the package's function (contract C1) ----------

def _package_function(name: str):
    """d2lmini's public function called name, the update rule of a d2lmini.optim optimizer
    ("Adam.update": chapter 4 writes each optimizer's update as the package has it), or a
    method of the scalar engine ("Value.backward": chapter 6 writes the class), or None."""
    if "." in name:
        owner, method = name.split(".", 1)
        if owner == "Value":
            value = vars(d2lmini.autograd.Value).get(method)
            return value if inspect.isfunction(value) else None
        optimizer = getattr(d2lmini.optim, owner, None) if owner in d2lmini.optim.__all__ else None
        return optimizer.__dict__.get(method) if method == "update" and optimizer else None
    if name not in d2lmini.__all__:
        return None
    value = getattr(d2lmini, name)
    return value if inspect.isfunction(value) else None


def test_difference_fails_when_the_bodies_differ():
    notebook = "def squared_loss(y_hat, y):\n    return (y_hat - y) ** 2 / 2\n"
    package = ('def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:\n'
               '    """Half the squared error."""\n'
               '    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2\n')
    diff = difference(notebook, package)
    assert diff is not None
    assert "-    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2" in diff
    assert "+    return (y_hat - y) ** 2 / 2" in diff


def test_difference_fails_on_other_parameters_or_defaults():
    body = "    return X @ w + b\n"
    assert difference("def linreg(X, w, b):\n" + body, "def linreg(X, w, c):\n" + body)
    assert difference("def linreg(X, w, b=0):\n" + body, "def linreg(X, w, b=1):\n" + body)
    assert difference("def linreg(X, w, b):\n" + body, "def model(X, w, b):\n" + body)


def test_difference_ignores_docstring_annotations_checks_and_comments():
    notebook = '''
def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size  # one step
            param.grad.zero_()
'''
    package = '''
def sgd(params: Iterable[torch.Tensor], lr: float, batch_size: int) -> None:
    """One minibatch SGD step, in place; zeroes the gradients."""
    params = list(params)
    lr = check_number(lr, "lr", 0, low_open=True, hint=" (try 0.03)")
    check_has_grads(params)
    batch_size = check_positive_int(batch_size, "batch_size")
    with torch.no_grad():
        for param in params:
            validate.check_finite(param.grad)
            param -= lr * param.grad / batch_size
            param.grad.zero_()
'''
    assert difference(notebook, package) is None


def test_difference_keeps_assignments_that_are_not_leading_or_not_to_parameters():
    notebook = "def f(x, device=None):\n    y = x + 1\n    return y\n"
    later = "def f(x, device=None):\n    y = x + 1\n    x = x * 2\n    return y\n"
    other = "def f(x, device=None):\n    z = 0\n    y = x + 1\n    return y\n"
    leading = "def f(x, device=None):\n    device = device or 'cpu'\n    y = x + 1\n    return y\n"
    assert difference(notebook, later) and difference(notebook, other)
    assert difference(notebook, leading) is None
    in_place = "def f(x, device=None):\n    x *= 2\n    y = x + 1\n    return y\n"
    assert difference(notebook, in_place)  # an in-place update is kept, even leading


def test_difference_keeps_a_docstring_in_the_notebook():
    package = "def linreg(X, w, b):\n    return X @ w + b\n"
    notebook = 'def linreg(X, w, b):\n    """The model."""\n    return X @ w + b\n'
    assert difference(notebook, package)


def test_an_optimizer_class_is_compared_by_its_update_rule(tmp_path):
    package = inspect.getsource(d2lmini.optim.Adagrad.update)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "class Adagrad(d2lmini.optim.Optimizer):\n" + package)])
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook, path)
    [(index, name, source)] = notebook_functions(path)
    assert name == "Adagrad.update" and _package_function(name) is d2lmini.optim.Adagrad.update
    assert difference(source, package) is None
    assert difference(source.replace("s.sqrt() + eps", "(s + eps).sqrt()"), package)
    assert _package_function("Adagrad.__init__") is None
    assert _package_function("Helper.update") is None


def test_a_method_added_to_a_class_in_a_later_cell_is_compared_as_the_classs(tmp_path):
    package = inspect.getsource(d2lmini.autograd.Value.tanh)
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("class Value:\n    pass"),
        nbformat.v4.new_code_cell("@d2lmini.add_to_class(Value)\n" + textwrap.dedent(package))])
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook, path)
    [(index, name, source)] = notebook_functions(path)
    assert (index, name) == (1, "Value.tanh")
    assert _package_function(name) is d2lmini.autograd.Value.tanh
    assert difference(source, package) is None
    assert difference(source.replace("1 - t * t", "t * (1 - t)"), package)
    assert _package_function("Value.__radd__") is d2lmini.autograd.Value.__add__  # an alias
    assert "Value.__radd__" not in WRITTEN_IN["06_backpropagation"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_functions_written_in_a_notebook_are_the_packages(path):
    defined = notebook_functions(path)
    missing = WRITTEN_IN.get(path.stem, set()) - {name for _, name, _ in defined}
    assert not missing, f"{path.name} must write these in its cells: {sorted(missing)}"
    problems = []
    for index, name, source in defined:
        function = _package_function(name)
        if function is None:
            continue
        diff = difference(source, inspect.getsource(function))
        if diff:
            where = f"d2lmini.{function.__module__.split('.', 1)[1]}.{name}" if "." in name \
                else f"d2lmini.{name}"
            problems.append(f"cell {index}: `{name}` differs from {where}:\n{diff}")
    assert not problems, f"{path.name}\n" + "\n\n".join(problems)


# --- (b) after Run All, every code cell runs again without an error ------------------------------

def cells_failing_a_second_run(path: Path) -> list[str]:
    """Run All in one kernel, then run each code cell once more, from the last to the first.

    Going backwards, each cell runs again in the state that Run All (and the cells below it)
    left, as when a learner scrolls up and re-runs a cell: a cell that relies on a name that a
    later cell rebinds, or on state that it consumed itself, fails here. Returns one line per
    failing cell: its index, its first line and the error.
    """
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    code = [(i, cell) for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    failed = []
    with client.setup_kernel():
        for index, cell in code:  # Run All: a failure here is a failure of the notebook itself
            client.execute_cell(cell, index)
        for index, cell in reversed(code):
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                failed.append(f"cell {index} ({first_line!r}): {error.ename}: {error.evalue}")
    return failed[::-1]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_cell_can_be_run_again_after_run_all(path):
    failed = cells_failing_a_second_run(path)
    assert not failed, f"{path.name}: cells that fail when run again:\n" + "\n".join(failed)


@pytest.mark.timeout(120)  # a kernel and four one-line cells, twice: a few seconds
def test_a_second_run_finds_rebound_names_and_consumed_state(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in [
        "lr = 0.03\nbatches = iter([1, 2])",
        "assert lr == 0.03  # relies on lr",
        "first = next(batches)\nsecond = next(batches)  # consumes what cell 0 made",
        "for lr in [0.1, 1.0]:  # a sweep that rebinds lr\n    pass",
    ]]
    path = tmp_path / "rerun.ipynb"
    nbformat.write(notebook, path)
    failed = cells_failing_a_second_run(path)
    assert [line.split(" (")[0] for line in failed] == ["cell 1", "cell 2"]
    assert "AssertionError" in failed[0] and "StopIteration" in failed[1]
