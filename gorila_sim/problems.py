"""What a Gorila cluster learns: DQN on a gymnasium environment, or a surrogate with no network.

Actors need an `ActorEnv` (reset, act, step, set_params); learners a `GradientSource` (the gradient of a
batch at θ, and θ⁻). The surrogate is a noisy quadratic: cheap enough to simulate thousands of nodes,
with a convergence that still answers to staleness.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .config import ConfigError, GorilaConfig
from .dqn import Batch, GradientResult


class ActorEnv(Protocol):
    obs_shape: tuple[int, ...]
    obs_dtype: np.dtype

    def reset(self) -> np.ndarray: ...

    def set_params(self, theta: np.ndarray) -> None: ...

    def act(self, obs: np.ndarray, epsilon: float, rng: np.random.Generator) -> int: ...

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        """next observation, reward, terminated, truncated"""
        ...


class GradientSource(Protocol):
    def set_target(self, theta_minus: np.ndarray) -> None: ...

    def gradient(self, batch: Batch, theta: np.ndarray, rng: np.random.Generator) -> GradientResult: ...


class Problem(Protocol):
    param_size: int
    obs_shape: tuple[int, ...]
    obs_dtype: np.dtype

    def initial_params(self) -> np.ndarray: ...

    def actor_env(self, seed: int) -> ActorEnv: ...

    def gradient_source(self) -> GradientSource: ...


def make_env(env_id: str):
    """A gymnasium environment; Atari ids (`ALE/...`) come preprocessed as in the DQN papers: 84x84 grey
    frames, 4 frames per step (max-pooled), 4 stacked, up to 30 no-ops at reset."""
    import gymnasium as gym

    if not env_id.startswith("ALE/"):
        return gym.make(env_id)
    try:
        import ale_py
    except ImportError:
        raise ConfigError(f"env_id: {env_id!r} needs ale-py: pip install 'gorila-sim[atari]'") from None
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    gym.register_envs(ale_py)
    env = AtariPreprocessing(gym.make(env_id, frameskip=1), frame_skip=4, screen_size=84, noop_max=30)
    return FrameStackObservation(env, 4)


class DQNProblem:
    """DQN on a gymnasium environment with an MLP (vector observations) or Nature CNN (frames)."""

    def __init__(self, config: GorilaConfig) -> None:
        import gymnasium as gym
        import torch

        from .dqn import FlatParams, set_torch_threads

        set_torch_threads()
        self._config = config
        try:
            probe = make_env(config.env_id)
        except gym.error.Error as error:
            raise ConfigError(f"env_id: {error}") from None
        self._observation_space, self._action_space = probe.observation_space, probe.action_space
        probe.close()
        self.obs_shape = tuple(self._observation_space.shape)
        self.obs_dtype = self._observation_space.dtype
        torch.manual_seed(config.seed)
        try:
            network = self._network()
        except ValueError as error:
            raise ConfigError(f"env_id: {config.env_id!r}: {error}") from None
        self._initial = FlatParams(network).get()
        self.param_size = self._initial.size

    def _network(self):
        from .dqn import q_network_for

        return q_network_for(self._observation_space, self._action_space, self._config.hidden)

    def initial_params(self) -> np.ndarray:
        return self._initial.copy()

    def actor_env(self, seed: int) -> ActorEnv:
        return _GymActor(self, seed)

    def gradient_source(self) -> GradientSource:
        return _DQNGradientSource(self._network(), self._config.gamma)


class _GymActor:
    def __init__(self, problem: DQNProblem, seed: int) -> None:
        from .dqn import Policy

        self.env = make_env(problem._config.env_id)
        self.obs_shape, self.obs_dtype = problem.obs_shape, problem.obs_dtype
        self.policy = Policy(problem._network())
        self._seed: int | None = seed

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self._seed)
        self._seed = None  # seeded once; later episodes continue the env's own generator
        return obs

    def set_params(self, theta: np.ndarray) -> None:
        self.policy.set(theta)

    def act(self, obs: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
        return self.policy.act(obs, epsilon, rng)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        obs, reward, terminated, truncated, _ = self.env.step(action)
        return obs, float(reward), terminated, truncated


class _DQNGradientSource:
    def __init__(self, network, gamma: float) -> None:
        from .dqn import DQNGradient

        self._gradient = DQNGradient(network, gamma)

    def set_target(self, theta_minus: np.ndarray) -> None:
        self._gradient.set_target(theta_minus)

    def gradient(self, batch: Batch, theta: np.ndarray, rng: np.random.Generator) -> GradientResult:
        return self._gradient.compute(batch, theta)


class SurrogateProblem:
    """Minimise f(θ) = ½ Σ a_i (θ_i − θ*_i)² from noisy gradients; an episode's return is −f(θ_actor).

    Curvatures a_i are log-uniform in [0.1, 1]; a gradient is a ⊙ (θ − θ*) plus Gaussian noise of
    standard deviation `surrogate_noise / sqrt(batch_size)` per coordinate; a batch's loss is f(θ) times
    the mean of `batch_size` unit exponentials.
    """

    obs_shape = (1,)
    obs_dtype = np.dtype(np.float32)

    def __init__(self, config: GorilaConfig) -> None:
        rng = np.random.default_rng([config.seed, 0x5EED])
        self._config = config
        self.param_size = config.surrogate_size
        self.curvature = np.exp(rng.uniform(np.log(0.1), 0.0, self.param_size)).astype(np.float32)
        self.optimum = rng.normal(size=self.param_size).astype(np.float32)
        # Scratch for a gradient's noise, shared by every gradient source (a gradient is made at once).
        self._draws = np.empty(self.param_size)
        self._noise = np.empty(self.param_size, dtype=np.float32)

    def loss(self, theta: np.ndarray) -> float:
        return 0.5 * float(np.dot(self.curvature, np.square(theta - self.optimum)))

    def initial_params(self) -> np.ndarray:
        return np.zeros(self.param_size, dtype=np.float32)

    def actor_env(self, seed: int) -> ActorEnv:
        return _SurrogateActor(self)

    def gradient_source(self) -> GradientSource:
        return _SurrogateGradient(self)


class _SurrogateActor:
    obs_shape = SurrogateProblem.obs_shape
    obs_dtype = SurrogateProblem.obs_dtype

    def __init__(self, problem: SurrogateProblem) -> None:
        self._problem = problem
        self._obs = np.zeros(1, dtype=np.float32)
        self._theta = problem.initial_params()
        self._steps = 0

    def reset(self) -> np.ndarray:
        self._steps = 0
        return self._obs

    def set_params(self, theta: np.ndarray) -> None:
        self._theta = theta

    def act(self, obs: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
        return 0

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        self._steps += 1
        if self._steps < self._problem._config.surrogate_episode:
            return self._obs, 0.0, False, False
        return self._obs, -self._problem.loss(self._theta), False, True


class _SurrogateGradient:
    def __init__(self, problem: SurrogateProblem) -> None:
        self._problem = problem

    def set_target(self, theta_minus: np.ndarray) -> None:
        """The surrogate has no target network."""

    def gradient(self, batch: Batch, theta: np.ndarray, rng: np.random.Generator) -> GradientResult:
        problem = self._problem
        # rng.normal(0.0, std, n).astype(np.float32), drawn into scratch arrays instead of new ones.
        draws, noise = problem._draws, problem._noise
        rng.standard_normal(out=draws)
        np.multiply(draws, problem._config.surrogate_noise / np.sqrt(len(batch.actions)), out=draws)
        np.copyto(noise, draws, casting="same_kind")
        gradient = problem.curvature * (theta - problem.optimum)
        gradient += noise
        # The batch's loss: the mean of per-transition losses spread exponentially around f(θ).
        batch_size = len(batch.actions)
        loss = problem.loss(theta) * rng.gamma(batch_size, 1.0 / batch_size)
        return GradientResult(loss=loss, abs_loss=loss, gradient=gradient)


def make_problem(config: GorilaConfig) -> Problem:
    return DQNProblem(config) if config.problem == "dqn" else SurrogateProblem(config)
