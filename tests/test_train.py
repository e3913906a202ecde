import importlib
import math

import pytest
import torch
from torch import nn

import d2lmini
from d2lmini import History

train_module = importlib.import_module("d2lmini.training")


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
    assert history.net is net  # what was trained, for a figure drawn from the run (chapter 6)


def test_a_history_is_compared_by_its_numbers_not_its_net():
    one, other = History(step_loss=[1.0], net=nn.Linear(2, 1)), History(step_loss=[1.0])
    assert one == other and "net" not in repr(one)


def test_train_rejects_zero_epochs():
    with pytest.raises(ValueError, match="epochs"):
        d2lmini.train(None, None, None, [], 0)


def test_accuracy():
    y_hat = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert d2lmini.accuracy(y_hat, torch.tensor([1, 0, 0])) == pytest.approx(2 / 3)


def test_history_message_without_steps():
    assert History().message() == "no steps were run"


# ---------------------------------------------------------------- History for the panel (C2)

def small_linreg(lr=0.03, n=100, batch_size=30, epochs=2, batches=None, **kwargs):
    """A run on 100 examples in batches of 30, 30, 30, 10; returns (history, w)."""
    d2lmini.set_seed(0)
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, n, device="cpu")
    w = torch.zeros(2, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    if batches is None:
        batches = d2lmini.Batches(X, y, batch_size)
    history = d2lmini.train(lambda X: d2lmini.linreg(X, w, b), d2lmini.squared_loss,
                            lambda k: d2lmini.sgd([w, b], lr, k), batches, epochs,
                            progress=False, **kwargs)
    return history, w


def test_history_counts_examples_and_epochs():
    history, _ = small_linreg()
    assert history.epochs == 2 and history.epoch_size == 100
    assert history.step_examples == [30, 30, 30, 10] * 2
    assert history.step_epochs() == pytest.approx([0.3, 0.6, 0.9, 1.0, 1.3, 1.6, 1.9, 2.0])


def test_epoch_size_of_drop_last_lists_and_dataloaders():
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 100, device="cpu")
    history, _ = small_linreg(batches=d2lmini.Batches(X, y, 30, drop_last=True), epochs=1)
    assert history.epoch_size == 90 and history.step_examples == [30, 30, 30]
    history, _ = small_linreg(batches=list(d2lmini.Batches(X, y, 40)), epochs=1)
    assert history.epoch_size == 100
    history, _ = small_linreg(batches=d2lmini.load_array((X, y), 25), epochs=1)
    assert history.epoch_size == 100 and history.step_epochs()[-1] == 1.0


def test_a_generator_trains_one_epoch_and_its_size_is_learned():
    d2lmini.set_seed(0)
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 100, device="cpu")
    seen = []
    history, _ = small_linreg(batches=d2lmini.data_iter(30, X, y), epochs=1,
                              record=lambda: seen.append(1))
    assert history.epoch_size == 100 and len(history.epoch_loss) == 1 and len(seen) == 4


def test_step_epochs_without_a_known_size_uses_steps():
    assert History(step_loss=[1.0, 1.0], step_examples=[5, 5]).step_epochs() == [0.5, 1.0]


def test_a_one_shot_iterator_for_two_epochs_is_refused():
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 100, device="cpu")
    with pytest.raises(ValueError, match="one-shot iterator.*d2lmini.Batches.*epochs=1"):
        small_linreg(batches=d2lmini.data_iter(10, X, y), epochs=2)


def test_an_iterable_that_runs_dry_in_epoch_two_is_named():
    class Once:
        def __init__(self, batches):
            self.batches = batches

        def __iter__(self):
            yield from self.batches
            self.batches = []

    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 100, device="cpu")
    with pytest.raises(ValueError, match="no minibatches in epoch 2.*used only once"):
        small_linreg(batches=Once(list(d2lmini.Batches(X, y, 50))), epochs=2)


def test_watch_sees_every_step_on_the_cpu_and_each_epoch_end():
    calls = []

    def callback(history):
        assert history.epochs == 2 and history.epoch_size == 100  # known from the first call
        calls.append((len(history.step_loss), len(history.epoch_loss)))

    with d2lmini.watch(callback):
        history, _ = small_linreg()
    steps = [(1, 0), (2, 0), (3, 0), (4, 0), (4, 1), (5, 1), (6, 1), (7, 1), (8, 1), (8, 2)]
    assert calls == steps
    small_linreg()  # outside watch: no more calls
    assert len(calls) == len(steps)


