"""Exercise checkers: run the learner's function on random inputs, answer in one line."""

import copy
import math
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


# ---------------------------------------------------------------- chapter 4: optimizers

def _pair(got, name: str) -> str | None:
    """What is wrong with a returned pair of tensors, or None."""
    if not isinstance(got, tuple | list) or len(got) != 2:
        return f"{name} must return a pair (two values), got {type(got).__name__}"
    return None


def momentum_step(your_fn: Callable) -> bool:
    """Check a momentum_step(w, v, g, lr, momentum) -> (w, v): v = momentum v + g, w -= lr v."""
    for trial in range(5):
        gen = torch.Generator().manual_seed(trial)
        w, v, g = (torch.randn(4, generator=gen) for _ in range(3))
        lr, mu = 0.1 * (trial + 1), 0.9 - 0.1 * trial
        want_v = mu * v + g
        want = (w - lr * want_v, want_v)
        try:
            got = your_fn(w.clone(), v.clone(), g.clone(), lr, mu)
        except Exception as error:
            return report(False, f"momentum_step raised {type(error).__name__}: {error}")
        problem = _pair(got, "momentum_step")
        if problem:
            return report(False, problem)
        if _difference(got[1], want[1], (), 1e-5):
            if not _difference(got[1], mu * v + (1 - mu) * g, (), 1e-5):
                return report(False, "momentum_step: that v is the textbook average "
                                     "mu v + (1 - mu) g; torch's buffer is v = mu v + g")
            return report(False, f"momentum_step: the new v is wrong: "
                                 f"{_difference(got[1], want[1], (), 1e-5)}")
        if _difference(got[0], want[0], (), 1e-5):
            hint = (": step along the new velocity v, not the gradient g"
                    if not _difference(got[0], w - lr * g, (), 1e-5) else "")
            return report(False, f"momentum_step: the new w is wrong{hint}")
    return report(True, "momentum_step matches torch.optim.SGD's momentum on 5 random inputs")


def bias_correction(your_fn: Callable) -> bool:
    """Check a bias_correction(m, v, beta1, beta2, t) -> (m / (1 - beta1^t), v / (1 - beta2^t))."""
    for trial, t in enumerate([1, 2, 5, 10, 100]):
        gen = torch.Generator().manual_seed(trial)
        m, v = torch.randn(3, generator=gen), torch.rand(3, generator=gen)
        beta1, beta2 = 0.9, 0.999
        want = (m / (1 - beta1 ** t), v / (1 - beta2 ** t))
        try:
            got = your_fn(m.clone(), v.clone(), beta1, beta2, t)
        except Exception as error:
            return report(False, f"bias_correction raised {type(error).__name__}: {error}")
        problem = _pair(got, "bias_correction")
        if problem:
            return report(False, problem)
        for value, expected, which in zip(got, want, ("m_hat", "v_hat")):
            problem = _difference(value, expected, (), 1e-5)
            if problem:
                return report(False, f"bias_correction at step t={t}: {which}: {problem}"
                                     " (the correction depends on t)" * (t > 1))
    return report(True, "bias_correction gives m / (1 - beta1^t) and v / (1 - beta2^t)")


def lr_max(value, A: torch.Tensor) -> bool:
    """Check the largest stable learning rate of GD on (1/2) w^T A w: 2 / (largest eigenvalue)."""
    A = torch.as_tensor(A, dtype=torch.float64)
    want = 2 / torch.linalg.eigvalsh(A).max().item()
    try:
        got = float(value)
    except (TypeError, ValueError):
        return report(False, f"lr_max must be a number, got {type(value).__name__}",
                      fix="lr_max above")
    if abs(got - want) <= 1e-3 * want:
        return report(True, f"lr_max = {got:.4g}: GD converges below it and diverges above",
                      fix="lr_max above")
    hints = {2 / A.diagonal().max().item(): "use the largest eigenvalue of A, not its largest "
                                            "diagonal entry (torch.linalg.eigvalsh)",
             1 / torch.linalg.eigvalsh(A).max().item(): "off by a factor 2: GD is stable while "
                                                         "|1 - lr λ| < 1",
             2 / torch.linalg.eigvalsh(A).min().item(): "the steepest direction (the largest "
                                                         "eigenvalue) limits the learning rate"}
    hint = next((h for v, h in hints.items() if abs(got - v) <= 1e-3 * abs(v)), "")
    return report(False, f"lr_max = {got:.4g} is not the largest stable learning rate"
                         + (f": {hint}" if hint else ""), fix="lr_max above")


