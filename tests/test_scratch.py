import ast
import inspect

import pytest
import torch
from code_equality import difference

import d2lmini


def test_linreg_is_xw_plus_b():
    X, w, b = torch.randn(5, 2), torch.randn(2, 1), torch.randn(1)
    assert torch.allclose(d2lmini.linreg(X, w, b), X @ w + b)


def test_squared_loss_is_per_example_and_halved():
    y_hat, y = torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0])  # y flat, as in d2l
    loss = d2lmini.squared_loss(y_hat, y)
    assert loss.shape == (2, 1)
    assert loss.flatten().tolist() == [0.5, 2.0]


def test_sgd_steps_in_place_and_zeroes_grads():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * torch.tensor([3.0, 4.0])).sum().backward()
    d2lmini.sgd([w], lr=0.5, batch_size=2)
    assert w.tolist() == [1.0 - 0.5 * 3 / 2, 2.0 - 0.5 * 4 / 2]
    assert w.grad.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), "0.1", None])
def test_sgd_rejects_bad_learning_rates(lr):
    w = torch.zeros(1, requires_grad=True)
    w.grad = torch.ones(1)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        d2lmini.sgd([w], lr, 1)


@pytest.mark.parametrize("batch_size", [0, 1.5])
def test_sgd_rejects_bad_batch_sizes(batch_size):
    w = torch.zeros(1, requires_grad=True)
    w.grad = torch.ones(1)
    with pytest.raises(ValueError, match="batch_size"):
        d2lmini.sgd([w], 0.1, batch_size)


def test_dividing_by_the_real_last_batch_size_gives_the_mean_gradient():
    # 1000 examples, batch 300: the last batch has 100; sgd must get 100, not 300
    torch.manual_seed(0)
    X, y = torch.randn(100, 2), torch.randn(100, 1)
    w = torch.zeros(2, 1, requires_grad=True)
    d2lmini.squared_loss(X @ w, y).sum().backward()
    mean_grad = w.grad.clone() / 100
    d2lmini.sgd([w], lr=1.0, batch_size=len(X))
    assert torch.allclose(w.detach(), -mean_grad)


def test_softmax_rows_are_probabilities_even_for_huge_logits():
    X = torch.tensor([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0], [-1000.0, -1000.0, -1000.0]])
    P = d2lmini.softmax(X)
    assert torch.isfinite(P).all() and (P >= 0).all()
    assert torch.allclose(P.sum(dim=1), torch.ones(3))
    assert torch.allclose(P, torch.softmax(X, dim=1))


def test_cross_entropy_matches_torch():
    torch.manual_seed(0)
    logits, y = torch.randn(8, 10) * 5, torch.randint(0, 10, (8,))
    ours = d2lmini.cross_entropy(d2lmini.softmax(logits), y)
    assert ours.shape == (8,)
    expected = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    assert torch.allclose(ours, expected, atol=1e-6)


def test_linreg_with_integer_features_says_to_convert_them():
    with pytest.raises(ValueError, match=r"X has dtype torch.int64 but w has torch.float32.*"
                                         r"X.float\(\)"):
        d2lmini.linreg(torch.ones(3, 2, dtype=torch.long), torch.ones(2, 1), 0.0)


def test_linreg_with_a_weight_per_missing_feature():
    with pytest.raises(ValueError, match=r"X has 2 columns .* but w has 3 rows"):
        d2lmini.linreg(torch.ones(3, 2), torch.ones(3, 1), 0.0)


def test_squared_loss_with_a_label_missing():
    with pytest.raises(ValueError, match=r"y has 19 values .* but y_hat has 20 .*one label per "
                                         r"prediction"):
        d2lmini.squared_loss(torch.ones(20, 1), torch.ones(19))


def test_softmax_of_one_example_as_a_vector():
    with pytest.raises(ValueError, match=r"X must have shape \(examples, classes\), got "
                                         r"\(10,\).*X.reshape\(1, -1\)"):
        d2lmini.softmax(torch.ones(10))


# ---------------------------------------------------------------- the same code as the chapters

CANONICAL = '''
def synthetic_data(w, b, num_examples, noise=0.01, device=None):
    X = torch.normal(0, 1, (num_examples, len(w)), device=device)
    y = X @ w.reshape(-1, 1) + b
    y += torch.normal(0, noise, y.shape, device=device)
    return X, y


def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = torch.randperm(num_examples, device=features.device)
    for i in range(0, num_examples, batch_size):
        batch_indices = indices[i:i + batch_size]
        yield features[batch_indices], labels[batch_indices]


def linreg(X, w, b):
    return X @ w + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def softmax(X):
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])


def accuracy(y_hat, y):
    return (y_hat.argmax(dim=1) == y).float().mean().item()


def evaluate_accuracy(net, data_iter):
    if isinstance(net, torch.nn.Module):
        was_training = net.training
        net.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for X, y in data_iter:
            y_hat = net(X)
            correct += (y_hat.argmax(dim=1) == y).sum()
            count += len(y)
    if isinstance(net, torch.nn.Module):
        net.train(was_training)
    return float(correct) / count
'''


@pytest.mark.parametrize("name", [f.name for f in ast.parse(CANONICAL).body])
def test_package_function_is_the_chapters_code_plus_checks(name):
    chapters = next(f for f in ast.parse(CANONICAL).body if f.name == name)
    diff = difference(ast.get_source_segment(CANONICAL, chapters),
                      inspect.getsource(getattr(d2lmini, name)))
    assert diff is None, f"d2lmini.{name} is not the chapters' code:\n{diff}"
