import math
import re

import pytest
import torch

import d2lmini
from d2lmini.data import Batches


@pytest.fixture
def data():
    torch.manual_seed(0)
    return d2lmini.synthetic_data([2, -3.4], 4.2, 1000)


def test_synthetic_data_shapes_and_relation(data):
    X, y = data
    assert X.shape == (1000, 2) and y.shape == (1000, 1)
    residual = y - (X @ torch.tensor([[2.0], [-3.4]], device=X.device) + 4.2)
    assert residual.std().item() == pytest.approx(0.01, rel=0.15)


def test_synthetic_data_lives_on_the_chosen_device(data):
    assert data[0].device.type == d2lmini.try_gpu().type


def test_last_partial_batch_is_yielded_with_its_real_size(data):
    sizes = [len(X) for X, _ in Batches(*data, batch_size=300)]
    assert sizes == [300, 300, 300, 100]


def test_drop_last_drops_the_partial_batch(data):
    batches = Batches(*data, batch_size=300, drop_last=True)
    assert [len(X) for X, _ in batches] == [300, 300, 300] and len(batches) == 3


def test_batches_cover_every_example_once_per_epoch(data):
    X, y = data
    seen = torch.cat([yb for _, yb in Batches(X, y, batch_size=64)])
    assert torch.equal(seen.sort(dim=0).values, y.sort(dim=0).values)


def test_batches_keep_pairs_together(data):
    X, y = data
    for Xb, yb in Batches(X, y, batch_size=7):
        expected = Xb @ torch.tensor([[2.0], [-3.4]], device=X.device) + 4.2
        assert torch.allclose(yb, expected, atol=0.1)


def test_same_seed_same_order_new_order_each_epoch(data):
    a, b = Batches(*data, 100, seed=3), Batches(*data, 100, seed=3)
    first_a, first_b = next(iter(a))[1], next(iter(b))[1]
    assert torch.equal(first_a, first_b)
    assert not torch.equal(next(iter(a))[1], first_a)


def test_unshuffled_batches_are_slices(data):
    X, y = data
    Xb, _ = next(iter(Batches(X, y, 10, shuffle=False)))
    assert torch.equal(Xb, X[:10])


def test_data_iter_matches_d2l_behaviour(data):
    sizes = [len(X) for X, _ in d2lmini.data_iter(300, *data)]
    assert sizes == [300, 300, 300, 100]


