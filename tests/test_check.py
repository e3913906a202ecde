import ast
import inspect
import math
import re
import signal
import threading
import time

import pytest
import torch

import d2lmini
from d2lmini.machinery import check


def test_correct_functions_pass(capsys):
    assert check.squared_loss(d2lmini.squared_loss)
    assert check.linreg(lambda X, w, b: X @ w + b)
    assert check.sgd(d2lmini.sgd)
    assert capsys.readouterr().out.count("✓ solved: ") == 3


def test_report_says_the_verdict_in_words_and_what_to_do(capsys):
    # symbols that are plain text (U+2713, U+2717), not emoji that need an emoji font
    assert check.report(True, "f agrees") is True
    assert check.report(False, "f returned None") is False
    assert check.report(False, "GD diverges at 0.98 × 2", fix="lr_max above") is False
    assert capsys.readouterr().out.splitlines() == [
        "✓ solved: f agrees",
        "✗ not solved yet: f returned None — fix the function above and run this cell again",
        "✗ not solved yet: GD diverges at 0.98 × 2 — fix lr_max above and run this cell again",
    ]


def test_broadcasting_bug_is_explained(capsys):
    assert not check.squared_loss(lambda y_hat, y: (y_hat - y) ** 2 / 2)
    out = capsys.readouterr().out
    assert out.startswith("✗ not solved yet: squared_loss") and "broadcasts to (n, n)" in out
    assert out.count("\n") == 1  # one line


def test_missing_half_is_reported_as_a_factor(capsys):
    assert not check.squared_loss(lambda y_hat, y: (y_hat - y.reshape(y_hat.shape)) ** 2)
    assert "factor 2" in capsys.readouterr().out


def test_forgotten_return_and_exceptions_are_friendly(capsys):
    assert not check.linreg(lambda X, w, b: None)
    assert not check.linreg(lambda X, w, b: torch.manmul(X, w) + b)  # the lecture notes' typo
    out = capsys.readouterr().out.splitlines()
    assert "forget `return`" in out[0]
    assert out[1] == ("✗ not solved yet: linreg raised AttributeError: module 'torch' has no "
                      "attribute 'manmul' — fix the function above and run this cell again")


def test_sgd_that_forgets_to_zero_grads(capsys):
    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad / batch_size
    assert not check.sgd(sgd)
    assert "not zeroed" in capsys.readouterr().out


def test_sgd_without_no_grad(capsys):
    def sgd(params, lr, batch_size):
        for p in params:
            p -= lr * p.grad / batch_size
    assert not check.sgd(sgd)
    assert "torch.no_grad()" in capsys.readouterr().out


def test_sgd_that_ignores_batch_size(capsys):
    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad.zero_()
    assert not check.sgd(sgd)
    assert "param - lr * grad / batch_size" in capsys.readouterr().out


def test_naive_softmax_fails_on_large_logits(capsys):
    assert not check.softmax(lambda X: X.exp() / X.exp().sum(dim=1, keepdim=True))
    assert check.softmax(d2lmini.softmax)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✗ not solved yet: softmax: value nan")
    assert out[1].startswith("✓ solved: softmax")


def test_cross_entropy_and_accuracy_checkers(capsys):
    assert check.cross_entropy(d2lmini.cross_entropy)
    assert not check.cross_entropy(lambda y_hat, y: torch.log(y_hat[range(len(y_hat)), y]))
    assert check.accuracy(d2lmini.accuracy)
    assert not check.accuracy(lambda y_hat, y: (y_hat.argmax(dim=1) == y).sum())
    out = capsys.readouterr().out
    assert out.count("✓ solved: ") == 2 and out.count("✗ not solved yet: ") == 2


def test_sgd_hints_match_the_mistake(capsys):
    def rebinds(params, lr, batch_size):
        with torch.no_grad():
            for p in params:
                p = p - lr * p.grad / batch_size
                p.grad.zero_()
    assert not check.sgd(rebinds)
    assert "update in place with `param -= ...`" in capsys.readouterr().out


def test_huber_loss_checker(capsys):
    import torch.nn.functional as F

    def right(y_hat, y, delta):
        return F.huber_loss(y_hat, y.reshape(y_hat.shape), reduction="none", delta=delta)

    def mean_instead(y_hat, y, delta):
        return right(y_hat, y, delta).mean()

    assert check.huber_loss(right)
    assert not check.huber_loss(mean_instead)
    assert "returned shape ()" in capsys.readouterr().out


def test_train_step_checker(capsys):
    def right(net, loss, optimizer, X, y):
        optimizer.zero_grad()
        l = loss(net(X), y)
        l.backward()
        optimizer.step()
        return l

    def forgets_zero_grad(net, loss, optimizer, X, y):
        l = loss(net(X), y)
        l.backward()
        optimizer.step()
        return l

    def lecture_typo(net, loss, optimizer, X, y):
        optimizer.zero_grad()
        l = loss(net(X), y)
        l.backward()
        l.step()

    assert check.train_step(right)
    assert not check.train_step(forgets_zero_grad)
    assert not check.train_step(lecture_typo)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ solved: train_step")
    assert "call optimizer.zero_grad() before l.backward()" in out[1]
    assert "optimizer.step(), not l.step()" in out[2]


def test_weight_grad_checker(capsys):
    def right(net, X, y):
        net.zero_grad()
        torch.nn.MSELoss()(net(X), y).backward()
        return net[0].weight.grad

    def stale(net, X, y):
        torch.nn.MSELoss()(net(X), y).backward()
        return net[0].weight.grad

    assert check.weight_grad(right)
    assert not check.weight_grad(stale)
    assert "left over from an earlier backward" in capsys.readouterr().out


# ---------------------------------------------------------------- chapter 5: regularization

def test_dropout_layer_checker(capsys):
    def unscaled(X, dropout):
        mask = (torch.rand(X.shape, device=X.device) < 1 - dropout).float()
        return mask * X

    def no_case_for_one(X, dropout):
        mask = (torch.rand(X.shape, device=X.device) < 1 - dropout).float()
        return mask * X / (1 - dropout)

    def keeps_with_p(X, dropout):  # keeps with probability dropout instead of 1 - dropout
        if dropout == 1:
            return torch.zeros_like(X)
        mask = (torch.rand(X.shape) < dropout).float()
        return mask * X / (1 - dropout)

    assert check.dropout_layer(d2lmini.dropout_layer)
    assert not check.dropout_layer(unscaled)
    assert not check.dropout_layer(no_case_for_one)
    assert not check.dropout_layer(keeps_with_p)
    assert not check.dropout_layer(lambda X, dropout: None)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ solved: dropout_layer")
    assert out[1].startswith("✗ not solved yet") and "divide the kept entries by 1 - dropout" \
        in out[1]
    assert "return X * 0" in out[2]
    assert "kept 20% of the entries where about 80% was expected" in out[3]
    assert "forget `return`" in out[4]


