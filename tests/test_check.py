import torch

import d2lmini
from d2lmini import check


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
