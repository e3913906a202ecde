"""d2lmini.optim: each from-scratch optimizer follows torch.optim's trajectory."""

import inspect
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from code_equality import difference, notebook_functions
from torch import nn

import d2lmini
from d2lmini import optim

NAMES = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam"]

SETTINGS = {  # several hyperparameter settings per optimizer, defaults first
    "SGD": [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
            dict(lr=0.1, momentum=0.5, weight_decay=0.05)],
    "Adagrad": [{}, dict(lr=0.2), dict(lr=0.1, eps=1e-6, weight_decay=0.05)],
    "RMSprop": [{}, dict(lr=0.003, alpha=0.9), dict(lr=0.001, alpha=0.5, eps=1e-4,
                                                    weight_decay=0.05)],
    "Adadelta": [{}, dict(lr=0.5, rho=0.5, eps=1e-4), dict(rho=0.99, weight_decay=0.05)],
    "Adam": [{}, dict(lr=0.01, betas=(0.8, 0.99)), dict(lr=0.01, betas=(0.5, 0.9), eps=1e-6),
             dict(lr=0.01, weight_decay=0.1)],
    "AdamW": [{}, dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, betas=(0.5, 0.9), eps=1e-6,
                                                        weight_decay=0)],
    "NAdam": [{}, dict(lr=0.01, betas=(0.8, 0.99)), dict(lr=0.01, momentum_decay=0.01),
              dict(lr=0.005, eps=1e-6, weight_decay=0.05)],
}
CASES = [(name, kw) for name in NAMES for kw in SETTINGS[name]]
# Settings that make the steps sign-like (no momentum, a short memory beta2 or alpha, a large lr)
# are left out: there a 1-ulp change in one initial weight moves torch's own trajectory by 1e-5.


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: a second thread only waits for a busy core (10x slower on a shared one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@contextmanager
def float64_default():
    """torch keeps NAdam's running product of momenta in the default dtype: make it float64."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def problem(seed=0):
    """A small float64 two-layer net on fixed data: its parameters, one unused, and a loss."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(32, 5, generator=gen, dtype=torch.float64)
    y = torch.randn(32, 1, generator=gen, dtype=torch.float64)
    shapes = [(5, 8), (8,), (8, 1), (1,), (3,)]  # the last one is never used: its grad is None
    params = [torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_() for s in shapes]

    def loss():
        W1, b1, W2, b2, _ = params
        return ((torch.tanh(X @ W1 + b1) @ W2 + b2 - y) ** 2).mean()
    return params, loss


def flat(params):
    return torch.cat([p.detach().flatten() for p in params])


def race(make_ours, make_theirs, steps=100, groups=False, schedule=False):
    """Both optimizers' paths (parameters after each step) side by side on copies of problem().

    make_*(params) makes an optimizer; groups: two param groups, the second with lr 0.003;
    schedule: a StepLR scheduler halves lr every 10 steps. Returns the paths and optimizers.
    """
    problems = [problem(), problem()]
    paths, opts, scheds = ([], []), [], []
    with float64_default():
        for make, (params, _) in zip((make_ours, make_theirs), problems):
            opts.append(make([{"params": params[:2]}, {"params": params[2:], "lr": 0.003}]
                             if groups else params))
            if schedule:
                scheds.append(torch.optim.lr_scheduler.StepLR(opts[-1], step_size=10, gamma=0.5))
        for _ in range(steps):
            for opt in opts:
                opt.zero_grad()
            sum(loss() for _, loss in problems).backward()  # one backward pass for both
            for opt in opts:
                opt.step()
            for sched in scheds:
                sched.step()
            for path, (params, _) in zip(paths, problems):
                path.append(flat(params))
    return torch.stack(paths[0]), torch.stack(paths[1]), opts


def largest_difference(name, kw, groups=False):
    ours, theirs, (opt, _) = race(lambda ps: getattr(optim, name)(ps, **kw),
                                  lambda ps: getattr(torch.optim, name)(ps, **kw), groups=groups)
    start = flat(problem()[0])
    assert (theirs[-1, :-3] - start[:-3]).abs().max() > 0.01, "the test problem must move"
    assert torch.equal(ours[:, -3:], start[-3:].expand(100, 3)), "a grad-less param moved"
    assert opt.param_groups[-1]["params"][-1] not in opt.state, "a grad-less param got state"
    return (ours - theirs).abs().max().item()


@pytest.mark.parametrize("name, kw", CASES, ids=[f"{n}-{kw}" for n, kw in CASES])
def test_same_trajectory_as_torch_for_100_steps(name, kw):
    assert largest_difference(name, kw) < 1e-10


@pytest.mark.parametrize("name", ["SGD", "Adam", "NAdam"])
def test_param_groups_with_their_own_lr_match_torch(name):
    assert largest_difference(name, SETTINGS[name][1], groups=True) < 1e-10


@pytest.mark.parametrize("name", NAMES)
def test_names_and_defaults_are_torchs(name):
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    for arg, param in ours.items():
        if arg == "lr" and name == "SGD":  # d2lmini asks for SGD's lr; torch's default is 1e-3
            assert param.default is inspect.Parameter.empty
        else:
            assert arg in theirs and param.default == theirs[arg].default, arg
    assert issubclass(getattr(optim, name), torch.optim.Optimizer)


def test_lr_scheduler_drives_it_as_torchs():
    ours, theirs, (opt, _) = race(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
                                  schedule=True)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 10)
    assert (ours - theirs).abs().max() < 1e-10