def test_dropout_layer_checker_leaves_the_random_numbers_alone(capsys):
    torch.manual_seed(5)
    want = torch.rand(3)
    torch.manual_seed(5)
    check.dropout_layer(d2lmini.dropout_layer)
    assert torch.equal(torch.rand(3), want)


def test_l2_penalty_checker(capsys):
    assert check.l2_penalty(d2lmini.l2_penalty)
    assert not check.l2_penalty(lambda w: ((w ** 2).sum() / 2).item())  # no gradient: no decay
    assert not check.l2_penalty(lambda w: (w ** 2).sum())
    assert not check.l2_penalty(lambda w: w.abs().sum())
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ solved: l2_penalty")
    assert out[1].startswith("✗ not solved yet: l2_penalty") and "keep its gradient" in out[1]
    assert out[2].startswith("✗ not solved yet: l2_penalty") and "factor 2" in out[2]
    assert out[3].startswith("✗ not solved yet: l2_penalty")


def test_standardize_checker(capsys):
    def right(train, test):
        mean, std = train.mean(dim=0), train.std(dim=0)
        return (train - mean) / std, (test - mean) / std

    def own_statistics(train, test):
        return ((train - train.mean(dim=0)) / train.std(dim=0),
                (test - test.mean(dim=0)) / test.std(dim=0))

    def leaky(train, test):
        both = torch.cat([train, test])
        mean, std = both.mean(dim=0), both.std(dim=0)
        return (train - mean) / std, (test - mean) / std

    def whole_tensor(train, test):
        mean, std = train.mean(), train.std()
        return (train - mean) / std, (test - mean) / std

    assert check.standardize(right)
    def biased_std(train, test):  # dividing by n instead of n - 1 is fine
        mean, std = train.mean(dim=0), train.std(dim=0, correction=0)
        return (train - mean) / std, (test - mean) / std

    assert check.standardize(biased_std)
    assert not check.standardize(own_statistics)
    assert not check.standardize(leaky)
    assert not check.standardize(whole_tensor)
    assert not check.standardize(lambda train, test: train)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ solved: standardize") and out[1].startswith("✓ solved")
    assert "with its own mean and std" in out[2]
    assert "the test set leaked in" in out[3]
    assert "per column (dim=0)" in out[4]
    assert "must return two tensors" in out[5]


def test_pick_lambd_checker(capsys):
    valid = {0: 5.0, 0.1: 2.0, 1: 0.5, 10: 0.9}
    train = {0: 0.0, 0.1: 0.1, 1: 0.3, 10: 0.8}
    assert check.pick_lambd(1, valid, train)
    assert not check.pick_lambd(0, valid, train)
    assert not check.pick_lambd(10, valid, train)
    assert not check.pick_lambd(0.5, valid, train)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✓ solved: λ = 1 has the lowest validation loss, 0.5"
    assert "lowest training loss" in out[1] and out[1].endswith(
        "fix best_lambd above and run this cell again")
    assert "another value tried has a lower one" in out[2]
    assert "not one of the values tried (0, 0.1, 1, 10)" in out[3]


# ---------------------------------------------------------------- chapter 4: optimizers

def test_momentum_step_checker(capsys):
    def right(w, v, g, lr, momentum):
        v = momentum * v + g
        return w - lr * v, v

    def steps_along_g(w, v, g, lr, momentum):
        v = momentum * v + g
        return w - lr * g, v

    def textbook_average(w, v, g, lr, momentum):
        v = momentum * v + (1 - momentum) * g
        return w - lr * v, v

    assert check.momentum_step(right)
    assert not check.momentum_step(steps_along_g)
    assert not check.momentum_step(textbook_average)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ solved: momentum_step")
    assert out[1].startswith("✗ not solved yet") and "not the gradient g" in out[1]
    assert "torch's buffer is v = mu v + g" in out[2]


def test_bias_correction_checker(capsys):
    def right(m, v, beta1, beta2, t):
        return m / (1 - beta1 ** t), v / (1 - beta2 ** t)

    def without_t(m, v, beta1, beta2, t):
        return m / (1 - beta1), v / (1 - beta2)

    assert check.bias_correction(right)
    assert not check.bias_correction(without_t)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ solved: bias_correction")
    assert out[1].startswith("✗ not solved yet") and "depends on t" in out[1]


def test_lr_max_checker(capsys):
    A = torch.tensor([[3.0, 1.0], [1.0, 3.0]])  # eigenvalues 2 and 4
    assert check.lr_max(0.5, A)
    assert not check.lr_max(2 / 3, A)
    assert not check.lr_max(0.25, A)
    assert not check.lr_max("half", A)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ solved: lr_max = 0.5")
    assert "not its largest diagonal entry" in out[1] and "fix lr_max above" in out[1]
    assert "off by a factor 2" in out[2]
    assert "must be a number" in out[3]


def test_warmup_cosine_checker(capsys):
    import math

    def right(step, lr, warmup, total):
        if step < warmup:
            return lr * (step + 1) / warmup
        return lr * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2

    def no_warmup(step, lr, warmup, total):
        return lr * (1 + math.cos(math.pi * step / total)) / 2

    def cosine_over_total(step, lr, warmup, total):
        if step < warmup:
            return lr * (step + 1) / warmup
        return lr * (1 + math.cos(math.pi * step / total)) / 2

    assert check.warmup_cosine(right)
    assert not check.warmup_cosine(no_warmup)
    assert not check.warmup_cosine(cosine_over_total)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ solved: warmup_cosine")
    assert "warm up first" in out[1]
    assert "lasts total - warmup steps" in out[2]


# ---------------------------------------------------------------- chapter 6: backpropagation
# Chapter 6 writes its own Value class, the package's copied cell by cell: the learner's softplus
# builds Values of that class. NotebookValue is such a copy, a class of its own.

_namespace = {}
exec(inspect.getsource(d2lmini.autograd), _namespace)
NotebookValue = _namespace["Value"]
assert NotebookValue is not d2lmini.autograd.Value


def _softplus(x):  # the plain formulas, as the chapter's solution writes them
    e = math.exp(x.data)
    return NotebookValue(math.log(1 + e), [(x, e / (1 + e))])


def _softplus_with(data=None, local=None, parent=None):
    """A softplus with its value, local derivative or parent replaced by a function of x."""
    def softplus(x):
        value = math.log(1 + math.exp(x.data))
        return NotebookValue(value if data is None else data(x),
                             [(x if parent is None else parent(x),
                               1 / (1 + math.exp(-x.data)) if local is None else local(x))])
    return softplus


def _softplus_sets_grad(x):  # does backward's work in the forward pass
    x.grad = 1 / (1 + math.exp(-x.data))
    return NotebookValue(math.log(1 + math.exp(x.data)), [(x, 1.0)])


def _linear_grads(X, W, b, dY):
    return dY @ W.T, X.T @ dY, dY.sum(0)


