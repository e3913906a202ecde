"""Exercise checkers: run the learner's function on random inputs, answer in one line."""

import copy
from collections.abc import Callable

import torch

from . import scratch

SOLVED = "✓ solved"  # text symbols (U+2713, U+2717), not emoji, which need an emoji font
NOT_SOLVED = "✗ not solved yet"


def report(ok: bool, message: str, fix: str = "the function above") -> bool:
    """Print one line, the verdict in words and a symbol, and return ok (a cell may assert it).

    An unsolved exercise reads "✗ not solved yet: <message> — fix <fix> and run this cell
    again", so that on Run All it looks like work to do, not like a broken notebook.
    """
    if ok:
        print(f"{SOLVED}: {message}")
    else:
        print(f"{NOT_SOLVED}: {message} — fix {fix} and run this cell again")
    return ok


def compare(your_fn: Callable, reference: Callable, make_args: Callable[[torch.Generator], tuple],
            name: str, trials: int = 5, atol: float = 1e-5) -> bool:
    """Check your_fn(*args) against reference(*args) on `trials` random argument tuples."""
    for trial in range(trials):
        args = make_args(torch.Generator().manual_seed(trial))
        try:
            got = your_fn(*[_copy(a) for a in args])
        except Exception as error:
            return report(False, f"{name} raised {type(error).__name__}: {error}")
        want = reference(*args)
        problem = _difference(got, want, args, atol)
        if problem:
            return report(False, f"{name}: {problem}")
    return report(True, f"{name} agrees with the reference on {trials} random inputs")


def squared_loss(your_fn: Callable) -> bool:
    """Check a squared_loss(y_hat, y) that returns half the squared error per example."""
    def make_args(gen):
        n = int(torch.randint(2, 20, (1,), generator=gen))
        return torch.randn(n, 1, generator=gen), torch.randn(n, generator=gen)
    return compare(your_fn, scratch.squared_loss, make_args, "squared_loss")


def linreg(your_fn: Callable) -> bool:
    """Check a linreg(X, w, b) that returns X @ w + b."""
    def make_args(gen):
        n, d = (int(v) for v in torch.randint(1, 10, (2,), generator=gen))
        return (torch.randn(n, d, generator=gen), torch.randn(d, 1, generator=gen),
                torch.randn(1, generator=gen))
    return compare(your_fn, scratch.linreg, make_args, "linreg")


def sgd(your_fn: Callable) -> bool:
    """Check an sgd(params, lr, batch_size) that updates in place and zeroes the gradients."""
    for trial in range(5):
        gen = torch.Generator().manual_seed(trial)
        params = [torch.randn(3, 1, generator=gen).requires_grad_(),
                  torch.randn(1, generator=gen).requires_grad_()]
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen)
        want = [(p - 0.1 * p.grad / 4).detach() for p in params]
        try:
            returned = your_fn(params, 0.1, 4)
        except Exception as error:
            return report(False, f"sgd raised {type(error).__name__}: {error}{_sgd_hint(error)}")
        del returned  # whatever sgd returns is ignored: the parameters are what count
        for p, w in zip(params, want):
            if not torch.allclose(p.detach(), w, atol=1e-6):
                return report(False, "sgd: the parameters are not param - lr * grad / batch_size "
                                     "(update them in place, e.g. `param -= ...`)")
            if p.grad is not None and p.grad.abs().sum() != 0:
                return report(False, "sgd: the gradients were not zeroed (call param.grad.zero_())")
    return report(True, "sgd updates in place and zeroes the gradients")


def _sgd_hint(error: Exception) -> str:
    """What usually causes this error in a learner's sgd."""
    if "leaf Variable" in str(error):
        return " (update the parameters under `with torch.no_grad():`)"
    if "NoneType" in str(error):
        return (" (`param = param - ...` makes a new tensor without a gradient; "
                "update in place with `param -= ...`)")
    return ""


