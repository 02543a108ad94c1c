"""The known reward and termination functions against the real environments on real transitions."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from mbmpo.envs import TASKS, task_for


def transitions(env_id: str, steps: int, seed: int = 0):
    """Real transitions under uniformly random actions, with the env's rewards and terminations."""
    env = gym.make(env_id)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    rows = []
    bound = float(env.action_space.high[0])
    for _ in range(steps):
        action = rng.uniform(-bound, bound, env.action_space.shape).astype(np.float32)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        rows.append((obs, action, next_obs, reward, terminated))
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
    obs, actions, next_obs, rewards, terminated = (np.array(column) for column in zip(*rows, strict=True))
    as_tensor = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    return as_tensor(obs), as_tensor(actions), as_tensor(next_obs), rewards, terminated


def test_pendulum_reward_is_exact():
    obs, actions, next_obs, rewards, terminated = transitions("Pendulum-v1", 600)
    task = TASKS["Pendulum-v1"]
    np.testing.assert_allclose(task.reward(obs, actions, next_obs).numpy(), rewards, rtol=1e-5, atol=1e-5)
    assert not task.terminated(next_obs).any() and not terminated.any()


@pytest.mark.parametrize(
    "env_id, mean_error, max_error",
    [
        # The forward term's approximation error, per step, under random actions (largest for the cheetah,
        # whose feet hit the ground hardest); measured 0.15/0.77, 0.002/0.04, 0.007/0.11, 0.04/0.53.
        ("HalfCheetah-v5", 0.2, 1.0),
        ("Hopper-v5", 0.01, 0.1),
        ("Walker2d-v5", 0.02, 0.2),
        ("Ant-v5", 0.08, 0.8),
    ],
)
def test_mujoco_rewards_within_their_stated_error_and_terminations_exact(env_id, mean_error, max_error):
    pytest.importorskip("mujoco")
    obs, actions, next_obs, rewards, terminated = transitions(env_id, 1500)
    task = TASKS[env_id]
    error = np.abs(task.reward(obs, actions, next_obs).numpy() - rewards)
    assert error.mean() < mean_error and error.max() < max_error
    np.testing.assert_array_equal(task.terminated(next_obs).numpy(), terminated)


@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5"])
def test_mujoco_episode_returns_off_by_under_003_per_step(env_id):
    """Per-step errors are mostly noise around zero: over whole episodes they nearly cancel (measured:
    at most 0.019 per step over ten 200-step episodes of each)."""
    pytest.importorskip("mujoco")
    env = gym.make(env_id, max_episode_steps=200)
    task = TASKS[env_id]
    rng = np.random.default_rng(1)
    for episode in range(3):
        obs, _ = env.reset(seed=episode)
        ours = real = 0.0
        steps, done = 0, False
        while not done:
            action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            t = [torch.as_tensor(x, dtype=torch.float64) for x in (obs, action, next_obs)]
            ours += float(task.reward(*t))
            real += reward
            steps += 1
            obs, done = next_obs, terminated or truncated
        assert abs(ours - real) / steps < 0.03


def test_action_bounds_match_the_environments():
    for env_id, task in TASKS.items():
        if env_id != "Pendulum-v1" and pytest.importorskip("mujoco") is None:
            continue
        space = gym.make(env_id).action_space
        assert np.all(space.high == task.action_bound) and np.all(space.low == -task.action_bound)


def test_unknown_environment_is_a_one_line_error_naming_the_field():
    with pytest.raises(
        ValueError, match=r"^env_id: unknown environment 'CartPole-v1'; choose one of"
    ) as info:
        task_for("CartPole-v1")
    assert "\n" not in str(info.value)