def _numerical_grad(f, x, h=1e-5):
    grad = torch.zeros_like(x)
    for i in range(x.numel()):
        e = torch.zeros_like(x)
        e.view(-1)[i] = h  # moves entry i only
        grad.view(-1)[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def _numerical_grad_in_place(f, x, h=1e-5):  # moves the caller's x, and puts each entry back
    grad, flat = torch.zeros_like(x), x.view(-1)
    for i in range(len(flat)):
        old = flat[i].item()
        flat[i] = old + h
        up = f(x)
        flat[i] = old - h
        down = f(x)
        flat[i] = old
        grad.view(-1)[i] = (up - down) / (2 * h)
    return grad


def _numerical_grad_with(forth=1, back=1, restore=True, copy=True, dtype=None):
    """A numerical_grad that moves entry i by +forth h and -back h: forward differences
    (back=0), not put back (restore=False), on the caller's x (copy=False), in another dtype."""
    def numerical_grad(f, x, h=1e-5):
        x = x.clone() if copy else x
        x = x if dtype is None else x.to(dtype)
        grad, flat = torch.zeros_like(x), x.view(-1)
        for i in range(len(flat)):
            flat[i] += forth * h
            up = f(x)
            flat[i] -= (forth + back) * h
            down = f(x)
            if restore:
                flat[i] += back * h
            grad.view(-1)[i] = (up - down) / ((forth + back) * h)
        return grad
    return numerical_grad


def _numerical_grad_rows(f, x, h=1e-5):  # e[i] = h moves a whole row when x is a matrix
    grad = torch.zeros_like(x)
    for i in range(len(x)):
        e = torch.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def _linear_grads_autograd(X, W, b, dY):  # torch's own backward: fine too
    X, W, b = (t.clone().requires_grad_() for t in (X, W, b))
    ((X @ W + b) * dY).sum().backward()
    return X.grad, W.grad, b.grad


def _numerical_grad_all_at_once(f, x, h=1e-5):  # the directional derivative along (1, ..., 1)
    return torch.full_like(x, ((f(x + h) - f(x - h)) / (2 * h)).item())


def test_softplus_checker(capsys):
    assert check.softplus(_softplus)
    assert not check.softplus(_softplus_with(local=lambda x: 1 / (1 + math.exp(x.data))))
    assert not check.softplus(_softplus_with(parent=lambda x: NotebookValue(x.data)))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("✓ solved: softplus gives log(1 + e^x) and passes sigmoid(x) back to x, "
                      "on 15 inputs and through a computed x used twice")
    assert out[1].startswith("✗ not solved yet: softplus(Value(1)): the local derivative is "
                             "0.2689414214, expected d/dx log(1 + e^x) = 0.7310585786 (that is "
                             "sigmoid(-x): check the sign)")
    assert "parent is a copy of x, Value(x.data), which cuts the graph" in out[2]


def test_softplus_checker_builds_no_arithmetic_across_the_two_classes(capsys):
    class Strict(NotebookValue):  # refuses arithmetic with any other class of Value
        def __add__(self, other):
            assert isinstance(other, Strict | int | float), type(other)
            return super().__add__(other)

        def __mul__(self, other):
            assert isinstance(other, Strict | int | float), type(other)
            return super().__mul__(other)

    def softplus(x):
        e = math.exp(x.data)
        return Strict(math.log(1 + e), [(x, e / (1 + e))])
    assert check.softplus(softplus)
    assert capsys.readouterr().out.startswith("✓ solved: softplus")


def test_linear_grads_checker(capsys):
    assert check.linear_grads(_linear_grads)
    assert not check.linear_grads(lambda X, W, b, dY: (dY @ W.T, dY.T @ X, dY.sum(0)))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("✓ solved: linear_grads agrees with torch.autograd on 7 layers: "
                      "dX = dY @ W.T, dW = X.T @ dY, db = dY.sum(0)")
    assert out[1].startswith("✗ not solved yet: linear_grads with X of shape (4, 3), W of shape "
                             "(3, 2): dW: returned shape (2, 3), expected (3, 2): dW has W's "
                             "shape (3, 2): X.T @ dY")


def test_xavier_std_checker(capsys):
    assert check.xavier_std(lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)))
    assert not check.xavier_std(lambda fan_in, fan_out: math.sqrt(1 / fan_in))
    assert not check.xavier_std(0.05)  # a number, not the function
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✓ solved: xavier_std = sqrt(2 / (fan_in + fan_out)) for 12 pairs"
    assert out[1].startswith("✗ not solved yet: xavier_std(784, 10) = 0.03571, expected "
                             "0.05019: that is LeCun's")
    assert out[2].startswith("✗ not solved yet: d2lmini.check.xavier_std needs your function")
    assert "got a float (a result? pass the function itself, without (...))" in out[2]


def test_numerical_grad_checker(capsys):
    assert check.numerical_grad(_numerical_grad)
    assert not check.numerical_grad(_numerical_grad_with(back=0))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("✓ solved: numerical_grad agrees with torch.autograd on 6 functions and "
                      "shapes of x")
    assert out[1].startswith("✗ not solved yet: numerical_grad(f, x) for a quadratic form, x of "
                             "shape (5,): entry")
    assert "(use the central difference (f(x+h) - f(x-h)) / 2h: its error is of order h²" in out[1]


def test_numerical_grad_checker_calls_with_the_default_step_and_with_h(capsys):
    steps = []

    def records(f, x, h=1e-5):
        steps.append(h)
        return _numerical_grad(f, x, h)
    assert check.numerical_grad(records)
    assert steps.count(1e-4) == 1 and steps.count(1e-5) == len(steps) - 1
    capsys.readouterr()


# ---------------------------------------------------------------- every checker, strict
# Each checker must refuse answers that are right only on fixed inputs: hard-coded
# hyperparameters, detached results, shared masks, an argmax for a softmax... The table gives,
# per checker, plausible wrong answers and the words its one-line verdict must contain.

def _sl(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def _softmax(X):
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def _softmax_global_max(X):  # one max for the whole batch: rows far below it underflow
    X_exp = torch.exp(X - X.max())
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def _ce(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])


def _huber(y_hat, y, delta=1.0):
    error = (y_hat - y.reshape(y_hat.shape)).abs()
    return torch.where(error <= delta, error ** 2 / 2, delta * (error - delta / 2))


def _huber_unsqueeze(y_hat, y, delta=1.0):  # right for y of shape (n,) only
    error = (y_hat - y.unsqueeze(1)).abs()
    return torch.where(error <= delta, error ** 2 / 2, delta * (error - delta / 2))


def _sgd_with(lr=None, batch_size=None, count=None):
    """An sgd that uses fixed numbers instead of its arguments, or only the first params."""
    def sgd(params, lr_, batch_size_):
        with torch.no_grad():
            for p in list(params)[:count]:
                p -= (lr or lr_) * p.grad / (batch_size or batch_size_)
                p.grad.zero_()
    return sgd


