import numpy as np
import pytest
import torch

from gorila_sim.dqn import FlatParams, ShardLayout, mlp_q_network


def test_round_trip_and_layout():
    network = mlp_q_network(4, 2)
    params = FlatParams(network)
    expected = torch.cat([p.detach().reshape(-1) for p in network.parameters()]).numpy()
    assert params.size == expected.size == 4 * 120 + 120 + 120 * 84 + 84 + 84 * 2 + 2
    np.testing.assert_array_equal(params.get(), expected)

    theta = np.random.default_rng(0).normal(size=params.size).astype(np.float32)
    params.set(theta)
    np.testing.assert_array_equal(params.get(), theta)
    np.testing.assert_array_equal(network[0].weight.detach().numpy().reshape(-1), theta[: 4 * 120])


def test_get_is_a_copy_and_set_copies():
    params = FlatParams(mlp_q_network(4, 2))
    theta = params.get()
    before = theta.copy()
    theta += 1.0
    np.testing.assert_array_equal(params.get(), before)
    params.set(theta)
    set_value = theta.copy()
    theta += 1.0
    np.testing.assert_array_equal(params.get(), set_value)


def test_set_changes_outputs():
    network = mlp_q_network(4, 2)
    params = FlatParams(network)
    obs = torch.ones(1, 4)
    with torch.no_grad():
        before = network(obs).clone()
        params.set(params.get() * 2.0)
        after = network(obs)
        params.set(np.zeros(params.size, dtype=np.float32))
        zero = network(obs)
    assert not torch.equal(before, after)
    assert torch.equal(zero, torch.zeros(1, 2))


def test_grad_layout_and_module_optimisers_still_work():
    network = mlp_q_network(4, 2)
    params = FlatParams(network)
    with pytest.raises(RuntimeError, match="backward"):
        params.grad()
    network(torch.randn(8, 4)).square().mean().backward()
    grad = params.grad()
    expected = torch.cat([p.grad.reshape(-1) for p in network.parameters()]).numpy()
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, expected)

    before = params.get()
    torch.optim.SGD(network.parameters(), lr=0.1).step()
    np.testing.assert_allclose(params.get(), before - 0.1 * grad, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros(9, dtype=np.float32), "shape"),
        (np.zeros((2, 5), dtype=np.float32), "shape"),
        (np.zeros(10, dtype=np.float64), "float32"),
        (np.array([np.nan] + [0.0] * 9, dtype=np.float32), "NaN"),
        (np.array([np.inf] + [0.0] * 9, dtype=np.float32), "infinite"),
        ([0.0] * 10, "list"),
    ],
)
def test_set_rejects_bad_vectors(bad, match):
    params = FlatParams(torch.nn.Linear(4, 2))  # 10 parameters
    with pytest.raises(ValueError, match=match):
        params.set(bad)


def test_binding_again_is_caught():
    network = mlp_q_network(4, 2)
    first = FlatParams(network)
    FlatParams(network)
    with pytest.raises(RuntimeError, match="bound again"):
        first.set(first.get())


def test_module_without_parameters_is_rejected():
    with pytest.raises(ValueError, match="no parameters"):
        FlatParams(torch.nn.ReLU())


@pytest.mark.parametrize(("size", "shards"), [(1, 1), (10, 1), (10, 3), (10, 10), (10934, 4), (10934, 7)])
def test_shards_cover_everything_once(size, shards):
    layout = ShardLayout(size, shards)
    assert len(layout.slices) == shards
    assert layout.slices[0].start == 0 and layout.slices[-1].stop == size
    for left, right in zip(layout.slices, layout.slices[1:], strict=False):
        assert left.stop == right.start
    sizes = [s.stop - s.start for s in layout.slices]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1

    flat = np.arange(size, dtype=np.float32)
    parts = layout.split(flat)
    assert all(np.shares_memory(part, flat) for part in parts)
    np.testing.assert_array_equal(np.concatenate(parts), flat)
    np.testing.assert_array_equal(layout.join(parts), flat)


@pytest.mark.parametrize(("size", "shards"), [(10, 0), (10, -1), (10, 11), (0, 1)])
def test_bad_shard_counts(size, shards):
    with pytest.raises(ValueError, match="shards"):
        ShardLayout(size, shards)


def test_split_and_join_check_sizes():
    layout = ShardLayout(10, 3)
    with pytest.raises(ValueError, match=r"\(10,\)"):
        layout.split(np.zeros(9, dtype=np.float32))
    parts = layout.split(np.zeros(10, dtype=np.float32))
    with pytest.raises(ValueError, match="3 parts"):
        layout.join(parts[:2])
    with pytest.raises(ValueError, match="3 parts"):
        layout.join([parts[1], parts[0], parts[2]])
