"""The MB-MPO loop (Clavera et al. 2018, Algorithm 1) and the evaluation of a saved run.

    collect real data with uniformly random actions
    repeat for each iteration:
        refit the dynamics ensemble on all real data
        meta-train θ for `meta_steps` TRPO steps on imagined data (mbmpo.meta)
        adapt θ to each model, θ'_k, and collect real data with every θ'_k

A run's directory holds config.json, metrics.jsonl (one JSON object per iteration), curve.png (real and
imagined returns against real steps), policy.pt (θ and the adapted θ'_k) and checkpoint.pt (all the
run's state after its last iteration, from which `train(..., resume=True)` goes on).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numba
import numpy as np
import torch

from runcommon.cores import usable_cores

from .buffer import TransitionBuffer
from .config import ConfigError, MBMPOConfig
from .dynamics import DynamicsEnsemble
from .envs import TASKS
from .meta import adapted_policies, meta_step
from .phases import COMPILE, PhaseClock
from .policy import GaussianPolicy
from .rollouts import BACKENDS, backend_name
from .workers import Workers

Actor = Callable[[np.ndarray], np.ndarray]
"""observation -> action, already clipped to the action bounds."""


@dataclass(frozen=True)
class Episodes:
    """Whole real episodes: their transitions and their undiscounted returns."""

    obs: np.ndarray
    actions: np.ndarray
    next_obs: np.ndarray
    returns: list[float]


CHECKPOINT = "checkpoint.pt"
"""The file in a run's directory that holds its state after its last iteration."""


def make_env(config: MBMPOConfig) -> gym.Env:
    """The real environment, its episodes cut at the horizon."""
    return gym.make(config.env_id, max_episode_steps=config.horizon)


def run_episodes(env: gym.Env, act: Actor, min_steps: int) -> Episodes:
    """Run whole episodes until at least `min_steps` steps have been taken."""
    obs_list, action_list, next_list, returns = [], [], [], []
    while len(obs_list) < min_steps:
        obs, _ = env.reset()
        total, done = 0.0, False
        while not done:
            action = act(obs)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            obs_list.append(obs)
            action_list.append(action)
            next_list.append(next_obs)
            total += float(reward)
            obs, done = next_obs, terminated or truncated
        returns.append(total)
    return Episodes(np.array(obs_list), np.array(action_list), np.array(next_list), returns)


def policy_actor(
    policy: GaussianPolicy, params: torch.Tensor, bound: float, generator: torch.Generator
) -> Actor:
    """Sample from π_params, clipped to [-bound, bound]."""

    def act(obs: np.ndarray) -> np.ndarray:
        noise = torch.randn(1, policy.act_dim, generator=generator)
        with torch.no_grad():
            action, _ = policy.sample(params, torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0), noise)
        return action[0].clamp(-bound, bound).numpy()

    return act