def test_watch_is_nestable_and_per_thread():
    import threading
    outer, inner, other = [], [], []
    with d2lmini.watch(lambda h: outer.append(1)):
        with d2lmini.watch(lambda h: inner.append(1)):
            thread = threading.Thread(target=small_linreg)
            thread.start()
            thread.join(timeout=60)
            assert not thread.is_alive(), "the other thread's run did not end within 60 s"
            assert outer == inner == []  # the other thread's run is not watched here
            small_linreg(epochs=1)
        small_linreg(epochs=1)
    with d2lmini.watch(lambda h: other.append(1)):
        pass
    assert len(inner) == 5 and len(outer) == 10 and other == []


def test_an_exception_from_the_callback_stops_the_run():
    class Superseded(Exception):
        pass

    seen = []

    def stop_at_third_step(history):
        if len(history.step_loss) == 3:
            raise Superseded

    with pytest.raises(Superseded), d2lmini.watch(stop_at_third_step):
        small_linreg(record=lambda: seen.append(1))
    assert len(seen) == 2  # on the CPU the hook hears of step 3's loss before its update


def test_divergence_stops_at_the_step_it_happens_on_the_cpu():
    net_calls = []
    d2lmini.set_seed(0)
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 1000, device="cpu")
    w = torch.zeros(2, 1, requires_grad=True)

    def net(X):
        net_calls.append(1)
        return X @ w

    history = d2lmini.train(net, d2lmini.squared_loss, lambda n: d2lmini.sgd([w], 50.0, n),
                            d2lmini.Batches(X, y, 10), 1, progress=False)
    assert history.diverged and len(net_calls) == history.diverged_at < 100


def test_on_a_gpu_divergence_is_found_within_a_few_steps(monkeypatch):
    """Losses read back every 4 steps: the run stops at most 3 steps after the first NaN."""
    monkeypatch.setattr(train_module, "_steps_between_checks", lambda loss: 4)
    calls = []
    history, _ = small_linreg(lr=1e3, n=1000, batch_size=10, epochs=1,
                              record=lambda: calls.append(1))
    n = history.diverged_at
    assert history.diverged and n <= len(calls) <= n + 3 and len(calls) < 100
    assert len(history.step_loss) == len(history.step_examples) == len(history.trace) == n
    assert not math.isfinite(history.step_loss[-1])


def test_the_first_loss_not_finite_points_at_the_data():
    d2lmini.set_seed(0)
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 100, device="cpu")
    X[0, 0] = float("nan")
    history, _ = small_linreg(batches=d2lmini.Batches(X, y, 100, shuffle=False))
    assert history.diverged_at == 1
    assert history.message() == ("the loss was not finite from the first step: look for NaN "
                                 "or inf in the data or the initial weights")


def test_nan_in_a_later_minibatch_is_blamed_on_the_data():
    d2lmini.set_seed(0)
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 100, device="cpu")
    y[55] = float("inf")
    history, _ = small_linreg(batches=d2lmini.Batches(X, y, 10, shuffle=False))
    assert history.diverged_at == 6
    assert history.message() == ("diverged at step 6: its minibatch holds NaN or inf, "
                                 "look for them in the data")


def softmax_run(spoil_at=None, nan_loss_at=None, monkeypatch=None, every=1):
    """Softmax regression; an updater turns the weights into NaN at step spoil_at, or the
    loss is NaN at step nan_loss_at (and so, after backward, are the weights)."""
    if monkeypatch is not None:
        monkeypatch.setattr(train_module, "_steps_between_checks", lambda loss: every)
    torch.manual_seed(0)
    X, y = torch.randn(200, 4), torch.randint(0, 3, (200,))
    W = torch.zeros(4, 3, requires_grad=True)
    steps = []

    def loss(y_hat, y):
        scale = float("nan") if len(steps) + 1 == nan_loss_at else 1.0
        return d2lmini.cross_entropy(y_hat, y) * scale

    def updater(n):
        steps.append(1)
        d2lmini.sgd([W], 0.1, n)
        if len(steps) == spoil_at:
            with torch.no_grad():
                W[0, 0] = float("nan")

    return d2lmini.train(lambda X: d2lmini.softmax(X @ W), loss, updater,
                         d2lmini.Batches(X, y, 10), 2, progress=False)


def test_softmax_refusing_nan_weights_counts_as_divergence():
    history = softmax_run(spoil_at=3)  # losses finite up to step 3; softmax refuses at step 4
    assert history.diverged_at == 4 and math.isnan(history.step_loss[-1])
    # the updater broke the weights after step 3, whose loss was finite: said, with both causes
    assert history.message().startswith("diverged at step 4: the weight of shape (4, 3) held "
                                        "NaN or inf after step 3, whose loss was finite")
    assert "the learning rate is too large" in history.message()