def softmax(your_fn: Callable) -> bool:
    """Check a softmax(X) whose rows are probabilities, even for logits of +-1000."""
    def make_args(gen):
        n, k = (int(v) for v in torch.randint(2, 10, (2,), generator=gen))
        return (torch.randn(n, k, generator=gen) * 1000,)
    return compare(your_fn, scratch.softmax, make_args, "softmax")


def cross_entropy(your_fn: Callable) -> bool:
    """Check a cross_entropy(y_hat, y) that returns -log of each true-class probability."""
    def make_args(gen):
        n, k = (int(v) for v in torch.randint(2, 10, (2,), generator=gen))
        return (torch.rand(n, k, generator=gen).softmax(dim=1),
                torch.randint(0, k, (n,), generator=gen))
    return compare(your_fn, scratch.cross_entropy, make_args, "cross_entropy")


def accuracy(your_fn: Callable) -> bool:
    """Check an accuracy(y_hat, y) that returns the fraction of correct predictions."""
    def make_args(gen):
        n, k = (int(v) for v in torch.randint(2, 30, (2,), generator=gen))
        return torch.randn(n, k, generator=gen), torch.randint(0, k, (n,), generator=gen)

    def reference(y_hat, y):
        return torch.tensor(float((y_hat.argmax(dim=1) == y).float().mean()))

    def yours(y_hat, y):
        result = your_fn(y_hat, y)
        return torch.as_tensor(float(result)) if isinstance(result, (int, float)) else result
    return compare(yours, reference, make_args, "accuracy")


def huber_loss(your_fn: Callable) -> bool:
    """Check a huber_loss(y_hat, y, delta) that returns the Huber loss of each example."""
    def make_args(gen):
        n = int(torch.randint(2, 20, (1,), generator=gen))
        delta = 0.5 + float(torch.rand(1, generator=gen)) * 1.5
        # spread 3: some errors fall below delta, some above, so both branches are tested
        return 3 * torch.randn(n, 1, generator=gen), 3 * torch.randn(n, generator=gen), delta

    def reference(y_hat, y, delta):
        return torch.nn.functional.huber_loss(y_hat, y.reshape(y_hat.shape), reduction="none",
                                              delta=delta)
    return compare(your_fn, reference, make_args, "huber_loss")


def train_step(your_fn: Callable) -> bool:
    """Check a train_step(net, loss, optimizer, X, y) that makes one optimizer step and returns
    the loss: zero_grad(), backward(), step(), with gradients left over from an earlier step."""
    for trial in range(3):
        gen = torch.Generator().manual_seed(trial)
        X, y = torch.randn(8, 3, generator=gen), torch.randn(8, 1, generator=gen)
        net = torch.nn.Sequential(torch.nn.Linear(3, 1))
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))
                p.grad = torch.randn(p.shape, generator=gen)  # left over from an earlier step
        before = [p.detach().clone() for p in net.parameters()]
        want, want_loss = _sgd_step(net, X, y, zero=True)
        stale, _ = _sgd_step(net, X, y, zero=False)
        loss = torch.nn.HuberLoss()
        try:
            returned = your_fn(net, loss, torch.optim.SGD(net.parameters(), lr=0.1), X, y)
        except Exception as error:
            hint = (" (the optimizer steps: optimizer.step(), not l.step())"
                    if "step" in str(error) else "")
            return report(False, f"train_step raised {type(error).__name__}: {error}{hint}")
        got = [p.detach() for p in net.parameters()]
        if all(torch.equal(g, b) for g, b in zip(got, before)):
            return report(False, "train_step: the parameters did not change (call "
                                 "optimizer.zero_grad(), then l.backward(), then optimizer.step())")
        if _all_close(got, stale):
            return report(False, "train_step: the step used stale gradients too "
                                 "(call optimizer.zero_grad() before l.backward())")
        if not _all_close(got, want):
            return report(False, "train_step: the parameters differ from one SGD step on "
                                 "loss(net(X), y) (zero_grad, backward, step, in that order)")
        value = returned.detach() if isinstance(returned, torch.Tensor) else returned
        try:
            ok = value is not None and abs(float(value) - want_loss) < 1e-5
        except (TypeError, ValueError, RuntimeError):
            ok = False
        if not ok:
            return report(False, "train_step steps correctly but does not return the loss "
                                 "(return l, the loss before the step)")
    return report(True, "train_step clears old gradients, backpropagates and steps")