def _train_step_with_own_sgd(net, loss, optimizer, X, y):
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)  # ignores the optimizer given
    optimizer.zero_grad()
    l = loss(net(X), y)
    l.backward()
    optimizer.step()
    return l


def _train_step_by_hand(net, loss, optimizer, X, y):
    net.zero_grad()
    l = loss(net(X), y)
    l.backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= 0.1 * p.grad  # SGD at lr 0.1 whatever the optimizer
    return l


def _weight_grad_summed(net, X, y):
    net.zero_grad()
    torch.nn.MSELoss(reduction="sum")(net(X), y).backward()
    return net[0].weight.grad


def _dropout(X, dropout, mask_shape=None, generator=None):
    if dropout == 1:
        return torch.zeros_like(X)
    shape = X.shape if mask_shape is None else mask_shape(X)
    return (torch.rand(shape, generator=generator) < 1 - dropout).float() * X / (1 - dropout)


def _dropout_same_mask_each_call(X, dropout):
    return _dropout(X, dropout, generator=torch.Generator().manual_seed(0))


def _dropout_fixed_count(X, dropout):  # exactly (1 - dropout) n entries kept, at random places
    if dropout == 1:
        return torch.zeros_like(X)
    mask = torch.zeros(X.numel())
    mask[torch.randperm(X.numel())[:round((1 - dropout) * X.numel())]] = 1
    return mask.reshape(X.shape) * X / (1 - dropout)


def _dropout_fixed_count_per_row(X, dropout):
    if dropout == 1:
        return torch.zeros_like(X)
    kept = torch.rand(X.shape).argsort(dim=-1) < round((1 - dropout) * X.shape[-1])
    return kept.float() * X / (1 - dropout)


def _standardize_in_place(train, test):
    mean, std = train.mean(dim=0), train.std(dim=0)
    train -= mean
    train /= std
    return train, (test - mean) / std


