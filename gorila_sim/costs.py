"""The compute-time model: seconds of work per operation on a speed-1.0 node, and its calibration.

Simulated time never reads the wall clock: a node that steps its environment spends `env_step`
simulated seconds (scaled by its node model), whatever the step really took.
"""

from __future__ import annotations

import statistics
import time
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CostProfile:
    """Seconds per operation on a speed-1.0 node; the defaults were measured for CartPole on a 2-core CPU."""

    env_step: float = 15e-6
    """One environment step."""
    act: float = 45e-6
    """Choosing one action: a forward pass of the Q-network for one observation."""
    gradient_fixed: float = 250e-6
    """A DQN gradient, the part that does not grow with the batch."""
    gradient_per_sample: float = 1.5e-6
    """A DQN gradient, per transition in the batch."""
    apply_per_param: float = 1.5e-9
    """A server optimiser step, per parameter of the shard."""
    bytes_per_second: float = 2e9
    """(De)serialising messages: bytes per second."""
    replay_per_transition: float = 0.5e-6
    """Storing or sampling one transition in a replay memory."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(f"costs.{f.name}: must be a number >= 0, got {value!r}")
        if not self.bytes_per_second > 0:
            raise ValueError(f"costs.bytes_per_second: must be > 0, got {self.bytes_per_second!r}")

    def gradient(self, batch_size: int) -> float:
        return self.gradient_fixed + self.gradient_per_sample * batch_size

    def apply(self, params: int) -> float:
        return self.apply_per_param * params

    def serialise(self, nbytes: int) -> float:
        return nbytes / self.bytes_per_second

    @classmethod
    def load(cls, path: str | Path) -> CostProfile:
        """A profile from a TOML file of `name = seconds` lines, as `calibrate` writes."""
        with open(path, "rb") as file:
            values = tomllib.load(file)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"costs: unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def save(self, path: str | Path) -> None:
        lines = [f"{name} = {value!r}" for name, value in asdict(self).items()]
        Path(path).write_text(
            "# seconds per operation on this machine (gorila-sim calibrate)\n" + "\n".join(lines) + "\n"
        )


def _seconds_per_call(fn: Callable[[], object], calls: int, repeats: int = 5) -> float:
    """The median over `repeats` of the mean wall time of `calls` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - started) / calls)
    return statistics.median(times)


def calibrate(
    env_id: str = "CartPole-v1", hidden: tuple[int, ...] = (120, 84), quick: bool = False
) -> CostProfile:
    """Measure this machine: the real environment, Q-network, DQN gradient, optimiser and replay. An
    environment that gymnasium does not know, or that DQN cannot learn, is a ConfigError."""
    import gymnasium as gym
    import numpy as np

    from .config import ConfigError
    from .dqn import DQNGradient, Policy, ReplayBuffer, q_network_for, set_torch_threads
    from .dqn.params import FlatParams
    from .problems import make_env
    from .rules import AdaGrad

    set_torch_threads()
    calls = 200 if quick else 2_000
    rng = np.random.default_rng(0)
    try:
        env = make_env(env_id)
    except gym.error.Error as error:
        raise ConfigError(f"env_id: {error}") from None
    try:
        network = q_network_for(env.observation_space, env.action_space, hidden)
    except ValueError as error:
        raise ConfigError(f"env_id: {error}") from None
    obs, _ = env.reset(seed=0)

    def env_step() -> None:
        nonlocal obs
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()

    theta = FlatParams(network).get()
    policy = Policy(q_network_for(env.observation_space, env.action_space, hidden))
    policy.set(theta)
    replay = ReplayBuffer(10_000, env.observation_space.shape, env.observation_space.dtype)
    for _ in range(1_000):
        replay.add(obs, 0, 1.0, obs, False)
    gradient = DQNGradient(network)
    small, large = 32, 256
    t_small = _seconds_per_call(lambda: gradient.compute(replay.sample(rng, small), theta), calls // 10)
    t_large = _seconds_per_call(lambda: gradient.compute(replay.sample(rng, large), theta), calls // 10)
    per_sample = max(0.0, (t_large - t_small) / (large - small))
    optimiser = AdaGrad()
    params = np.zeros(1_000_000, dtype=np.float32)
    step = np.ones_like(params)
    payload = np.ones(1_000_000, dtype=np.float32)
    return CostProfile(
        env_step=_seconds_per_call(env_step, calls),
        act=_seconds_per_call(lambda: policy.act(obs, 0.0, rng), calls),
        gradient_fixed=max(0.0, t_small - per_sample * small),
        gradient_per_sample=per_sample,
        apply_per_param=_seconds_per_call(lambda: optimiser.step(params, step), 20) / params.size,
        bytes_per_second=payload.nbytes / _seconds_per_call(lambda: payload.tobytes(), 20),
        replay_per_transition=_seconds_per_call(lambda: replay.sample(rng, 256), calls // 10) / 256,
    )