def test_state_dict_resumes_the_same_trajectory():
    params, loss = problem()
    opt = optim.NAdam(params, lr=0.01)
    for step in range(20):
        if step == 10:  # a fresh optimizer, loaded from the state after 10 steps
            saved = opt.state_dict()
            opt = optim.NAdam(params, lr=0.01)
            opt.load_state_dict(saved)
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert opt.state[params[0]]["t"] == 20
    straight, _, _ = race(lambda ps: optim.NAdam(ps, lr=0.01), lambda ps: optim.NAdam(ps, lr=0.01),
                          steps=20)
    assert torch.equal(flat(params), straight[-1])


def test_zero_grad_forgets_the_gradients():
    params, loss = problem()
    opt = optim.Adam(params)
    loss().backward()
    opt.zero_grad()
    assert all(p.grad is None for p in params)  # torch's default: set_to_none=True
    loss().backward()
    opt.zero_grad(set_to_none=False)
    assert all(torch.equal(p.grad, torch.zeros_like(p)) for p in params[:4])


@pytest.mark.parametrize("make, message", [
    (lambda ps: optim.SGD(ps, lr=0), r"lr must be a finite number > 0"),
    (lambda ps: optim.SGD(ps, lr=-0.1), r"lr must be a finite number > 0"),
    (lambda ps: optim.Adam(ps, lr=float("nan")), r"lr must be a finite number > 0.*0\.001"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), r"momentum must be a finite number >= 0"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), r"nesterov=True needs a momentum > 0"),
    (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1), r"weight_decay must be .* >= 0"),
    (lambda ps: optim.AdamW(ps, weight_decay=-0.01), r"weight_decay must be .* >= 0"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), r"betas\[0\] \(beta1\) must be in \[0, 1\)"),
    (lambda ps: optim.NAdam(ps, betas=(0.9, -0.1)), r"betas\[1\] \(beta2\) must be in \[0, 1\)"),
    (lambda ps: optim.Adam(ps, betas=0.9), r"betas must be a pair"),
    (lambda ps: optim.Adam(ps, eps=0), r"eps must be a finite number > 0"),
    (lambda ps: optim.Adagrad(ps, eps=-1e-10), r"eps must be a finite number > 0"),
    (lambda ps: optim.RMSprop(ps, alpha=1.5), r"alpha must be in \[0, 1\]"),
    (lambda ps: optim.Adadelta(ps, rho=-0.1), r"rho must be in \[0, 1\]"),
    (lambda ps: optim.Adadelta(ps, lr=True), r"lr must be a finite number > 0"),
    (lambda ps: optim.NAdam(ps, momentum_decay=-1), r"momentum_decay must be .* >= 0"),
])
def test_bad_hyperparameters_name_the_argument_and_its_range(make, message):
    with pytest.raises(ValueError, match=message):
        make(problem()[0])