STRICT = {  # checker: [(plausible wrong answer, words of the verdict)]
    "squared_loss": [
        (lambda y_hat, y: _sl(y_hat, y).detach(), "must keep its gradient"),
        (lambda y_hat, y: torch.from_numpy(_sl(y_hat.detach(), y).numpy()),
         "must keep its gradient"),
        (lambda y_hat, y: (y_hat - y.unsqueeze(1)) ** 2 / 2, "y may already have shape (n, 1)"),
    ],
    "linreg": [
        (lambda X, w, b: (X @ w + b).detach(), "must keep its gradient"),
        (lambda X, w, b: X @ w.detach() + b, "gradient with respect to w is wrong"),
        (lambda X, w, b: torch.addmm(b, X, w), "raised"),  # fails for b = 0.0, as chapter 1 calls
    ],
    "sgd": [
        (_sgd_with(lr=0.1), "use the arguments lr and batch_size"),
        (_sgd_with(batch_size=4), "use the arguments lr and batch_size"),
        (_sgd_with(count=2), "only 2 of the 3 parameters changed"),
    ],
    "softmax": [
        (lambda X: torch.nn.functional.one_hot(X.argmax(dim=1), X.shape[1]).float(),
         "that is an argmax"),
        (lambda X: _softmax(X).detach(), "must keep its gradient"),
        (_softmax_global_max, "subtract each row's own largest logit"),
    ],
    "cross_entropy": [
        (lambda y_hat, y: _ce(y_hat, y).detach(), "must keep its gradient"),
        (lambda y_hat, y: _ce(y_hat, y).mean(), "one loss per example"),
        (lambda y_hat, y: -torch.log(y_hat[:, y]), "pick one entry per row"),
    ],
    "accuracy": [
        (lambda y_hat, y: (y_hat.argmax(dim=1) == y).sum() / 256, "was expected"),
        (lambda y_hat, y: (y_hat.argmax(dim=1) == y).sum().item() / y_hat.shape[1],
         "was expected"),
    ],
    "huber_loss": [
        (lambda y_hat, y, delta=1.0: _huber(y_hat, y), "use the argument delta"),
        (lambda y_hat, y, delta=1.0: _huber(y_hat, y, delta).detach(), "must keep its gradient"),
        (_huber_unsqueeze, "y may already have shape (n, 1)"),
    ],
    "train_step": [
        (_train_step_with_own_sgd, "use the `loss` and `optimizer` passed in"),
        (_train_step_by_hand, "use the `loss` and `optimizer` passed in"),
    ],
    "weight_grad": [
        (_weight_grad_summed, "off by a factor"),
        (lambda net, X, y: (net(X) - y).T @ X / len(X), "off by a factor 0.5"),
    ],
    "momentum_step": [
        (lambda w, v, g, lr, momentum: (w - momentum * (lr * v + g), lr * v + g),
         "lr and momentum are swapped"),
        (lambda w, v, g, lr, momentum: (w - lr * (0.9 * v + g), 0.9 * v + g),
         "use the argument momentum, not 0.9"),
        (lambda w, v, g, lr, momentum: (w - 0.1 * (momentum * v + g), momentum * v + g),
         "use the argument lr, not 0.1"),
        (lambda w, v, g, lr, momentum: (w - (momentum * v + lr * g), momentum * v + lr * g),
         "lr does not go into v"),
    ],
    "bias_correction": [
        (lambda m, v, beta1, beta2, t: (m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)),
         "not Adam's default 0.9"),
        (lambda m, v, beta1, beta2, t: (m / (1 - beta1 ** t), v / (1 - 0.999 ** t)),
         "not Adam's default 0.999"),
        (lambda m, v, beta1, beta2, t: (m / (1 - beta1 ** t), v / (1 - beta1 ** t)),
         "v_hat is corrected with beta2, not beta1"),
        (lambda m, v, beta1, beta2, t: (m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))),
         "t counts the steps from 1"),
    ],
    "lr_max": [  # as a function of A: tried on many matrices
        (lambda A: 2 / A.sum(dim=1).max().item(), "largest row sum"),
        (lambda A: 1 / torch.linalg.eigvalsh(A).min().item(), "2 / λ, not 1 / λ"),
        (lambda A: 0.5, "largest stable learning rate is"),
    ],
    "warmup_cosine": [
        (lambda step, lr, warmup, total: min(1, (step + 1) / 5) * lr * (1 + math.cos(
            math.pi * max(0, step - 5) / (total - 5))) / 2, "expected"),  # warm-up fixed at 5
    ],
    "dropout_layer": [
        (lambda X, p: _dropout(X, p, mask_shape=lambda X: (1, *X.shape[1:])),
         "every row (example) gets the same mask"),
        (lambda X, p: _dropout(X, p, mask_shape=lambda X: (*X.shape[:-1], 1)),
         "every column of a row gets the same coin flip"),
        (_dropout_same_mask_each_call, "the same entries on every call"),
        (_dropout_fixed_count, "every call keeps exactly the same number of entries"),
        (_dropout_fixed_count_per_row, "each row keeps the same number of entries"),
        (lambda X, p: _dropout(X, p).detach(), "must keep its gradient"),
    ],
    "l2_penalty": [
        (lambda w: float((w.detach() ** 2).sum() / 2), "returned a float, but the result must "
                                                       "keep its gradient"),
        (lambda w: (w.detach() ** 2).sum() / 2, "must keep its gradient"),
        (lambda w: (w ** 2).mean() / 2, "was expected"),
    ],
    "standardize": [
        (_standardize_in_place, "changed train or test in place"),
        (lambda train, test: ((train - train.mean(dim=0)) / train.std(dim=0),
                              (test - test.mean(dim=0)) / test.std(dim=0)), "its own"),
    ],
    "softplus": [
        (_softplus_with(local=lambda x: 1 / (1 + math.exp(x.data))),
         "(that is sigmoid(-x): check the sign)"),
        (_softplus_with(local=lambda x: math.log(1 + math.exp(x.data))),
         "(that is the output log(1 + e^x), not its derivative)"),
        (_softplus_with(local=lambda x: math.exp(x.data)),  # forgot the denominator
         "e^x is the derivative of 1 + e^x only: apply the chain rule through the log too"),
        (lambda x: NotebookValue(math.log(1 + math.exp(x.data))),
         "has no parents, so backward() cannot reach x"),
        (_softplus_with(parent=lambda x: NotebookValue(x.data)), "which cuts the graph"),
        (_softplus_sets_grad, "changed x.grad: the forward pass only records the local"),
        (lambda x: math.log(1 + math.exp(x.data)), "returned a float, expected a Value"),
        (lambda x: NotebookValue(math.log(1 + math.exp(x)), [(x, 0.5)]),
         "(x is a Value: compute with its number, x.data)"),
        (_softplus_with(data=lambda x: torch.nn.functional.softplus(torch.tensor(x.data))),
         "(float32? use math.log and math.exp on x.data"),
        (_softplus_with(local=lambda x: x.sigmoid()), "(a Value? take its .data)"),
        (_softplus_with(local=lambda x: 0.5), "the local derivative is"),  # right at x = 0 only
        (_softplus_with(data=lambda x: max(x.data, 0.0)),  # right only far from 0
         "expected log(1 + e^x)"),
        (lambda x: (x.exp() + 1).log(), "is built from other operations"),
        (lambda x: x, "returned x itself"),
        (lambda x: NotebookValue(math.log(1 + math.exp(x.data)), [x, 0.5]),
         "must hold (input, local derivative) pairs"),
    ],
    "linear_grads": [
        (lambda X, W, b, dY: (dY @ W.T, X.T @ dY, dY.mean(0)),
         "sum over the examples, not mean: each example adds its own"),
        (lambda X, W, b, dY: (dY @ W.T, dY.T @ X, dY.sum(0)), "dW has W's shape (3, 2)"),
        (lambda X, W, b, dY: (dY @ W.T, dY.T @ X if W.shape[0] == W.shape[1] else X.T @ dY,
                              dY.sum(0)),  # right only where W is not square
         "(transposed: dW = X.T @ dY, not dY.T @ X)"),
        (lambda X, W, b, dY: (dY @ W.T, (dY.T @ X).reshape(W.shape), dY.sum(0)),
         "reshape does not transpose"),
        (lambda X, W, b, dY: (dY @ W.T, X.T @ dY / len(X), dY.sum(0)), "do not divide by n"),
        (lambda X, W, b, dY: (dY @ W.T, X.T @ dY, dY), "db has b's shape (2,): sum dY over"),
        (lambda X, W, b, dY: (dY @ W.T, X.T @ dY, dY.sum(0, keepdim=True)),
         "returned shape (1, 2), expected (2,): db has b's shape"),
        (lambda X, W, b, dY: (dY @ W.T, X.T @ dY, dY[0]), "db: value"),  # right for n = 1 only
        (lambda X, W, b, dY: (X.T @ dY, dY.sum(0)), "three tensors (dX, dW, db), got a tuple of 2"),
        (lambda X, W, b, dY: [*_linear_grads(X, W, b, dY), None], "got a list of 4"),
        (lambda X, W, b, dY: (dY @ W, X.T @ dY, dY.sum(0)), "(check the shapes: dX = dY @ W.T"),
    ],
    "xavier_std": [
        (lambda fan_in, fan_out: math.sqrt(1 / fan_in), "LeCun's sqrt(1 / fan_in), which keeps "
                                                        "only the forward pass"),
        (lambda fan_in, fan_out: math.sqrt(2 / fan_in), "He's sqrt(2 / fan_in), for ReLU"),
        (lambda fan_in, fan_out: math.sqrt(1 / fan_out), "keeps only the backward pass"),
        (lambda fan_in, fan_out: 2 / (fan_in + fan_out), "a variance: take its square root"),
        (lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out)),
         "the bound a of the uniform U(-a, a); its standard deviation is a / sqrt(3)"),
        (lambda fan_in, fan_out: math.sqrt(2 / 794),  # right for (784, 10) only
         "the same number for every pair of fans"),
        (lambda fan_in, fan_out: math.sqrt(2 / fan_in + fan_out), "expected 0.05019"),
        (lambda fan_in, fan_out: torch.full((fan_out,), math.sqrt(2 / (fan_in + fan_out))),
         "expected one number"),
        (lambda fan_in, fan_out: None, "forget `return`"),
    ],
    "numerical_grad": [
        (_numerical_grad_with(back=0), "use the central difference (f(x+h) - f(x-h)) / 2h"),
        (_numerical_grad_with(forth=0), "use the central difference (f(x+h) - f(x-h)) / 2h"),
        (_numerical_grad_all_at_once, "move one entry at a time, x + h e_i"),
        (_numerical_grad_with(restore=False), "put each entry back"),
        (_numerical_grad_with(restore=False, copy=False), "work on a copy, x.clone()"),
        (_numerical_grad_with(dtype=torch.float32), "keep float64"),
        (lambda f, x, h=1e-5: _numerical_grad(f, x, h).flatten(),  # right for 1-d x only
         "returned shape (12,), expected (3, 4): the gradient has x's shape"),
        (lambda f, x, h=1e-5: _numerical_grad(f, x), "use the argument h"),  # right for 1e-5
        (lambda f, x: _numerical_grad(f, x), "give it the step as a parameter"),
        (_numerical_grad_rows, "each row holds one number"),  # right for 1-d x only
    ],
}