def train(
    config: MBMPOConfig,
    out: str | Path | None = None,
    on_phase: Callable[[str], None] | None = None,
    on_iteration: Callable[[dict[str, Any]], None] | None = None,
    resume: bool = False,
) -> list[dict[str, Any]]:
    """Run MB-MPO; return one metrics record per iteration (iteration 0: the random data). With `out`,
    write the results directory there. `on_phase` hears what the run is doing, `on_iteration` each
    record as it is made. With `resume`, go on from the checkpoint in `out` up to `config.iterations`;
    the result is the same as that of a run never stopped."""
    # The policy is small: one thread runs it fastest. The ensemble's fit uses every core (below), and
    # so do the numba backend's threads, but no more threads than the process has cores.
    torch.set_num_threads(1)
    numba.set_num_threads(min(numba.config.NUMBA_NUM_THREADS, usable_cores()))
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    task = TASKS[config.env_id]
    env, start_env = make_env(config), make_env(config)
    env.reset(seed=config.seed)
    start_env.reset(seed=config.seed + 1)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    k, n = config.models, config.rollouts_per_model

    buffer = TransitionBuffer(config.buffer_size, obs_dim, act_dim, k, config.validation_fraction, rng)
    ensemble = DynamicsEnsemble(obs_dim, act_dim, k, config.model_hidden)
    policy = GaussianPolicy(obs_dim, act_dim, config.policy_hidden, config.init_log_std)
    theta = policy.theta.detach().clone()
    imagine = partial(BACKENDS[backend_name(config.backend)], ensemble, policy, task=task)

    def start_states() -> torch.Tensor:
        """K×N states from the environment's initial-state distribution (resets cost no real steps)."""
        states = np.array([start_env.reset()[0] for _ in range(k * n)], dtype=np.float32)
        return torch.from_numpy(states).reshape(k, n, obs_dim)

    def noise() -> torch.Tensor:
        return torch.randn(k, n, config.horizon, act_dim, generator=generator)

    def tell(text: str) -> None:
        if on_phase is not None:
            on_phase(text)

    results = Path(out) if out is not None else None
    history: list[dict[str, Any]] = []

    def record(metrics: dict[str, Any]) -> None:
        history.append(metrics)
        if results is not None:
            with (results / "metrics.jsonl").open("a") as f:
                f.write(json.dumps(metrics) + "\n")
        if on_iteration is not None:
            on_iteration(metrics)

    def save_checkpoint() -> None:
        if results is None:
            return
        state = {
            "config": config.to_json(),
            "history": history,
            "theta": theta,
            "ensemble": ensemble.state_dict(),
            "buffer": buffer.state_dict(),
            "rng": rng.bit_generator.state,
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "env_rng": env.unwrapped.np_random.bit_generator.state,
            "start_env_rng": start_env.unwrapped.np_random.bit_generator.state,
        }
        written = results / (CHECKPOINT + ".partial")
        torch.save(state, written)
        written.replace(results / CHECKPOINT)

    started = time.perf_counter()
    bound = task.action_bound
    if resume:
        if results is None:
            raise ConfigError("resume: needs the run's directory (out)")
        state = load_checkpoint(results, config)
        history = state["history"]
        theta = state["theta"]
        ensemble.load_state_dict(state["ensemble"])
        buffer.load_state_dict(state["buffer"])
        rng.bit_generator.state = state["rng"]
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        env.unwrapped.np_random.bit_generator.state = state["env_rng"]
        start_env.unwrapped.np_random.bit_generator.state = state["start_env_rng"]
        real_steps = history[-1]["real_steps"]
        started -= history[-1]["wall_s"]
        (results / "config.json").write_text(json.dumps(config.to_json(), indent=2) + "\n")
        (results / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in history))
    else:
        if results is not None:
            results.mkdir(parents=True, exist_ok=True)
            (results / "config.json").write_text(json.dumps(config.to_json(), indent=2) + "\n")
            (results / "metrics.jsonl").write_text("")
        tell("collecting random data")
        episodes = run_episodes(
            env, lambda _: rng.uniform(-bound, bound, act_dim).astype(np.float32), config.initial_random_steps
        )
        buffer.add(episodes.obs, episodes.actions, episodes.next_obs)
        real_steps = len(episodes.obs)
        record(
            {
                "iteration": 0,
                "backend": backend_name(config.backend),
                "real_steps": real_steps,
                "real_return": float(np.mean(episodes.returns)),
                "collect_s": time.perf_counter() - started,
                "wall_s": time.perf_counter() - started,
            }
        )
        save_checkpoint()

    # The meta phase's policy-gradient work: one thread per core, each taking a group of the models.
    workers = Workers(usable_cores())
    try:
        for iteration in range(len(history), config.iterations + 1):
            clock, cpu_start = PhaseClock(), time.process_time()
            with clock.counting_compilations():
                tell(f"iteration {iteration}: fitting the dynamics ensemble")
                with clock.phase("fit"):
                    torch.set_num_threads(usable_cores())
                    val_loss, epochs_run = ensemble.fit(
                        *buffer.arrays(),
                        epochs=config.model_epochs,
                        batch_size=config.model_batch_size,
                        lr=config.model_lr,
                        patience=config.model_patience,
                        min_improvement=config.model_min_improvement,
                        rng=rng,
                    )
                    torch.set_num_threads(1)

                with clock.phase("meta"):
                    returns_by_step = []
                    for step in range(config.meta_steps):
                        tell(f"iteration {iteration}: meta-step {step + 1}/{config.meta_steps}")
                        theta, stats = meta_step(
                            policy,
                            theta,
                            imagine,
                            (start_states(), start_states()),
                            (noise(), noise()),
                            config,
                            clock,
                            workers,
                        )
                        returns_by_step.append(stats.return_before)
                    adapted, _ = adapted_policies(
                        policy, theta, imagine, start_states(), noise(), config, clock
                    )

                tell(f"iteration {iteration}: collecting real data with the adapted policies")
                with clock.phase("collect"):
                    share = math.ceil(config.real_steps_per_iteration / k)
                    model_returns = []
                    for params in adapted:
                        episodes = run_episodes(env, policy_actor(policy, params, bound, generator), share)
                        buffer.add(episodes.obs, episodes.actions, episodes.next_obs)
                        real_steps += len(episodes.obs)
                        model_returns.append(float(np.mean(episodes.returns)))
            cpu_s = time.process_time() - cpu_start
            phase_s = clock.seconds

            if results is not None:
                with torch.no_grad():
                    policy.theta.copy_(theta)
                torch.save({"policy": policy.state_dict(), "adapted": adapted}, results / "policy.pt")
            record(
                {
                    "iteration": iteration,
                    "real_steps": real_steps,
                    "real_return": float(np.mean(model_returns)),
                    "real_return_per_model": model_returns,
                    "imagined_return_before": stats.return_before,
                    "imagined_return_after": stats.return_after,
                    "imagined_return_by_step": returns_by_step,
                    "meta_kl": stats.kl,
                    "model_val_loss": val_loss.tolist(),
                    "model_epochs": epochs_run,
                    "fit_s": phase_s["fit"],
                    "meta_s": phase_s["meta"],
                    "collect_s": phase_s["collect"],
                    "compile_s": phase_s.get(COMPILE, 0.0),
                    "phase_s": {name: s for name, s in phase_s.items() if name.startswith("meta/")},
                    "cpu_s": cpu_s,
                    "wall_s": time.perf_counter() - started,
                }
            )
            save_checkpoint()
            if results is not None:
                plot_curve(history, results / "curve.png")
    finally:
        workers.close()
    return history


