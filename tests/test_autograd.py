"""Chapter 6's scalar engine, d2lmini.autograd.Value: its gradients are torch's, on random graphs
in float64 to 1e-9, and the chain rule adds the paths through a node used more than once."""

import math
import random

import pytest
import torch

import d2lmini
from d2lmini.autograd import Value

UNARY = ["exp", "log", "tanh", "sigmoid", "relu", "square", "cube", "reciprocal", "sqrt", "neg"]
BINARY = ["add", "sub", "mul", "div", "radd", "rsub", "rmul", "rdiv"]


def apply(op, a, b=None, c=2.5):
    """The same operation on Values or on float64 tensors (b: a second node, c: a constant)."""
    is_value = isinstance(a, Value)
    unary = {"exp": lambda: a.exp() if is_value else a.exp(),
             "log": lambda: a.log(),
             "tanh": lambda: a.tanh(),
             "sigmoid": lambda: a.sigmoid(),
             "relu": lambda: a.relu(),
             "square": lambda: a ** 2, "cube": lambda: a ** 3, "reciprocal": lambda: a ** -1,
             "sqrt": lambda: a ** 0.5, "neg": lambda: -a}
    binary = {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
              "div": lambda: a / b, "radd": lambda: c + a, "rsub": lambda: c - a,
              "rmul": lambda: c * a, "rdiv": lambda: c / a}
    return (unary | binary)[op]()


def allowed(op, x, y=None):
    """Whether op is defined and tame at these values (no log of a negative, no overflow)."""
    return {"log": x > 0.1, "sqrt": x > 0.1, "exp": abs(x) < 5, "reciprocal": abs(x) > 0.2,
            "rdiv": abs(x) > 0.2, "div": y is not None and abs(y) > 0.2,
            "cube": abs(x) < 5, "square": abs(x) < 20, "relu": abs(x) > 1e-6}.get(op, True)


def random_graph(seed, inputs=4, operations=25):
    """The same random expression built twice, from Values and from float64 tensors; returns
    (output Value, input Values, output tensor, input tensors, the operations used)."""
    rng = random.Random(seed)
    start = [rng.uniform(-2, 2) for _ in range(inputs)]
    values = [Value(x) for x in start]
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in start]
    nodes, used = list(zip(values, tensors)), set()
    for _ in range(operations):
        (a, ta), (b, tb) = rng.choice(nodes), rng.choice(nodes)  # nodes are reused: fan-out
        op = rng.choice(UNARY + BINARY)
        if not allowed(op, a.data, b.data):
            continue
        c = rng.uniform(0.5, 3)
        nodes.append((apply(op, a, b, c), apply(op, ta, tb, c)))
        if abs(nodes[-1][0].data) > 1e6:  # keep the numbers tame
            nodes.pop()
        else:
            used.add(op)
    last = nodes[-6:]
    output, t_output = last[0]
    for node, t_node in last[1:]:
        output, t_output = output + node, t_output + t_node
    return output, values, t_output, tensors, used


@pytest.mark.parametrize("seed", range(40))
def test_gradients_equal_torch_autograd_on_random_graphs(seed):
    output, values, t_output, tensors, _ = random_graph(seed)
    assert math.isclose(output.data, t_output.item(), rel_tol=1e-12, abs_tol=1e-12)
    output.backward()
    t_output.backward()
    for value, tensor in zip(values, tensors):
        want = 0.0 if tensor.grad is None else tensor.grad.item()
        assert math.isclose(value.grad, want, rel_tol=1e-9, abs_tol=1e-9), (value.grad, want)
    assert any(value.grad != 0 for value in values)  # the output depends on the inputs


def test_random_graphs_use_every_operation():
    """So that the test above cannot pass by leaving some operation out."""
    used = set().union(*(random_graph(seed)[4] for seed in range(40)))
    assert used == set(UNARY + BINARY)


def test_a_wrong_local_derivative_is_caught_by_the_comparison(monkeypatch):
    """The comparison can fail: tanh with the derivative of sigmoid gives other gradients."""
    def wrong_tanh(self):
        t = math.tanh(self.data)
        return Value(t, [(self, t * (1 - t))])

    monkeypatch.setattr(Value, "tanh", wrong_tanh)
    x, tx = Value(0.7), torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    (x.tanh() * 3).backward()
    (tx.tanh() * 3).backward()
    assert not math.isclose(x.grad, tx.grad.item(), rel_tol=1e-9)


def test_paths_through_a_node_used_twice_add_up():
    x = Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == 7.0
    w = Value(-0.5)
    loss = (w * 2.0 + 1).tanh() ** 2 + 0.1 * w ** 2  # w reaches the loss along two paths
    loss.backward()
    tw = torch.tensor(-0.5, dtype=torch.float64, requires_grad=True)
    ((tw * 2.0 + 1).tanh() ** 2 + 0.1 * tw ** 2).backward()
    assert math.isclose(w.grad, tw.grad.item(), rel_tol=1e-12)


def test_a_second_backward_adds_to_the_gradients_as_torch_does():
    x = Value(2.0)
    y = x * 5
    y.backward()
    y.backward()
    assert x.grad == 10.0  # accumulated, like .grad in PyTorch, until set back to 0


def test_a_deep_graph_needs_no_recursion():
    x = Value(1.0)
    total = Value(0.0)
    for _ in range(5000):  # deeper than Python's recursion limit
        total = total + x
    total.backward()
    assert x.grad == 5000.0


def test_plain_numbers_on_either_side():
    x = Value(4.0)
    for result, want in [(x + 1, 5), (1 + x, 5), (x - 1, 3), (1 - x, -3), (x * 2, 8),
                         (2 * x, 8), (x / 2, 2), (2 / x, 0.5), (-x, -4), (x ** 0.5, 2)]:
        assert isinstance(result, Value) and result.data == want


def test_functions_at_their_edges():
    assert Value(-1000.0).sigmoid().data == 0.0 and Value(1000.0).sigmoid().data == 1.0
    zero = Value(0.0)
    zero.relu().backward()
    assert zero.grad == 0.0  # torch's choice at 0 as well
    assert torch.relu(torch.tensor(0.0, requires_grad=True)).grad_fn is not None


def test_repr_shows_data_and_grad():
    assert repr(Value(2.5)) == "Value(data=2.5, grad=0)"


def test_add_to_class_adds_a_method_and_keeps_the_function():
    class Thing:
        pass

    @d2lmini.add_to_class(Thing)
    def double(self, x):
        return 2 * x

    assert Thing().double(3) == 6 and double(None, 4) == 8