RIGHT = {  # checker: answers that must pass (the notebooks' solutions among them)
    "squared_loss": [_sl, d2lmini.squared_loss],
    "linreg": [lambda X, w, b: X @ w + b, lambda X, w, b: torch.matmul(X, w) + b],
    "sgd": [d2lmini.sgd, _sgd_with()],
    "softmax": [_softmax, d2lmini.softmax, lambda X: torch.softmax(X, dim=1)],
    "cross_entropy": [_ce, lambda y_hat, y: -y_hat.gather(1, y[:, None]).log().flatten()],
    "accuracy": [lambda y_hat, y: (y_hat.argmax(dim=1) == y).float().mean().item(),
                 d2lmini.accuracy],
    "huber_loss": [_huber, lambda y_hat, y, delta=1.0: torch.nn.functional.huber_loss(
        y_hat, y.reshape(y_hat.shape), reduction="none", delta=delta)],
    "train_step": [],  # in test_train_step_checker
    "weight_grad": [lambda net, X, y: 2 * (net(X) - y).T @ X / len(X)],  # by hand, chapter 2
    "momentum_step": [],  # in test_momentum_step_checker
    "bias_correction": [],  # in test_bias_correction_checker
    "lr_max": [lambda A: 2 / torch.linalg.eigvalsh(A).max().item(),
               lambda A: 2 / torch.linalg.matrix_norm(A, ord=2).item()],
    "warmup_cosine": [],  # in test_warmup_cosine_checker
    "dropout_layer": [d2lmini.dropout_layer, _dropout,
                      lambda X, p: torch.nn.functional.dropout(X, p),
                      lambda X, p: torch.zeros_like(X) if p == 1 else
                      torch.bernoulli(torch.full_like(X, 1 - p)) * X / (1 - p)],
    "l2_penalty": [d2lmini.l2_penalty, lambda w: w.norm() ** 2 / 2],
    "standardize": [lambda train, test: (
        (train - train.mean(dim=0)) / train.std(dim=0, correction=0),
        (test - train.mean(dim=0)) / train.std(dim=0, correction=0))],  # population std: fine
    "softplus": [_softplus, _softplus_with(),  # derivative e^x / (1 + e^x), 1 / (1 + e^-x)
                 lambda x: NotebookValue(max(x.data, 0.0) + math.log1p(math.exp(-abs(x.data))),
                                         [(x, x.sigmoid().data)]),  # a stable form
                 lambda x: d2lmini.autograd.Value(math.log(1 + math.exp(x.data)),
                                                  [(x, 1 / (1 + math.exp(-x.data)))])],
    "linear_grads": [_linear_grads, _linear_grads_autograd,
                     lambda X, W, b, dY: [dY @ W.T, (dY.T @ X).T, dY.sum(dim=0)]],
    "xavier_std": [lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
                   lambda fan_in, fan_out: torch.tensor(2 / (fan_in + fan_out)).sqrt(),
                   lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out)) / math.sqrt(3)],
    "numerical_grad": [_numerical_grad, _numerical_grad_in_place, _numerical_grad_with()],
}


@pytest.mark.parametrize("name,wrong,words", [(name, wrong, words)
                                               for name, cases in STRICT.items()
                                               for wrong, words in cases])
def test_checkers_refuse_answers_right_only_on_some_inputs(capsys, name, wrong, words):
    assert getattr(check, name)(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ not solved yet: ") and out.count("\n") == 1  # one line
    assert words in out


@pytest.mark.parametrize("name,right", [(name, right) for name, fns in RIGHT.items()
                                        for right in fns])
def test_checkers_accept_right_answers(capsys, name, right):
    assert getattr(check, name)(right) is True
    out = capsys.readouterr().out
    assert out.startswith("✓ solved: ") and out.count("\n") == 1


def test_every_checker_has_strict_tests():
    checkers = {name for name, fn in vars(check).items() if inspect.isfunction(fn)
                and not name.startswith("_") and fn.__module__ == check.__name__}
    assert checkers - {"report", "compare", "pick_lambd"} == set(STRICT)


@pytest.mark.parametrize("name", sorted(STRICT))
def test_checkers_leave_the_random_numbers_alone(capsys, name):
    torch.manual_seed(5)
    want = torch.rand(3)
    torch.manual_seed(5)
    getattr(check, name)(RIGHT[name][0] if RIGHT[name] else STRICT[name][0][0])
    assert torch.equal(torch.rand(3), want)


def test_the_verdict_does_not_depend_on_the_notebook_random_state(capsys):
    verdicts = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        check.weight_grad(_weight_grad_summed)
        check.train_step(_train_step_with_own_sgd)
        verdicts.append(capsys.readouterr().out)
    assert verdicts[0] == verdicts[1]


def test_lr_max_numbers_that_coincide_on_this_matrix_pass_but_not_as_functions(capsys):
    A = torch.tensor([[3.0, 1.0], [1.0, 3.0]])  # the notebook's: rows sum to λ_max = 4
    assert check.lr_max(2 / A.sum(dim=1).max().item(), A)  # a number cannot say how it was got
    assert not check.lr_max(lambda M: 2 / M.sum(dim=1).max().item(), A)
    assert check.lr_max(lambda M: 2 / torch.linalg.eigvalsh(M).max().item(), A)
    assert not check.lr_max(0.5)  # a number needs its matrix
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ solved: lr_max = 0.5")
    assert "largest row sum only bounds the largest eigenvalue" in out[1]
    assert out[2].startswith("✓ solved: lr_max(A) = 2 / (largest eigenvalue of A) for 8 matrices")
    assert "pass the matrix too" in out[3]


def test_softmax_still_needs_to_be_stable(capsys):
    def subtracts_nothing_large(X):  # exact for moderate logits, overflows for large ones
        return torch.softmax(X.clamp(-80, 80), dim=1)

    assert not check.softmax(subtracts_nothing_large)
    assert not check.softmax(lambda X: X.exp() / X.exp().sum(dim=1, keepdim=True))
    out = capsys.readouterr().out.splitlines()
    assert "where 1 was expected" in out[0]
    assert out[1] == ("✗ not solved yet: softmax: value nan where 1 was expected — fix the "
                      "function above and run this cell again")  # chapter 3's saved output


def test_sgd_reports_a_step_that_is_not_in_place(capsys):
    def rebinds_without_zeroing(params, lr, batch_size):
        with torch.no_grad():
            for p in params:
                p = p - lr * p.grad / batch_size  # a new tensor: the parameter stays as it was
    assert not check.sgd(rebinds_without_zeroing)
    assert "(update them in place, e.g. `param -= ...`)" in capsys.readouterr().out


def test_standardize_with_one_test_example(capsys):
    def own_mean_only(train, test):
        mean, std = train.mean(dim=0), train.std(dim=0)
        return (train - mean) / std, (test - test.mean(dim=0)) / test.std(dim=0)

    def right_only_with_three_columns(train, test):  # the statistics of the first 3 columns
        mean, std = train[:, :3].mean(dim=0), train[:, :3].std(dim=0)
        return (train - mean) / std, (test - mean) / std

    assert not check.standardize(own_mean_only)
    assert not check.standardize(right_only_with_three_columns)
    out = capsys.readouterr().out.splitlines()
    assert "its own mean and std" in out[0]
    assert out[1].startswith("✗ not solved yet: standardize")


def test_pick_lambd_takes_numbers_in_any_form(capsys):
    valid = {0: 5.0, 0.1: 2.0, 1: 0.5, 10: 0.9}
    assert check.pick_lambd(torch.tensor(1.0), valid)
    assert check.pick_lambd(1.0000000000001, valid)
    assert not check.pick_lambd([1], valid)
    assert not check.pick_lambd("1", valid)
    assert not check.pick_lambd(max(valid, key=valid.get), valid)  # the highest validation loss
    out = capsys.readouterr().out.splitlines()
    assert out[0] == out[1] == "✓ solved: λ = 1 has the lowest validation loss, 0.5"
    assert "not one of the values tried" in out[2] and "not one of the values tried" in out[3]
    assert "another value tried has a lower one" in out[4]


# ---------------------------------------------------------------- deadlines and bad arguments

def _right_warmup_cosine(step, lr, warmup, total):
    if step < warmup:
        return lr * (step + 1) / warmup
    return lr * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2


def _endless(X):
    while True:
        try:
            X = X + 1
        except Exception:  # cannot swallow the deadline
            pass


@pytest.mark.parametrize("slow", [lambda X: time.sleep(30), _endless])
def test_a_function_that_sleeps_or_never_ends_took_too_long(capsys, monkeypatch, slow):
    monkeypatch.setattr(check, "CALL_SECONDS", 0.2)
    start = time.monotonic()
    assert check.softmax(slow) is False
    assert time.monotonic() - start < 1.5
    out = capsys.readouterr().out
    assert out.startswith("✗ not solved yet: softmax took too long") and out.count("\n") == 1
    assert "0.2 s allowed" in out


def test_calls_that_are_slow_together_took_too_long(capsys, monkeypatch):
    monkeypatch.setattr(check, "TOTAL_SECONDS", 0.3)

    def slow_but_right(*args):
        time.sleep(0.01)
        return _right_warmup_cosine(*args)
    assert check.warmup_cosine(slow_but_right) is False  # 713 calls: 7 s without the total
    assert "more than 0.3 s in all" in capsys.readouterr().out


def test_without_a_timer_the_time_is_measured_after_the_call(capsys, monkeypatch):
    monkeypatch.setattr(check, "CALL_SECONDS", 0.1)
    thread = threading.Thread(target=check.softmax, args=(lambda X: time.sleep(0.3),))
    thread.start()  # not the main thread: no SIGALRM timer there
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert re.search(r"took too long: a call ran 0\.3\d* s, more than the 0\.1 s allowed",
                     capsys.readouterr().out)  # slept 0.3 s, and a little more


def test_a_deadline_leaves_random_numbers_grad_mode_and_an_earlier_timer_alone(capsys,
                                                                               monkeypatch):
    monkeypatch.setattr(check, "CALL_SECONDS", 0.1)
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *args: fired.append(True))
    old_timer = signal.setitimer(signal.ITIMER_REAL, 0.6)  # pytest-timeout's, if any
    try:
        def sleeps_without_grad(X, p):
            torch.rand(3)
            with torch.no_grad():
                time.sleep(5)
        torch.manual_seed(5)
        want = torch.rand(3)
        torch.manual_seed(5)
        assert check.dropout_layer(sleeps_without_grad) is False
        assert torch.equal(torch.rand(3), want) and torch.is_grad_enabled()
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] < 0.55  # the earlier timer runs on
        time.sleep(0.6)
        assert fired == [True]  # and its handler is back
    finally:
        signal.signal(signal.SIGALRM, old)
        signal.setitimer(signal.ITIMER_REAL, *old_timer)
    assert "took too long" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(set(STRICT) - {"lr_max"}))