def test_edge_values_are_accepted():
    params = problem()[0]
    optim.SGD(params, lr=0.1, momentum=0)
    optim.Adam(params, betas=(0, 0))
    optim.RMSprop(params, alpha=1)
    optim.Adadelta(params, rho=0)


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5),
                                  lambda ps: optim.Adam(ps, lr=0.1)])
def test_works_inside_d2lmini_train(make):
    d2lmini.set_seed(0)
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 500)
    net = nn.Linear(2, 1).to(X.device)
    history = d2lmini.train(net, d2lmini.squared_loss, make(net.parameters()),
                            d2lmini.Batches(X, y, 10), 3, progress=False)
    assert not history.diverged and history.epoch_loss[-1] < 1e-3 < history.epoch_loss[0]
    assert torch.allclose(net.weight.detach().cpu(), torch.tensor([[2.0, -3.4]]), atol=0.05)


# --- the loop every optimizer shares is chapter 4's, and it behaves as torch's step() does ----

def test_the_optimizer_loop_is_the_one_chapter_4_writes():
    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "04_optimizers.ipynb"
    written = {name: source for _, name, source in notebook_functions(notebook)}
    for method in ("__init__", "step"):
        assert f"Optimizer.{method}" in written, f"chapter 4 must write Optimizer.{method}"
        package = inspect.getsource(getattr(optim.Optimizer, method))
        diff = difference(written[f"Optimizer.{method}"], package)
        assert diff is None, f"chapter 4's Optimizer.{method} differs from d2lmini's:\n{diff}"
    # and the notebook's optimizers are built on it, not on the package's
    assert "class SGD(Optimizer):" in notebook.read_text()


def test_step_skips_parameters_without_gradient_and_records_no_graph():
    w, frozen = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = optim.SGD([w, frozen], lr=0.5, momentum=0.9)
    (w ** 2).sum().backward()
    assert frozen.grad is None
    opt.step()
    assert torch.equal(w.detach(), torch.zeros(3)) and torch.equal(frozen.detach(), torch.ones(2))
    assert w.grad_fn is None and w.is_leaf, "the update happened under no_grad"
    assert set(opt.state[w]) == {"v"} and not opt.state[frozen]


def test_step_returns_the_closures_loss_and_reads_each_groups_own_lr():
    a, b = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.25}], lr=0.5)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)  # adds "initial_lr"

    def closure():
        opt.zero_grad()
        loss = (a + b).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 2.0
    assert a.item() == 0.5 and b.item() == 0.75
    scheduler.step()  # "initial_lr", in each group, is not a hyperparameter of update()
    opt.step(closure)
    assert a.item() == pytest.approx(0.45) and b.item() == pytest.approx(0.725)


# --- sparse gradients: torch's result where torch.optim takes them, else torch's words -------

def embedding_race(make, steps=3):
    """A sparse nn.Embedding (float64) after `steps` steps of make(params), and the error."""
    torch.manual_seed(0)
    emb = nn.Embedding(10, 3, sparse=True).double()
    opt = make(emb.parameters())
    try:
        for _ in range(steps):
            opt.zero_grad()
            emb(torch.tensor([1, 2, 2, 7])).pow(2).sum().backward()
            opt.step()
    except (RuntimeError, ValueError) as error:
        return emb.weight.detach(), error
    return emb.weight.detach(), None


