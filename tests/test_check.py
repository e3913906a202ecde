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
    assert "return torch.zeros_like(X)" in out[2]
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
    assert check.l2_penalty(lambda w: float((w ** 2).sum() / 2))  # a number is fine too
    assert not check.l2_penalty(lambda w: (w ** 2).sum())
    assert not check.l2_penalty(lambda w: w.abs().sum())
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ solved: l2_penalty") and out[1].startswith("✓ solved")
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