@pytest.mark.parametrize("value,words", [(None, "got a NoneType"),
                                         (torch.zeros(3), "without (...)")])
def test_checkers_need_a_function(capsys, name, value, words):
    assert getattr(check, name)(value) is False
    out = capsys.readouterr().out
    assert f"d2lmini.check.{name} needs your function" in out and words in out
    assert out.count("\n") == 1


@pytest.mark.parametrize("result", [None, "s", float("nan"), [1.0]])
def test_dropout_checks_every_later_call_too(capsys, result):
    calls = []

    def right_then_wrong(X, p):
        calls.append(1)
        return d2lmini.dropout_layer(X, p) if len(calls) <= 12 else result
    assert check.dropout_layer(right_then_wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ not solved yet: dropout_layer: a later call") and out.count("\n") == 1


@pytest.mark.parametrize("wrong", [lambda X: X > 0, lambda X: torch.zeros(2),
                                   lambda X: torch.zeros(X.shape, dtype=torch.complex64),
                                   lambda X: torch.ones(X.shape, dtype=torch.long)])
def test_results_of_another_kind_get_a_verdict(capsys, wrong):
    assert check.softmax(wrong) is False
    assert capsys.readouterr().out.startswith("✗ not solved yet: softmax")


@pytest.mark.parametrize("args,words", [
    ((1, [0.5, 2.0]), "valid_loss must be a dict"),
    ((1, {}), "valid_loss is empty"),
    ((1, {0: float("nan"), 1: float("nan")}), "every run diverged"),
    ((1, {0: 1.0, 1: float("nan")}), "its run diverged"),
    ((1, {"a": 1.0}), "must map each λ (a number)"),
    ((1, {0: 1.0, 1: 0.5}, [1.0]), "train_loss must be a dict"),
])
def test_pick_lambd_bad_arguments(capsys, args, words):
    assert check.pick_lambd(*args) is False
    out = capsys.readouterr().out
    assert words in out and out.count("\n") == 1


def test_pick_lambd_skips_diverged_runs(capsys):
    assert check.pick_lambd(0, {0: 1.0, 1: float("nan"), 3: 2.0})
    assert capsys.readouterr().out.startswith("✓ solved: λ = 0")


def _lr_max_right(A):
    return 2 / torch.linalg.eigvalsh(A).max().item()


@pytest.mark.parametrize("value,A,words", [
    (_lr_max_right, torch.ones(2, 3), "A must be a square matrix (n, n), got shape (2, 3)"),
    (0.5, torch.ones(2, 3), "A must be a square matrix"),
    (0.5, torch.tensor([[1.0, 2.0], [0.0, 1.0]]), "A must be symmetric"),
    (0.5, -torch.eye(2), "eigenvalues >= 0"),
    (0.5, "A", "square matrix of numbers, got a str"),
    ("0.5", torch.eye(2), "a number or a function lr_max(A), got a str"),
    (lambda A: torch.ones(2), None, "returned a tensor of shape (2,), expected one number"),
])
def test_lr_max_bad_arguments(capsys, value, A, words):
    assert check.lr_max(value, A) is False
    out = capsys.readouterr().out
    assert words in out and out.count("\n") == 1


def test_warmup_cosine_that_returns_a_vector(capsys):
    assert check.warmup_cosine(lambda *args: torch.zeros(2)) is False
    assert "returned a tensor of shape (2,), expected one number" in capsys.readouterr().out


# ---------------------------------------------------------------- the Chinese edition
# A Chinese chapter calls d2lmini.set_language("zh"): then a verdict is Chinese through and
# through, its frame (report's) and the hint in it (each written beside its English with
# either(english, chinese) in check.py), with code, shapes and numbers as in the English.

_CJK = re.compile(r"[\u4e00-\u9fff]")  # Chinese characters
_CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # and full-width punctuation


@pytest.fixture
def chinese():
    """The language of a Chinese chapter for one test; English again after it."""
    d2lmini.set_language("zh")
    try:
        yield
    finally:
        d2lmini.set_language("en")


def _chinese_and_latin(message: str, english: str, *names: str) -> tuple[int, int]:
    """How many CJK characters message has, and how many Latin letters outside code: tokens
    with _ . ( ) ` or digits are code, and so are the words of the English message's code
    tokens, the names given (the checker's, its arguments') and the words of an error that the
    learner's function raised (Python's and torch's own English)."""
    code = set(names) | {word for token in _tokens(english) if _is_code(token)
                         for word in re.findall(r"[A-Za-z]+", token)}
    raised = re.search(r"引发了(\w+：[^（]*)", message)  # the error's name and its message
    if raised:
        code |= set(re.findall(r"[A-Za-z]+", raised.group(1)))
    return len(_CJK.findall(message)), sum(len(w) for w in _words(message) if w not in code)


def _tokens(text: str) -> list[str]:
    """The runs of text between spaces and Chinese characters or punctuation."""
    return re.findall(r"[^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+", text)


def _is_code(token: str) -> bool:
    return re.search(r"[_.()`\d]", token) is not None


def _words(text: str) -> list[str]:
    """The Latin words of text outside code tokens."""
    return [word for token in _tokens(text) if not _is_code(token)
            for word in re.findall(r"[A-Za-z]+", token)]


def _unsolved_message(out: str) -> str:
    """The checker's message in a Chinese verdict: what report's frame holds."""
    assert out.startswith("✗ 尚未解决：") and out.count("\n") == 1, out
    assert "。请修改" in out and out.endswith("，然后再次运行本单元格\n"), out
    return out[len("✗ 尚未解决："):].rsplit("。请修改", 1)[0]


def _parameters(fn) -> tuple[str, ...]:
    try:
        return tuple(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return ()


@pytest.mark.parametrize("name,wrong,words", [(name, wrong, words)
                                               for name, cases in STRICT.items()
                                               for wrong, words in cases])
def test_every_hint_speaks_chinese_in_a_chinese_chapter(capsys, chinese, name, wrong, words):
    assert getattr(check, name)(wrong) is False
    message = _unsolved_message(capsys.readouterr().out)
    d2lmini.set_language("en")
    assert getattr(check, name)(wrong) is False
    english = capsys.readouterr().out
    assert words in english and not _CJK.search(english)  # the English stays English
    cjk, latin = _chinese_and_latin(message, english, name, *_parameters(wrong))
    assert cjk > latin, (cjk, latin, message)
    assert not message.endswith("。")  # report's frame adds it


def test_misused_checkers_and_slow_functions_hear_chinese_too(capsys, chinese, monkeypatch):
    monkeypatch.setattr(check, "CALL_SECONDS", 0.2)
    cases = [  # (check, what the fix names in Chinese)
        (lambda: check.xavier_std(0.05), "传给本检查的参数"),
        (lambda: check.lr_max(0.5, torch.ones(2, 3)), "传给本检查的矩阵A"),
        (lambda: check.lr_max(0.5), "上面的lr_max"),
        (lambda: check.pick_lambd(1, {}), "传给本检查的参数"),
        (lambda: check.pick_lambd(10, {0: 5.0, 1: 0.5, 10: 0.9}), "上面的best_lambd"),
        (lambda: check.softmax(lambda X: time.sleep(30)), "上面的函数"),
    ]
    for run, fix in cases:
        assert run() is False
        out = capsys.readouterr().out
        message = _unsolved_message(out)
        assert f"。请修改{fix}，" in out
        cjk, latin = _chinese_and_latin(message, "")
        assert cjk > latin, (cjk, latin, message)


def _either_calls() -> list[ast.Call]:
    tree = ast.parse(inspect.getsource(check))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name) and node.func.id == "either"]


