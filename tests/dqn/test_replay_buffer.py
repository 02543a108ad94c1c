import numpy as np
import pytest

from gorila_sim.dqn import ReplayBuffer


def transitions(n: int, start: int = 0) -> tuple[np.ndarray, ...]:
    """n transitions whose fields all encode their index, so that where each one went can be read back."""
    index = np.arange(start, start + n)
    obs = np.stack([index, -index], axis=1).astype(np.float32)
    return obs, index % 3, index.astype(np.float32), obs + 0.5, index % 2 == 0


def stored(buffer: ReplayBuffer) -> set[int]:
    batch = buffer.sample(np.random.default_rng(0), 2000)
    return set(batch.obs[:, 0].astype(int).tolist())


def test_add_and_sample_fields():
    buffer = ReplayBuffer(8, (2,))
    for t in zip(*transitions(5), strict=True):
        buffer.add(*t)
    assert len(buffer) == 5
    batch = buffer.sample(np.random.default_rng(1), 64)
    index = batch.obs[:, 0].astype(int)
    assert batch.obs.shape == batch.next_obs.shape == (64, 2)
    assert batch.obs.dtype == np.float32 and batch.actions.dtype == np.int64
    assert batch.rewards.dtype == batch.terminated.dtype == np.float32
    np.testing.assert_array_equal(batch.actions, index % 3)
    np.testing.assert_array_equal(batch.rewards, index)
    np.testing.assert_array_equal(batch.next_obs, batch.obs + 0.5)
    np.testing.assert_array_equal(batch.terminated, (index % 2 == 0).astype(np.float32))


def test_wrap_around_keeps_the_newest():
    buffer = ReplayBuffer(5, (2,))
    for t in zip(*transitions(7), strict=True):
        buffer.add(*t)
    assert len(buffer) == 5
    assert stored(buffer) == {2, 3, 4, 5, 6}


@pytest.mark.parametrize("sizes", [[3, 4, 2], [12], [1, 1, 9, 2, 5], [4, 0, 4]])
def test_add_batch_equals_repeated_add(sizes):
    one_by_one = ReplayBuffer(5, (2,))
    batched = ReplayBuffer(5, (2,))
    start = 0
    for n in sizes:
        chunk = transitions(n, start)
        for t in zip(*chunk, strict=True):
            one_by_one.add(*t)
        batched.add_batch(*chunk)
        start += n
        assert len(batched) == len(one_by_one)
        if len(batched):
            a = one_by_one.sample(np.random.default_rng(start), 500)
            b = batched.sample(np.random.default_rng(start), 500)
            for field in ("obs", "actions", "rewards", "next_obs", "terminated"):
                np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_add_batch_rejects_ragged_arrays():
    obs, actions, rewards, next_obs, terminated = transitions(4)
    with pytest.raises(ValueError, match="length"):
        ReplayBuffer(8, (2,)).add_batch(obs, actions[:3], rewards, next_obs, terminated)


def test_sampling_is_uniform():
    buffer = ReplayBuffer(10, (2,))
    buffer.add_batch(*transitions(23))  # wrapped: holds 13..22
    draws = 100_000
    batch = buffer.sample(np.random.default_rng(2), draws)
    counts = np.bincount(batch.obs[:, 0].astype(int) - 13, minlength=10)
    assert counts.size == 10
    expected = draws / 10
    chi_square = ((counts - expected) ** 2 / expected).sum()
    assert chi_square < 30  # 9 degrees of freedom: P(chi2 > 30) < 0.001


def test_uint8_frames():
    buffer = ReplayBuffer(4, (4, 84, 84), np.uint8)
    frame = np.full((4, 84, 84), 255, dtype=np.uint8)
    buffer.add(frame, 1, 1.0, frame, False)
    batch = buffer.sample(np.random.default_rng(3), 2)
    assert batch.obs.dtype == np.uint8 and batch.obs.shape == (2, 4, 84, 84)


def test_clear_and_empty_sampling():
    buffer = ReplayBuffer(5, (2,))
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(np.random.default_rng(), 1)
    buffer.add_batch(*transitions(3))
    buffer.clear()
    assert len(buffer) == 0
    buffer.add_batch(*transitions(2, start=100))
    assert stored(buffer) == {100, 101}


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, (2,))
