"""Chapter 6's scalar autograd engine: a Value remembers how it was computed, and backward()
applies the chain rule from the output back to every number it depends on.

Each operation stores, with its result, the pairs (input, local derivative): how much the result
moves per unit move of that input, computed during the forward pass. backward() visits the
graph from the output back, in topological order, and adds local derivative x gradient of the
output into each input's .grad. Chapter 6 writes the same class cell by cell (a test keeps the
two identical); `add_to_class` lets a class grow that way.
"""

import math
from collections.abc import Callable


def add_to_class(cls: type) -> Callable[[Callable], Callable]:
    """Decorator: make the function below a method of cls (so a class can grow cell by cell)."""
    def add(method: Callable) -> Callable:
        setattr(cls, method.__name__, method)
        return method
    return add


class Value:
    """A number that remembers its inputs and local derivatives, so backward() finds gradients.

    `.data` is the number, `.grad` the derivative of the output that backward() was called on
    with respect to it, `.parents` the (input, local derivative) pairs of the operation that
    made it (empty for an input).
    """

    def __init__(self, data, parents=()):
        self.data, self.grad, self.parents = float(data), 0.0, tuple(parents)

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"

    def __add__(self, other):  # d(a + b)/da = 1, d(a + b)/db = 1
        b = other if isinstance(other, Value) else Value(other)  # a number becomes a Value
        return Value(self.data + b.data, [(self, 1.0), (b, 1.0)])

    def __mul__(self, other):  # d(a b)/da = b, d(a b)/db = a
        b = other if isinstance(other, Value) else Value(other)
        return Value(self.data * b.data, [(self, b.data), (b, self.data)])

    def __pow__(self, k):  # k is a plain number: d(a^k)/da = k a^(k-1)
        return Value(self.data ** k, [(self, k * self.data ** (k - 1))])

    __radd__ = __add__  # 2 + a: Python asks a, as a + 2
    __rmul__ = __mul__

    def backward(self):
        # a topological order: every node after all the nodes it was computed from
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))  # comes back to it after its inputs
                stack.extend((parent, False) for parent, _ in node.parents)
        self.grad = 1.0
        for node in reversed(order):  # from the output back: node.grad is complete here
            for parent, local in node.parents:
                parent.grad += local * node.grad  # the chain rule; paths add up

    # the rest of arithmetic reuses +, * and **: no new derivative to write
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + -other

    def __rsub__(self, other):
        return -self + other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return self ** -1 * other

    # functions, each with its own local derivative
    def exp(self):
        e = math.exp(self.data)
        return Value(e, [(self, e)])

    def log(self):
        return Value(math.log(self.data), [(self, 1 / self.data)])

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, [(self, 1 - t * t)])

    def sigmoid(self):
        s = 0.5 * (1 + math.tanh(self.data / 2))  # = 1 / (1 + e^-a), and never overflows
        return Value(s, [(self, s * (1 - s))])

    def relu(self):
        return Value(max(self.data, 0.0), [(self, float(self.data > 0))])