def test_softmax_refusing_nan_after_unread_losses_reports_the_first_bad_one(monkeypatch):
    # As on a GPU: losses not read back yet. Step 3's loss is NaN, step 4's softmax refuses.
    history = softmax_run(nan_loss_at=3, monkeypatch=monkeypatch, every=100)
    assert history.diverged_at == 3 and history.step_examples == [10, 10, 10]
    assert math.isfinite(history.step_loss[1]) and math.isnan(history.step_loss[2])


def test_other_value_errors_in_a_step_are_not_hidden():
    d2lmini.set_seed(0)
    X, y = torch.randn(20, 3), torch.randint(0, 3, (20, 1))  # labels of the wrong shape
    W = torch.zeros(3, 3, requires_grad=True)
    with pytest.raises(ValueError, match="y.reshape"):
        d2lmini.train(lambda X: d2lmini.softmax(X @ W), d2lmini.cross_entropy,
                      lambda n: d2lmini.sgd([W], 0.1, n), d2lmini.Batches(X, y, 5), 1,
                      progress=False)


def test_train_trains_in_training_mode_after_evaluation():
    """Dropout must stay on while training, even after evaluate_accuracy switched to eval."""
    torch.manual_seed(0)
    X, y = torch.randn(60, 4), torch.randint(0, 2, (60,))
    net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    modes = []
    net.register_forward_hook(lambda module, args, out: modes.append(module.training))
    batches = d2lmini.Batches(X, y, 20)
    history = d2lmini.train(net, nn.CrossEntropyLoss(reduction="none"),
                            torch.optim.SGD(net.parameters(), lr=0.1), batches, 2,
                            evaluate=lambda: {"acc": d2lmini.evaluate_accuracy(net, batches)},
                            progress=False)
    assert len(history.metrics["acc"]) == 2
    assert modes == [True] * 3 + [False] * 3 + [True] * 3 + [False] * 3


@pytest.mark.parametrize("mode", [True, False])
def test_evaluate_accuracy_leaves_the_mode_as_it_found_it(mode):
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).train(mode)
    d2lmini.evaluate_accuracy(net, [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))])
    assert net.training is mode and net[1].training is mode


def test_a_dataloader_over_an_iterable_dataset_has_no_len_and_still_trains():
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, 100, device="cpu")

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(zip(X, y))

    history, _ = small_linreg(batches=torch.utils.data.DataLoader(Stream(), batch_size=25))
    assert history.epoch_size == 100
    assert history.step_examples == [25] * 8 and len(history.epoch_loss) == 2


# ---------------------------------------------------------------- losses and runs that would lie

def linreg_batches(n=100, batch_size=10):
    d2lmini.set_seed(0)
    X, y = d2lmini.synthetic_data([2, -3.4], 4.2, n, device="cpu")
    return X, y, d2lmini.Batches(X, y, batch_size)


