"""Gorila in bundled mode (1 actor + 1 learner, zero latency) against a plain single-process DQN.

Both use CleanRL dqn.py's CartPole settings: MLP 120-84, Adam 2.5e-4, buffer 10k, batch 128, gamma
0.99, target every 500 steps, a gradient every 10 steps, epsilon 1 -> 0.05 over half the run,
learning from step 10k. The reference is written here from the algorithm, in one loop; Gorila runs
the same algorithm through its parameter server in simulated time. Each run stops when the mean of
the last 10 episode returns reaches 475 (or at the step budget), and reports the step it got there.

    python bench/dqn_parity.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gorila_sim.config import GorilaConfig
from gorila_sim.gorila import run

TARGET = 475.0


def reference_dqn(seed: int, total_steps: int) -> tuple[int | None, float]:
    """(env steps to a 10-episode mean of 475 or None, env steps per wall second)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gym.make("CartPole-v1")

    def network() -> nn.Module:
        return nn.Sequential(nn.Linear(4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 2))

    q, target = network(), network()
    target.load_state_dict(q.state_dict())
    optimizer = torch.optim.Adam(q.parameters(), lr=2.5e-4)
    capacity, size, head = 10_000, 0, 0
    obs_buf = np.zeros((capacity, 4), np.float32)
    next_buf = np.zeros((capacity, 4), np.float32)
    act_buf = np.zeros(capacity, np.int64)
    rew_buf = np.zeros(capacity, np.float32)
    done_buf = np.zeros(capacity, np.float32)
    returns: list[float] = []
    episode_return = 0.0
    obs, _ = env.reset(seed=seed)
    started = time.perf_counter()
    for step in range(total_steps):
        epsilon = max(0.05, 1.0 - step * 0.95 / (0.5 * total_steps))
        if rng.random() < epsilon:
            action = int(rng.integers(2))
        else:
            with torch.inference_mode():
                action = int(q(torch.as_tensor(obs).unsqueeze(0)).argmax().item())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        obs_buf[head], next_buf[head], act_buf[head] = obs, next_obs, action
        rew_buf[head], done_buf[head] = reward, float(terminated)
        head, size = (head + 1) % capacity, min(size + 1, capacity)
        episode_return += float(reward)
        obs = next_obs
        if terminated or truncated:
            returns.append(episode_return)
            episode_return = 0.0
            obs, _ = env.reset()
            if len(returns) >= 10 and np.mean(returns[-10:]) >= TARGET:
                return step + 1, (step + 1) / (time.perf_counter() - started)
        if step > 10_000 and step % 10 == 0:
            i = rng.integers(size, size=128)
            rewards, dones = torch.from_numpy(rew_buf[i]), torch.from_numpy(done_buf[i])
            with torch.no_grad():
                best_next = target(torch.from_numpy(next_buf[i])).max(dim=1).values
                td_target = rewards + 0.99 * best_next * (1 - dones)
            actions = torch.from_numpy(act_buf[i]).unsqueeze(1)
            q_taken = q(torch.from_numpy(obs_buf[i])).gather(1, actions).squeeze(1)
            loss = F.mse_loss(td_target, q_taken)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if step % 500 == 0:
            target.load_state_dict(q.state_dict())
    return None, total_steps / (time.perf_counter() - started)


def gorila_bundled(seed: int, total_steps: int) -> tuple[int | None, float]:
    config = GorilaConfig(
        total_env_steps=total_steps,
        optimiser={"name": "adam", "lr": 2.5e-4},
        target_every=50,
        target_return=TARGET,
        seed=seed,
    )
    summary = run(config).summary
    return summary.get("steps_to_target"), summary["env_steps_per_wall_s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="one seed, 25k steps: throughput only (under a minute)"
    )
    args = parser.parse_args(argv)
    seeds, total = ([1], 25_000) if args.quick else ([1, 2, 3], 500_000)
    ours_steps, ours_rates, ref_rates = [], [], []
    header = ("seed", "gorila steps_to_475", "steps/s", "reference steps_to_475", "steps/s")
    print("{:>4} {:>20} {:>8} {:>23} {:>8}".format(*header))
    for seed in seeds:
        steps, rate = gorila_bundled(seed, total)
        ref_steps, ref_rate = reference_dqn(seed, total)
        ours_steps.append(steps)
        ours_rates.append(rate)
        ref_rates.append(ref_rate)
        print(f"{seed:>4} {steps!s:>20} {rate:>8.0f} {ref_steps!s:>23} {ref_rate:>8.0f}")
    within = sum(s is not None and s <= 300_000 for s in ours_steps)
    ratio = statistics.median(o / r for o, r in zip(ours_rates, ref_rates, strict=True))
    print(f"seeds reaching 475 within 300k steps: {within} of {len(seeds)}; throughput ratio {ratio:.2f}")
    mode = "quick" if args.quick else "full"
    print(
        f"RESULT mode={mode} "
        + " ".join(
            f"steps_to_475_seed{s}={v if v is not None else 'none'}"
            for s, v in zip(seeds, ours_steps, strict=True)
        )
        + f" env_steps_per_s={statistics.median(ours_rates):.0f}"
        + f" reference_env_steps_per_s={statistics.median(ref_rates):.0f}"
        + f" ratio_vs_reference={ratio:.3f} seeds_within_300k={within}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