def _literal_text(node: ast.expr) -> str:
    """The text a string or f-string literal writes, with {} where it fills in a value."""
    if isinstance(node, ast.Constant):
        return node.value
    return "".join(part.value if isinstance(part, ast.Constant) else "{}"
                   for part in node.values)


def _filled_in(node: ast.expr) -> set[tuple]:
    """The values an f-string fills in: each expression's source, conversion and format."""
    return {(ast.unparse(part.value), part.conversion,
             part.format_spec and ast.unparse(part.format_spec))
            for part in ast.walk(node) if isinstance(part, ast.FormattedValue)}


def test_every_either_in_check_says_the_same_in_chinese():
    calls = _either_calls()
    assert len(calls) > 100  # every hint of every checker
    for call in calls:
        where = f"check.py line {call.lineno}"
        assert len(call.args) == 2 and not call.keywords, where
        english, chinese = call.args
        for literal in (english, chinese):
            assert isinstance(literal, ast.JoinedStr) or (
                isinstance(literal, ast.Constant) and isinstance(literal.value, str)), where
        assert type(english) is type(chinese), where  # an f-string in both, or in neither
        assert _filled_in(english) == _filled_in(chinese), where  # the same values said
        text, english_text = _literal_text(chinese), _literal_text(english)
        assert not _CHINESE.search(english_text), where
        if _words(english_text):  # words, not only code: Chinese words
            assert _CJK.search(text), where
        else:  # only what joins values, such as f"{name}: {problem}": Chinese punctuation
            assert _CHINESE.search(text), where
        assert not text.endswith("。"), where  # report's frame adds it
        # no space between Chinese and Latin letters or digits, as the Chinese edition writes
        assert not re.search(r"[\u4e00-\u9fff] [A-Za-z0-9]|[A-Za-z0-9] [\u4e00-\u9fff]",
                             text), where


@pytest.mark.parametrize("name,right", [(name, right) for name, fns in RIGHT.items()
                                        for right in fns])
def test_right_answers_are_solved_in_chinese(capsys, chinese, name, right):
    assert getattr(check, name)(right) is True
    out = capsys.readouterr().out
    assert out.startswith("✓ 已解决：") and out.count("\n") == 1
    assert _CJK.search(out[len("✓ 已解决："):])  # the checker's own words too