def sgd_run(loss, batches):
    w = torch.zeros(2, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    return d2lmini.train(lambda X: d2lmini.linreg(X, w, b), loss,
                         lambda n: d2lmini.sgd([w, b], 0.03, n), batches, 1, progress=False)


def test_a_mean_loss_with_a_per_example_updater_is_refused():
    _, _, batches = linreg_batches()
    with pytest.raises(ValueError, match="one number for a minibatch of 10.*summed.*"
                                         "reduction='none'.*torch optimizer"):
        sgd_run(lambda y_hat, y: d2lmini.squared_loss(y_hat, y).mean(), batches)


def test_a_loss_broadcast_into_every_pair_is_refused():
    X, y, _ = linreg_batches()
    batches = d2lmini.Batches(X, y.reshape(-1), 10)  # labels (n,) against predictions (n, 1)
    with pytest.raises(ValueError, match=r"shape \(10, 10\) for 10 examples.*broadcast.*"
                                         r"y.reshape\(y_hat.shape\)"):
        sgd_run(lambda y_hat, y: (y_hat - y) ** 2 / 2, batches)


@pytest.mark.parametrize("returned", [0.5, None])
def test_a_loss_that_is_not_a_tensor_is_refused(returned):
    _, _, batches = linreg_batches()
    with pytest.raises(ValueError, match="must return a tensor.*torch operations"):
        sgd_run(lambda y_hat, y: returned, batches)


def test_a_loss_without_weights_to_train_is_refused():
    _, _, batches = linreg_batches()
    with pytest.raises(ValueError, match="does not depend on any weight with requires_grad"):
        sgd_run(lambda y_hat, y: d2lmini.squared_loss(y_hat.detach(), y), batches)


class SqrtModel(nn.Module):
    """y = a * sqrt(s) * x: at s = 0 the loss is finite, and its gradient in s is not."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.ones(1))
        self.s = nn.Parameter(torch.zeros(1))

    def forward(self, X):
        return (self.a * torch.sqrt(self.s) * X[:, :1])


def test_a_gradient_that_is_not_finite_is_named_not_blamed_on_the_learning_rate():
    _, _, batches = linreg_batches()
    net = SqrtModel()
    history = d2lmini.train(net, nn.MSELoss(), torch.optim.SGD(net.parameters(), lr=1e-4),
                            batches, 2, progress=False)
    assert history.diverged_at == 2 and math.isfinite(history.step_loss[0])
    assert history.message().startswith("diverged at step 2: s held NaN or inf after step 1, "
                                        "whose loss was finite")
    assert "at the initial weights, so not the learning rate" in history.message()
    assert "sqrt or log at 0" in history.message()


def test_nan_in_the_data_behind_a_loss_that_hides_it_is_found_in_the_weights():
    X, y, _ = linreg_batches()
    X[15, 0] = float("nan")
    net = nn.Linear(2, 1)
    hidden = d2lmini.train(net, lambda y_hat, y: torch.nan_to_num((y_hat - y) ** 2),
                           torch.optim.SGD(net.parameters(), lr=0.01),
                           d2lmini.Batches(X, y, 10, shuffle=False), 1, progress=False)
    assert all(math.isfinite(v) for v in hidden.step_loss) and hidden.diverged
    assert "weight holds NaN or inf after it although every loss was finite" in hidden.message()
    assert "NaN in the data" in hidden.message()


def test_weights_that_end_not_finite_mark_the_run_although_every_loss_was():
    _, _, batches = linreg_batches()
    net = nn.Linear(2, 1)
    steps = []

    def spoil_at_the_end(batch_size):  # a faulty updater: the last step breaks the weights
        steps.append(1)
        with torch.no_grad():
            for w in net.parameters():
                w -= 0.01 * w.grad / batch_size
                w.grad.zero_()
            if len(steps) == len(batches):
                net.weight.fill_(float("nan"))

    history = d2lmini.train(net, lambda y_hat, y: torch.nan_to_num((y_hat - y) ** 2),
                            spoil_at_the_end, batches, 1, progress=False)
    assert all(math.isfinite(v) for v in history.step_loss) and history.diverged
    assert "weight holds NaN or inf after it although every loss was finite" in history.message()
    assert "torch.nansum" in history.message()


def test_ctrl_c_keeps_the_history_of_the_steps_done():
    _, _, batches = linreg_batches()
    net = nn.Linear(2, 1)
    seen = []

    def loss(y_hat, y):
        if len(seen) == 13:
            raise KeyboardInterrupt
        seen.append(1)
        return ((y_hat - y) ** 2).reshape(-1)

    with pytest.raises(KeyboardInterrupt) as stopped:
        d2lmini.train(net, loss, torch.optim.SGD(net.parameters(), lr=0.01), batches, 3,
                      record=lambda: 1, progress=False)
    history = stopped.value.history
    assert isinstance(stopped.value, d2lmini.TrainingInterrupted)
    assert history.interrupted_at == len(history.step_loss) == len(history.trace) == 13
    assert len(history.epoch_loss) == 1  # the first epoch's 10 steps, then 3 of the second
    assert history.message().startswith("interrupted at step 13 (Ctrl-C)")
    assert "final loss" not in str(stopped.value)


def test_a_function_updaters_weights_are_found_through_the_loss_and_checked_too():
    """Chapter 1's way: tensors and sgd. train() finds w and s behind the first loss."""
    _, _, batches = linreg_batches()
    w = torch.ones(2, 1, requires_grad=True)
    s = torch.zeros(1, requires_grad=True)  # sqrt(s) at 0: a finite loss, an infinite slope
    history = d2lmini.train(lambda X: X @ w * torch.sqrt(s), d2lmini.squared_loss,
                            lambda n: d2lmini.sgd([w, s], 1e-4, n), batches, 1, progress=False)
    assert history.diverged_at == 2 and math.isfinite(history.step_loss[0])
    assert history.message().startswith("diverged at step 2: the weight of shape (1,) held NaN "
                                        "or inf after step 1")


def test_the_end_of_run_weight_check_names_a_nan_weight_but_not_a_large_finite_one():
    from d2lmini.training import _check_weights

    large = History(step_loss=[1.0])
    _check_weights(large, [("w", torch.tensor([3e38, 3e38]))])  # their sum overflows to inf
    assert not large.diverged
    broken = History(step_loss=[1.0, 0.5])
    _check_weights(broken, [("w", torch.ones(2)), ("b", torch.tensor([0.0, float("nan")]))])
    assert broken.diverged_at == 2 and broken.nonfinite["en"].startswith("b holds NaN or inf")
