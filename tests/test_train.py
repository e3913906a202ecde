import math

import pytest
import torch
from torch import nn

import d2lmini
from d2lmini.train import History


def linreg_run(lr, batch_size=10, epochs=3, record=None):
    d2lmini.set_seed(0)
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 1000)
    w = torch.normal(0, 0.01, (2, 1), requires_grad=True, device=X.device)
    b = torch.zeros(1, requires_grad=True, device=X.device)
    history = d2lmini.train(lambda X: d2lmini.linreg(X, w, b), d2lmini.squared_loss,
                            lambda n: d2lmini.sgd([w, b], lr, n),
                            d2lmini.Batches(X, y, batch_size), epochs,
                            record=record and (lambda: w.detach().flatten().tolist()),
                            progress=False)
    return history, w, b


def test_train_learns_linear_regression():
    history, w, b = linreg_run(0.03)
    assert torch.allclose(w.detach().flatten().cpu(), torch.tensor([2.0, -3.4]), atol=0.01)
    assert abs(b.item() - 4.2) < 0.01
    assert len(history.step_loss) == 300 and len(history.epoch_loss) == 3
    assert history.epoch_loss[0] > history.epoch_loss[-1]
    assert not history.diverged and history.message().startswith("final loss")


def test_epoch_loss_is_the_mean_over_examples_including_the_partial_batch():
    history, _, _ = linreg_run(1e-9, batch_size=300, epochs=1)  # lr tiny: loss ~ constant
    assert len(history.step_loss) == 4
    weighted = (sum(history.step_loss[:3]) * 300 + history.step_loss[3] * 100) / 1000
    assert history.epoch_loss[0] == pytest.approx(weighted, rel=1e-3)


def test_divergence_stops_and_says_where():
    history, _, _ = linreg_run(10.0, record=True)
    assert history.diverged
    n = history.diverged_at
    assert not math.isfinite(history.step_loss[-1]) and len(history.step_loss) == n
    assert all(math.isfinite(v) for v in history.step_loss[:-1])
    assert len(history.trace) == n
    assert history.message() == f"diverged at step {n}: the learning rate is too large"
    assert history.epoch_loss == []  # the epoch never finished


def test_record_traces_every_step():
    history, w, _ = linreg_run(0.03, record=True)
    assert len(history.trace) == 300
    assert history.trace[-1] == pytest.approx(w.detach().flatten().tolist())


def test_train_with_an_optimizer_and_metrics():
    d2lmini.set_seed(0)
    X = torch.randn(200, 4)
    y = (X[:, 0] > 0).long()
    net = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    batches = d2lmini.Batches(X, y, 50)
    history = d2lmini.train(net, nn.CrossEntropyLoss(reduction="none"), optimizer, batches, 5,
                            evaluate=lambda: {"acc": d2lmini.evaluate_accuracy(net, batches)},
                            progress=False)
    assert len(history.metrics["acc"]) == 5
    assert history.metrics["acc"][-1] > 0.9


def test_train_rejects_zero_epochs():
    with pytest.raises(ValueError, match="epochs"):
        d2lmini.train(None, None, None, [], 0)


def test_accuracy():
    y_hat = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert d2lmini.accuracy(y_hat, torch.tensor([1, 0, 0])) == pytest.approx(2 / 3)


def test_history_message_without_steps():
    assert History().message() == "no steps were run"