def _warmup_cosine(step: int, lr: float, warmup: int, total: int) -> float:
    """Linear warm-up lr (step + 1) / warmup, then a cosine from lr to 0 at step total."""
    if step < warmup:
        return lr * (step + 1) / warmup
    return lr * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2


def warmup_cosine(your_fn: Callable) -> bool:
    """Check a warmup_cosine(step, lr, warmup, total) schedule at every step 0..total."""
    for lr, warmup, total in [(0.1, 5, 50), (1.0, 10, 100), (3e-4, 1, 20)]:
        for step in range(total + 1):
            want = _warmup_cosine(step, lr, warmup, total)
            try:
                got = float(your_fn(step, lr, warmup, total))
            except Exception as error:
                return report(False, f"warmup_cosine raised {type(error).__name__}: {error}")
            if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9 * lr):
                hint = ""
                if step < warmup and math.isclose(got, lr * (1 + math.cos(
                        math.pi * step / total)) / 2, rel_tol=1e-6):
                    hint = ": warm up first, growing linearly over the first `warmup` steps"
                elif step >= warmup:
                    hint = ": the cosine starts at step `warmup` and lasts total - warmup steps"
                return report(False, f"warmup_cosine(step={step}, lr={lr:g}, warmup={warmup}, "
                                     f"total={total}) = {got:.4g}, expected {want:.4g}{hint}")
    return report(True, "warmup_cosine agrees at every step of 3 schedules")


# ---------------------------------------------------------------- chapter 5: regularization

def dropout_layer(your_fn: Callable) -> bool:
    """Check a dropout_layer(X, dropout) that zeroes each entry with probability dropout and
    scales the kept ones by 1 / (1 - dropout); dropout 1 gives zeros, dropout 0 gives X."""
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(100, 100, generator=gen) + 0.5  # no zeros, so a kept entry is never 0
    for p in [0.5, 0.2, 0.8, 0.0, 1.0]:
        try:
            with torch.random.fork_rng(devices=[]):  # leave the notebook's random numbers alone
                torch.manual_seed(0)
                got = your_fn(X.clone(), p)
        except Exception as error:
            hint = " (when dropout == 1, return torch.zeros_like(X))" if p == 1 else ""
            return report(False, f"dropout_layer(X, {p}) raised {type(error).__name__}: "
                                 f"{error}{hint}")
        if not isinstance(got, torch.Tensor) or got.shape != X.shape:
            return report(False, f"dropout_layer(X, {p}): {_difference(got, X, (), 0)}")
        if not torch.isfinite(got).all():
            return report(False, f"dropout_layer(X, {p}) gave nan or inf (when dropout == 1, "
                                 f"return torch.zeros_like(X): dividing by 1 - 1 = 0 fails)")
        kept = got != 0
        share = kept.float().mean().item()
        if abs(share - (1 - p)) > 0.03:
            return report(False, f"dropout_layer(X, {p}) kept {share:.0%} of the entries where "
                                 f"about {1 - p:.0%} was expected (keep each with probability "
                                 f"1 - dropout)")
        if p < 1 and not torch.allclose(got[kept], X[kept] / (1 - p), rtol=1e-5):
            unscaled = torch.allclose(got[kept], X[kept], rtol=1e-5)
            hint = (": divide the kept entries by 1 - dropout (inverted dropout), so the "
                    "expected output stays X") if unscaled else ""
            return report(False, f"dropout_layer(X, {p}): the kept entries are not "
                                 f"X / (1 - dropout){hint}")
    return report(True, "dropout_layer keeps each entry with probability 1 - dropout and "
                        "scales it by 1 / (1 - dropout)")


