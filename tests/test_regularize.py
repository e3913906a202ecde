"""dropout_layer, l2_penalty and l1_penalty (chapter 5): values, expectation, edges, messages."""

import pytest
import torch

import d2lmini
from d2lmini import dropout_layer, l1_penalty, l2_penalty


def test_penalties_values():
    w = torch.tensor([[3.0, -4.0], [0.0, 1.0]])
    assert l2_penalty(w).item() == pytest.approx((9 + 16 + 0 + 1) / 2)
    assert l1_penalty(w).item() == pytest.approx(3 + 4 + 0 + 1)
    assert l2_penalty(torch.zeros(5)).item() == 0 and l1_penalty(torch.zeros(5)).item() == 0


def test_penalties_gradients_are_w_and_sign_w():
    w = torch.tensor([2.0, -0.5, 1.5], requires_grad=True)
    l2_penalty(w).backward()
    assert torch.allclose(w.grad, w.detach())  # d/dw (|w|^2 / 2) = w
    w.grad = None
    l1_penalty(w).backward()
    assert torch.equal(w.grad, torch.tensor([1.0, -1.0, 1.0]))  # d/dw |w| = sign(w)


def test_dropout_keeps_or_zeroes_and_scales_the_kept():
    d2lmini.set_seed(0)
    X = torch.arange(1, 1001, dtype=torch.float32).reshape(10, 100)
    out = dropout_layer(X, 0.5)
    kept = out != 0
    assert torch.allclose(out[kept], 2 * X[kept])  # scaled by 1 / (1 - 0.5)
    assert 0.4 < kept.float().mean().item() < 0.6  # about half kept
    assert out.shape == X.shape and out.dtype == X.dtype


def test_dropout_expectation_is_X():
    d2lmini.set_seed(0)
    X = torch.randn(4, 8)
    for p in [0.2, 0.5, 0.8]:
        mean = torch.stack([dropout_layer(X, p) for _ in range(4000)]).mean(dim=0)
        # the mean of 4000 masks: standard error <= |X| sqrt(p / (1 - p) / 4000) < 0.1 |X|
        assert torch.allclose(mean, X, atol=0.15 * X.abs().max().item()), p


def test_zero_and_one_dropout():
    X = torch.randn(50, 50)
    assert torch.equal(dropout_layer(X, 0), X)  # nothing dropped, nothing scaled
    assert torch.equal(dropout_layer(X, 0.0), X)
    out = dropout_layer(X, 1)
    assert torch.equal(out, torch.zeros_like(X))  # all dropped, no division by zero
    assert torch.isfinite(dropout_layer(X, 1.0)).all()


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), "0.5", None, True])
def test_dropout_outside_0_1_names_the_argument_and_range(bad):
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\]"):
        dropout_layer(torch.ones(3), bad)


def test_inputs_that_are_not_tensors_get_a_clear_message():
    with pytest.raises(ValueError, match="X must be a torch tensor, got list"):
        dropout_layer([1.0, 2.0], 0.5)
    with pytest.raises(ValueError, match="w must be a torch tensor, got ndarray"):
        import numpy as np
        l2_penalty(np.ones(3))
    with pytest.raises(ValueError, match="w must be a torch tensor, got float"):
        l1_penalty(2.0)


def test_mask_is_made_on_the_device_of_X(monkeypatch):
    seen = []
    real_rand = torch.rand

    def spy(*args, **kwargs):
        seen.append(kwargs.get("device"))
        return real_rand(*args, **kwargs)

    monkeypatch.setattr(torch, "rand", spy)
    X = torch.ones(3, 4, device="meta")  # a device without data: a CPU mask would not mix
    out = dropout_layer(X, 0.3)
    assert seen == [X.device] and out.device == X.device
    if torch.cuda.is_available():
        X = torch.ones(3, 4, device="cuda")
        assert dropout_layer(X, 0.3).device == X.device


def test_gradients_flow_through_kept_units_only():
    d2lmini.set_seed(1)
    X = torch.ones(20, 30, requires_grad=True)
    out = dropout_layer(X, 0.25)
    out.sum().backward()
    kept = (out != 0).float()
    assert torch.allclose(X.grad, kept / 0.75)  # 1 / (1 - p) where kept, 0 where dropped
    w = torch.randn(5, requires_grad=True)
    (l2_penalty(w) + l1_penalty(w)).backward()
    assert torch.allclose(w.grad, w.detach() + w.detach().sign())


def test_dropout_one_keeps_the_graph_and_the_gradient_is_zero():
    X = torch.randn(4, 5, requires_grad=True)
    out = dropout_layer(X * 2, 1)  # X * 2: a layer's output, as in a network
    assert torch.equal(out, torch.zeros(4, 5)) and out.requires_grad
    out.sum().backward()
    assert X.grad is not None and torch.equal(X.grad, torch.zeros(4, 5))


@pytest.mark.parametrize("X", [torch.arange(6), torch.ones(3, dtype=torch.int32),
                               torch.tensor([True, False])], ids=["int64", "int32", "bool"])
@pytest.mark.parametrize("p", [0, 0.5, 1])
def test_dropout_refuses_integer_and_bool_X_for_every_p(X, p):
    with pytest.raises(ValueError, match=rf"X must hold floating-point numbers .*got dtype "
                                         rf"{X.dtype}.*X\.float\(\)"):
        dropout_layer(X, p)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float64, torch.complex64])
def test_dropout_keeps_a_floating_dtype_for_every_p(dtype):
    X = torch.ones(3, 4, dtype=dtype)
    assert {dropout_layer(X, p).dtype for p in [0, 0.5, 1]} == {dtype}


@pytest.mark.parametrize("penalty", [l1_penalty, l2_penalty])
def test_penalties_refuse_bool_and_complex_w_with_what_to_do(penalty):
    with pytest.raises(ValueError, match=r"w must hold numbers, got True/False.*w\.float\(\)"):
        penalty(torch.tensor([True, False, True]))
    with pytest.raises(ValueError, match=r"w must hold real numbers, got dtype torch\.complex64"
                                         r".*w\.abs\(\).*view_as_real"):
        penalty(torch.tensor([1 + 1j, 2j]))
    assert penalty(torch.tensor([3, -4])).item() == (12.5 if penalty is l2_penalty else 7)