def test_load_array_is_a_dataloader(data):
    X, y = (t.cpu() for t in data)
    loader = d2lmini.load_array((X, y), 300, is_train=False)
    assert [len(b[0]) for b in loader] == [300, 300, 300, 100]
    assert torch.equal(next(iter(loader))[0], X[:300])


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "10", True, 1001])
def test_bad_batch_size_is_named(data, batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        Batches(*data, batch_size=batch_size)
    with pytest.raises(ValueError, match="batch_size"):
        list(d2lmini.data_iter(batch_size, *data))


def test_batch_size_larger_than_data_says_the_range(data):
    with pytest.raises(ValueError, match="between 1 and 1000"):
        Batches(*data, batch_size=5000)


def test_mismatched_lengths_are_named(data):
    X, y = data
    with pytest.raises(ValueError, match="same number of examples"):
        Batches(X, y[:10], 5)
    with pytest.raises(ValueError, match="same number of examples"):
        d2lmini.load_array((X.cpu(), y[:10].cpu()), 5)


def test_num_examples_must_be_positive():
    with pytest.raises(ValueError, match="num_examples"):
        d2lmini.synthetic_data([1.0], 0.0, 0)


def test_set_seed_makes_runs_repeatable():
    d2lmini.set_seed(5)
    a = torch.randn(3)
    d2lmini.set_seed(5)
    assert torch.equal(a, torch.randn(3))


def test_try_gpu_falls_back_to_cpu_when_asked_for_a_missing_gpu():
    assert d2lmini.try_gpu(99) == torch.device("cpu")


def test_unseeded_batches_follow_set_seed(data):
    def first_batch():
        d2lmini.set_seed(7)
        return next(iter(d2lmini.data_iter(10, *data)))[1]
    assert torch.equal(first_batch(), first_batch())


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("per_chunk", [1, 3])
def test_batches_gathered_a_chunk_at_a_time_are_those_of_one_index_per_batch(
        data, monkeypatch, drop_last, per_chunk):
    X, y = data
    monkeypatch.setattr(d2lmini.data, "CHUNK_BYTES", 7 * 12 * per_chunk)  # 12 bytes a row
    batches = Batches(X, y, 7, drop_last=drop_last, seed=5)
    generator = torch.Generator().manual_seed(5)
    for _ in range(2):  # two epochs, two orders
        order = torch.randperm(len(X), generator=generator).to(X.device)
        expected = [order[i:i + 7] for i in range(0, len(batches) * 7, 7)]
        got = list(batches)
        assert len(got) == len(expected) == len(batches)
        for (Xb, yb), idx in zip(got, expected):
            assert torch.equal(Xb, X[idx]) and torch.equal(yb, y[idx])


@pytest.mark.parametrize("seed", ["abc", 2.5, False, -2**64])
def test_a_seed_that_is_not_an_integer_is_named(data, seed):
    with pytest.raises(ValueError, match=r"^seed must be an integer .* or None"):
        Batches(*data, 10, seed=seed)


@pytest.mark.parametrize("i", [-1, 0.5, "0", None])
def test_try_gpu_needs_a_gpu_number(i):
    with pytest.raises(ValueError, match=r"try_gpu\(i\) needs a GPU number i, an integer >= 0"):
        d2lmini.try_gpu(i)


@pytest.mark.parametrize("shape", ["spiral", "moons", "circles", "xor"])
def test_two_class_2d_gives_points_in_the_plane_of_two_balanced_classes(shape):
    X, y = d2lmini.two_class_2d(shape, 400, noise=0.0, device="cpu")
    assert X.shape == (400, 2) and y.shape == (400,) and X.dtype == torch.float32
    assert set(y.tolist()) == {0, 1} and abs(y.float().mean().item() - 0.5) < 0.1
    assert X.abs().max() <= 1.4
    again = d2lmini.two_class_2d(shape, 400, noise=0.0, device="cpu")
    assert torch.equal(X, again[0]) and torch.equal(y, again[1])  # seeded
    other = d2lmini.two_class_2d(shape, 400, noise=0.0, seed=1, device="cpu")
    assert not torch.equal(X, other[0])


def test_two_class_2d_shapes_are_what_they_say():
    X, y = d2lmini.two_class_2d("circles", 400, noise=0.0, device="cpu")
    radius = X.norm(dim=1)
    assert torch.allclose(radius[y == 1], torch.tensor(0.9)) and radius[y == 0].max() <= 0.5
    X, y = d2lmini.two_class_2d("xor", 400, noise=0.0, device="cpu")
    assert torch.equal(y, (X[:, 0] * X[:, 1] > 0).long())
    X, y = d2lmini.two_class_2d("spiral", 400, noise=0.0, device="cpu")
    r, angle = X.norm(dim=1), torch.atan2(X[:, 1], X[:, 0])
    turned = torch.remainder(angle - 3 * math.pi * r - math.pi * y + 1e-4, 2 * math.pi)
    assert turned.max() < 1e-3  # arm y at radius r points at angle 3 pi r + pi y
    noisy = d2lmini.two_class_2d("spiral", 400, noise=0.1, device="cpu")[0]
    assert 0.05 < (noisy - X).std() < 0.15  # the jitter's standard deviation


@pytest.mark.parametrize("kwargs, message", [
    ({"shape": "swirl"}, "shape must be one of spiral, moons, circles, xor; got 'swirl'"),
    ({"shape": "moons", "noise": -1}, "noise"),
    ({"shape": "moons", "num_examples": 0}, "num_examples"),
])
def test_two_class_2d_says_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        d2lmini.two_class_2d(**kwargs)