def load_checkpoint(run: Path, config: MBMPOConfig) -> dict[str, Any]:
    """The state saved in `run`, checked against `config`: the same settings but for `iterations`, which
    may grow."""
    path = run / CHECKPOINT
    if not path.is_file():
        raise ConfigError(f"resume: no {CHECKPOINT} in {run}")
    try:
        state = torch.load(path, weights_only=True)
    except Exception as error:
        raise ConfigError(f"resume: {path} cannot be read ({type(error).__name__})") from None
    saved = MBMPOConfig.from_json(state["config"]).to_json()
    changed = [
        name for name, value in config.to_json().items() if name != "iterations" and saved[name] != value
    ]
    if changed:
        raise ConfigError(
            f"{changed[0]}: {config.to_json()[changed[0]]!r} differs from the run's {saved[changed[0]]!r}"
        )
    done = len(state["history"]) - 1
    if config.iterations < done:
        raise ConfigError(f"iterations: the run has done {done} already, got {config.iterations}")
    return state


def describe(metrics: dict[str, Any]) -> str:
    """One line of an iteration's metrics record; record 0, the random data, is no iteration."""
    m = metrics
    what = f"iteration {m['iteration']}" if m["iteration"] > 0 else "random data"
    line = f"{what}: {m['real_steps']:,} real steps, real return {m['real_return']:.1f}"
    if m["iteration"] > 0:
        line += (
            f", imagined {m['imagined_return_before']:.1f} -> {m['imagined_return_after']:.1f}"
            f", model loss {max(m['model_val_loss']):.4f} ({m['model_epochs']} epochs)"
            f", fit {m['fit_s']:.1f} s, meta {m['meta_s']:.1f} s"
        )
        if m.get("phase_s"):
            line += " (" + ", ".join(f"{name[5:]} {s:.1f}" for name, s in m["phase_s"].items()) + ")"
        line += f", collect {m['collect_s']:.1f} s"
        if m.get("compile_s"):
            line += f", numba compilation {m['compile_s']:.1f} s"
    return line


def scalars(metrics: dict[str, Any]) -> dict[str, float]:
    """An iteration's metrics record as TensorBoard scalars, by tag."""
    m = metrics
    values = {"charts/real_return": m["real_return"]}
    if m["iteration"] > 0:
        values |= {
            "charts/imagined_return_before": m["imagined_return_before"],
            "charts/imagined_return_after": m["imagined_return_after"],
            "model/val_loss_max": max(m["model_val_loss"]),
            "model/epochs": m["model_epochs"],
            "meta/kl": m["meta_kl"],
            "time/fit_s": m["fit_s"],
            "time/meta_s": m["meta_s"],
            "time/collect_s": m["collect_s"],
        }
    return values


def plot_curve(history: list[dict[str, Any]], path: Path) -> None:
    """Real return of the adapted policies, and imagined returns before and after adaptation, against real
    steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [m["real_steps"] for m in history]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(steps, [m["real_return"] for m in history], marker="o", label="real, adapted policies")
    for key, label in (
        ("imagined_return_before", "imagined, before adaptation"),
        ("imagined_return_after", "imagined, after adaptation"),
    ):
        ax.plot(steps, [m.get(key, np.nan) for m in history], linestyle="--", label=label)
    ax.set(xlabel="real env steps", ylabel="mean episode return", title="MB-MPO")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate(run: str | Path, episodes: int, seed: int = 0) -> list[float]:
    """Returns of `episodes` real episodes of a saved run's adapted policies, taking turns."""
    torch.set_num_threads(1)
    run = Path(run)
    config = MBMPOConfig.from_json(json.loads((run / "config.json").read_text()))
    saved = torch.load(run / "policy.pt")
    env = make_env(config)
    env.reset(seed=seed)
    policy = GaussianPolicy(env.observation_space.shape[0], env.action_space.shape[0], config.policy_hidden)
    policy.load_state_dict(saved["policy"])
    generator = torch.Generator().manual_seed(seed)
    bound = TASKS[config.env_id].action_bound
    returns = []
    for episode in range(episodes):
        act = policy_actor(policy, saved["adapted"][episode % len(saved["adapted"])], bound, generator)
        returns += run_episodes(env, act, 1).returns
    return returns