def l2_penalty(your_fn: Callable) -> bool:
    """Check an l2_penalty(w) that returns half the sum of the squares of w."""
    def make_args(gen):
        rows, cols = (int(v) for v in torch.randint(1, 8, (2,), generator=gen))
        return (torch.randn(rows, cols, generator=gen),)

    def reference(w):
        return (w ** 2).sum() / 2

    def yours(w):
        result = your_fn(w)
        return torch.as_tensor(float(result)) if isinstance(result, (int, float)) else result
    return compare(yours, reference, make_args, "l2_penalty")


def standardize(your_fn: Callable) -> bool:
    """Check a standardize(train, test) -> (train_scaled, test_scaled) that subtracts the
    training set's mean and divides by its standard deviation, for both sets."""
    gen = torch.Generator().manual_seed(0)
    train = torch.randn(200, 3, generator=gen) * torch.tensor([1.0, 10.0, 100.0]) + 5
    test = torch.randn(50, 3, generator=gen) * torch.tensor([1.0, 10.0, 100.0]) + 8  # shifted
    try:
        got = your_fn(train.clone(), test.clone())
    except Exception as error:
        return report(False, f"standardize raised {type(error).__name__}: {error}")
    if not (isinstance(got, tuple | list) and len(got) == 2
            and all(isinstance(t, torch.Tensor) for t in got)):
        return report(False, "standardize must return two tensors: (train_scaled, test_scaled)")
    if got[0].shape != train.shape or got[1].shape != test.shape:
        return report(False, f"standardize returned shapes {tuple(got[0].shape)} and "
                             f"{tuple(got[1].shape)}, expected {tuple(train.shape)} and "
                             f"{tuple(test.shape)} (statistics per column: dim=0)")

    def scaled(stats_from, unbiased):
        mean, std = stats_from.mean(dim=0), stats_from.std(dim=0, correction=int(unbiased))
        return (train - mean) / std, (test - mean) / std

    def matches(pair):
        return all(torch.allclose(g.float(), w, atol=1e-4) for g, w in zip(got, pair))

    if any(matches(scaled(train, unbiased)) for unbiased in (True, False)):
        return report(True, "standardize scales both sets with the training statistics")
    both = torch.cat([train, test])
    if any(matches(scaled(both, unbiased)) for unbiased in (True, False)):
        return report(False, "standardize used statistics of training and test data together: "
                             "the test set leaked in (use the training set's mean and std only)")
    if torch.allclose(got[1].float().mean(dim=0), torch.zeros(3), atol=1e-4):
        return report(False, "standardize scaled the test set with its own mean and std, which "
                             "hides how it differs (use the training set's mean and std)")
    return report(False, "standardize: the result is not (X - mean) / std with the training "
                         "set's mean and standard deviation per column (dim=0)")


def pick_lambd(lambd, valid_loss: dict, train_loss: dict | None = None) -> bool:
    """Check that lambd is the value with the lowest validation loss (valid_loss: λ -> loss)."""
    best = min(valid_loss, key=valid_loss.get)
    fix = "best_lambd above"
    if lambd not in valid_loss:
        return report(False, f"λ = {lambd!r} is not one of the values tried "
                             f"({', '.join(f'{v:g}' for v in valid_loss)})", fix=fix)
    if lambd == best:
        return report(True, f"λ = {lambd:g} has the lowest validation loss, "
                            f"{valid_loss[lambd]:.4g}", fix=fix)
    if train_loss and lambd == min(train_loss, key=train_loss.get):
        return report(False, f"λ = {lambd:g} has the lowest training loss, but λ is there for "
                             f"new data: choose by the validation loss", fix=fix)
    return report(False, f"λ = {lambd:g} has validation loss {valid_loss[lambd]:.4g}; another "
                         f"value tried has a lower one", fix=fix)