SPARSE_CASES = [  # (name, hyperparameters, whether d2lmini takes the sparse gradient)
    ("SGD", dict(lr=0.1), True), ("SGD", dict(lr=0.1, momentum=0.9), True),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True), True),
    ("SGD", dict(lr=0.1, weight_decay=0.1), False),  # torch fails with an internal error
    ("Adagrad", {}, False), ("RMSprop", {}, False), ("Adadelta", {}, False), ("Adam", {}, False),
    ("AdamW", {}, False), ("NAdam", {}, False),
]


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # torch's Adagrad, sparse
@pytest.mark.parametrize("name, kw, takes", SPARSE_CASES,
                         ids=[f"{n}-{kw}" for n, kw, _ in SPARSE_CASES])
def test_sparse_gradients_match_torch_or_are_refused_in_torchs_words(name, kw, takes):
    start = embedding_race(lambda ps: optim.SGD(ps, lr=1), steps=0)[0]
    ours, error = embedding_race(lambda ps: getattr(optim, name)(ps, **kw))
    theirs, torch_error = embedding_race(lambda ps: getattr(torch.optim, name)(ps, **kw))
    if takes:
        assert error is None and torch_error is None
        assert not torch.equal(ours, start), "the embedding must move"
        assert torch.allclose(ours, theirs, rtol=0, atol=1e-12)
    else:
        assert isinstance(error, ValueError), error
        assert f"{name} does not support sparse gradients" in str(error)
        assert "param_groups[0]['params'][0] (shape (10, 3))" in str(error)
        assert ("weight_decay=0" if name == "SGD" else "sparse=False") in str(error)
        assert torch.equal(ours, start), "refused before any change"
        if name not in ("SGD", "Adagrad"):  # torch's Adagrad takes them: use it (the message)
            assert "does not support sparse gradients" in str(torch_error)


# --- hyperparameters in a param group are checked as __init__'s are ---------------------------

@pytest.mark.parametrize("name, kw, bad, message", [
    ("Adam", dict(lr=0.01), dict(betas=(1.0, 0.999)), r"betas\[0\] \(beta1\) must be in \[0, 1\)"),
    ("AdamW", {}, dict(betas=(0.9,)), r"betas must be a pair"),
    ("NAdam", {}, dict(momentum_decay=-1), r"momentum_decay must be .* >= 0"),
    ("SGD", dict(lr=0.1), dict(lr=-1), r"lr must be a finite number > 0"),
    ("SGD", dict(lr=0.1), dict(momentum=float("nan")), r"momentum must be a finite number >= 0"),
    ("SGD", dict(lr=0.1, momentum=0.9), dict(nesterov=True, momentum=0),
     r"nesterov=True needs a momentum > 0"),
    ("Adagrad", {}, dict(eps=0), r"eps must be a finite number > 0"),
    ("RMSprop", {}, dict(alpha=2), r"alpha must be in \[0, 1\]"),
    ("Adadelta", {}, dict(rho=-0.5), r"rho must be in \[0, 1\]"),
    ("Adam", {}, dict(weight_decay=-0.1), r"weight_decay must be .* >= 0"),
])
def test_a_bad_hyperparameter_in_a_param_group_is_refused(name, kw, bad, message):
    params = problem()[0]
    with pytest.raises(ValueError, match="param group 1: " + message):  # in __init__'s groups
        getattr(optim, name)([{"params": params[:2]}, {"params": params[2:], **bad}], **kw)
    opt = getattr(optim, name)(params[:2], **kw)
    with pytest.raises(ValueError, match="param group 1: " + message):  # added later
        opt.add_param_group({"params": params[2:], **bad})
    assert len(opt.param_groups) == 1


def test_good_param_groups_are_stored_checked_and_a_scheduler_may_change_lr():
    params = problem()[0]
    opt = optim.Adam([{"params": params[:2], "betas": [0.5, 0.9]}, {"params": params[2:]}],
                     lr=0.01)
    assert opt.param_groups[0]["betas"] == (0.5, 0.9) and opt.param_groups[1]["lr"] == 0.01
    opt.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "lr": 1})
    assert opt.param_groups[2]["lr"] == 1.0 and opt.param_groups[2]["eps"] == 1e-8
    torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.0)  # lr 0: a scheduler's business
    assert opt.param_groups[0]["lr"] == 0
