"""Bad input to the public functions gets a clear ValueError, never a wrong number (issue 13)."""

import pytest
import torch
from torch import nn

import d2lmini

# ---------------------------------------------------------------- silent wrong results

def test_accuracy_refuses_column_labels():
    y_hat = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]])
    y = torch.tensor([0, 1, 0, 1])
    assert d2lmini.accuracy(y_hat, y) == 1.0
    with pytest.raises(ValueError, match=r"shape \(4,\), got shape \(4, 1\) for y_hat of shape "
                                         r"\(4, 2\) \(use y.reshape\(-1\)\)"):
        d2lmini.accuracy(y_hat, y.reshape(-1, 1))  # broadcasting would give 0.5


def test_evaluate_accuracy_refuses_column_labels():
    X = torch.eye(4)
    y = torch.tensor([0, 1, 2, 3])
    assert d2lmini.evaluate_accuracy(lambda X: X, [(X, y)]) == 1.0
    with pytest.raises(ValueError, match=r"got shape \(4, 1\).*y.reshape\(-1\)"):
        d2lmini.evaluate_accuracy(lambda X: X, [(X, y.reshape(-1, 1))])  # broadcast: 0.25


@pytest.mark.parametrize("y, match", [
    (torch.tensor([0, -1]), r"class indices 0\.\.2 \(y_hat has 3 columns\), got labels from -1"),
    (torch.tensor([0, 3]), r"class indices 0\.\.2 .* got labels from 0 to 3"),
    (torch.tensor([0.0, 1.0]), r"integer class indices, got dtype torch.float32 \(use y.long"),
    (torch.tensor([0]), r"shape \(2,\), got shape \(1,\)"),
    (torch.tensor([[0], [1]]), r"y.reshape\(-1\)"),
])
def test_cross_entropy_refuses_bad_labels(y, match):
    y_hat = torch.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match=match):
        d2lmini.cross_entropy(y_hat, y)


def test_softmax_refuses_nan():
    with pytest.raises(ValueError, match=r"X holds NaN or \+inf \(first in row 1\)"):
        d2lmini.softmax(torch.tensor([[1.0, 2.0], [float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="NaN or"):
        d2lmini.softmax(torch.tensor([[float("inf"), 0.0]]))
    masked = d2lmini.softmax(torch.tensor([[0.0, float("-inf")]]))  # -inf: probability 0
    assert masked.tolist() == [[1.0, 0.0]]


@pytest.mark.parametrize("args, match", [
    (([1.0, float("nan")], 4.2, 10), "w must be finite"),
    (([1.0, 2.0], float("inf"), 10), "b must be finite"),
    (([1.0, 2.0], torch.tensor(float("nan")), 10), "b must be finite"),
    (([1.0, 2.0], 4.2, 10, float("nan")), "noise .* finite number >= 0"),
    (([1.0, 2.0], 4.2, 10, -0.1), "noise .* finite number >= 0"),
])
def test_synthetic_data_refuses_non_finite_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        d2lmini.synthetic_data(*args)


def test_synthetic_data_without_noise_is_exact():
    X, y = d2lmini.synthetic_data([2.0, -3.4], 4.2, 5, noise=0.0, device="cpu")
    assert torch.allclose(y, X @ torch.tensor([[2.0], [-3.4]]) + 4.2)


# ---------------------------------------------------------------- unclear errors at the boundary

def linear_regression_parts():
    X, y = d2lmini.synthetic_data([2.0], 1.0, 20, device="cpu")
    w = torch.zeros(1, 1, requires_grad=True)
    return X, y, w, (lambda X: X @ w), d2lmini.squared_loss


def test_train_with_no_batches_says_so():
    X, y, w, net, loss = linear_regression_parts()
    with pytest.raises(ValueError, match="batches is empty: there are no minibatches"):
        d2lmini.train(net, loss, lambda n: d2lmini.sgd([w], 0.1, n), [], 1, progress=False)


def test_train_with_a_number_as_updater_names_updater():
    X, y, w, net, loss = linear_regression_parts()
    with pytest.raises(ValueError, match=r"updater must be a torch optimizer or a function "
                                         r"updater\(batch_size\).*got float 0.03"):
        d2lmini.train(net, loss, 0.03, d2lmini.Batches(X, y, 5), 1, progress=False)


@pytest.mark.parametrize("batches", [torch.zeros(4, 2), 5])
def test_train_with_something_else_than_batches_names_batches(batches):
    X, y, w, net, loss = linear_regression_parts()
    with pytest.raises(ValueError, match="batches must be an iterable of"):
        d2lmini.train(net, loss, lambda n: d2lmini.sgd([w], 0.1, n), batches, 1)


def test_evaluate_accuracy_of_nothing_says_so():
    with pytest.raises(ValueError, match="data_iter gave no examples"):
        d2lmini.evaluate_accuracy(nn.Linear(2, 2), [])


def test_sgd_without_gradients_says_to_call_backward():
    w, b = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
    (w.sum() * 2).backward()  # b took no part: no gradient
    with pytest.raises(ValueError, match=r"params\[1\] \(shape \(1,\)\) has no gradient: call "
                                         r"loss.backward\(\) before sgd"):
        d2lmini.sgd([w, b], 0.1, 1)
    assert w.tolist() == [0.0, 0.0]  # nothing was half-updated
    with pytest.raises(ValueError, match="without requires_grad=True"):
        d2lmini.sgd([torch.zeros(2)], 0.1, 1)


def test_empty_data_is_called_empty():
    X, y = torch.zeros(0, 2), torch.zeros(0, 1)
    for make in (lambda: d2lmini.Batches(X, y, 1), lambda: list(d2lmini.data_iter(1, X, y)),
                 lambda: d2lmini.load_array((X, y), 1)):
        with pytest.raises(ValueError, match="the data is empty: features has 0 examples"):
            make()


@pytest.mark.parametrize("batch_size", [5, 2])
def test_load_array_of_a_bare_tensor_says_what_to_pass(batch_size):
    X = torch.zeros(4, 3)
    with pytest.raises(ValueError, match=r"tuple of tensors .* load_array\(\(features, labels\), "
                                         r"batch_size\); got a single tensor of shape \(4, 3\)"):
        d2lmini.load_array(X, batch_size)


def test_load_array_of_a_lone_tensor_in_a_tuple_still_works():
    loader = d2lmini.load_array((torch.arange(6.0),), 4, is_train=False)
    assert [len(b[0]) for b in loader] == [4, 2]