def _sgd_step(net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor,
              zero: bool) -> tuple[list[torch.Tensor], float]:
    """The parameters after one SGD step (lr 0.1, Huber loss) on a copy of net; and the loss."""
    stale = [p.grad.clone() for p in net.parameters()]
    net = copy.deepcopy(net)  # deepcopy leaves the gradients behind: put them back
    for p, grad in zip(net.parameters(), stale):
        p.grad = grad
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    if zero:
        optimizer.zero_grad()
    l = torch.nn.HuberLoss()(net(X), y)
    l.backward()
    optimizer.step()
    return [p.detach() for p in net.parameters()], l.item()


def _all_close(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a, b))


def weight_grad(your_fn: Callable) -> bool:
    """Check a weight_grad(net, X, y) that returns the gradient of nn.MSELoss()(net(X), y)
    with respect to net[0].weight, when net may hold gradients from an earlier backward."""
    for trial in range(3):
        gen = torch.Generator().manual_seed(trial)
        n, d = int(torch.randint(2, 20, (1,), generator=gen)), 2 + trial
        X, y = torch.randn(n, d, generator=gen), torch.randn(n, 1, generator=gen)
        net = torch.nn.Sequential(torch.nn.Linear(d, 1))
        stale = torch.randn(1, d, generator=gen)
        net[0].weight.grad = stale.clone() if trial else None  # trial 0: a fresh net
        want = torch.autograd.grad(torch.nn.functional.mse_loss(net(X), y), net[0].weight)[0]
        try:
            got = your_fn(net, X, y)
        except Exception as error:
            return report(False, f"weight_grad raised {type(error).__name__}: {error}")
        if isinstance(got, torch.Tensor) and got.shape == want.shape and torch.allclose(
                got.float(), want + stale, atol=1e-5) and trial:
            return report(False, "weight_grad: the gradient includes one left over from an "
                                 "earlier backward (call net.zero_grad() first)")
        problem = _difference(got, want, (), 1e-5)
        if problem:
            return report(False, f"weight_grad: {problem}")
    return report(True, "weight_grad gives the gradient of the weight, shape (1, d)")


def _copy(value):
    """A copy of a tensor argument, so the learner's function cannot change the reference's."""
    return value.clone() if isinstance(value, torch.Tensor) else value


def _difference(got, want: torch.Tensor, args: tuple, atol: float) -> str | None:
    """What is wrong with got compared with want, in words, or None when they agree."""
    if got is None:
        return "returned None: did you forget `return`?"
    if not isinstance(got, torch.Tensor):
        return f"returned a {type(got).__name__}, expected a tensor"
    if got.shape != want.shape:
        hint = ""
        if got.dim() == 2 and got.shape[0] == got.shape[1] and got.shape[0] > 1:
            hint = (": a (n, 1) minus an (n,) tensor broadcasts to (n, n); "
                    "reshape one like the other first")
        return f"returned shape {tuple(got.shape)}, expected {tuple(want.shape)}{hint}"
    if not torch.allclose(got.float(), want.float(), atol=atol, rtol=1e-4):
        i = int((got - want).abs().argmax())
        ratio = (got.flatten()[i] / want.flatten()[i]).item() if want.flatten()[i] != 0 else None
        hint = f" (off by a factor {ratio:.3g})" if ratio and abs(ratio - 1) > 0.01 else ""
        return (f"value {got.flatten()[i].item():.4g} where {want.flatten()[i].item():.4g} "
                f"was expected{hint}")
    return None
