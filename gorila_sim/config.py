"""Everything a Gorila run needs to know, in one dataclass with a line of documentation per field."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from netmodels import LinkModel, NodeModel

from .costs import CostProfile

ROLES = ("actor", "replay", "learner", "shard", "bundle")


class ConfigError(ValueError):
    """A bad configuration value; the message names the field."""


@dataclass
class GorilaConfig:
    """A Gorila cluster, its learning problem, its rules and its network: the defaults follow the paper
    where it says, and CleanRL's dqn.py for CartPole where it does not."""

    # -- topology -------------------------------------------------------------------------------------
    actors: int = 1
    """Actor processes (the paper: 100). In bundled mode, the number of bundles."""
    learners: int = 1
    """Learner processes (the paper: 100); ignored in bundled mode (one per bundle)."""
    shards: int = 1
    """Parameter-server shards, each holding a contiguous slice of θ (the paper: 31)."""
    bundled: bool = True
    """Bundled mode: an actor, its local replay memory and a learner share one node, as in the paper."""
    replay: Literal["local", "global"] = "local"
    """`local`: one replay node beside each actor; `global`: `replay_nodes` replay nodes shared by all."""
    replay_nodes: int = 1
    """Replay nodes in global mode; actor i writes to replay i mod n, learner j samples from j mod n."""

    # -- the learning problem -------------------------------------------------------------------------
    problem: Literal["dqn", "surrogate"] = "dqn"
    """`dqn`: a Q-network on a gymnasium environment; `surrogate`: a noisy quadratic, no network."""
    env_id: str = "CartPole-v1"
    """Gymnasium environment id (dqn problem)."""
    hidden: tuple[int, ...] = (120, 84)
    """Hidden layer sizes of the MLP Q-network (vector observations)."""
    surrogate_size: int = 10_000
    """Parameters of the surrogate problem."""
    surrogate_noise: float = 1.0
    """Standard deviation of one sample's gradient noise in the surrogate problem."""
    surrogate_episode: int = 200
    """Env steps per surrogate episode; its 'return' is minus the loss of the actor's θ at the end."""

    # -- DQN hyper-parameters (CleanRL's dqn.py defaults for CartPole) --------------------------------
    total_env_steps: int = 500_000
    """Env steps over all actors before the run stops."""
    gamma: float = 0.99
    """Discount factor."""
    buffer_size: int = 10_000
    """Capacity of each replay memory, in transitions."""
    batch_size: int = 128
    """Transitions per gradient."""
    learning_starts: int = 10_000
    """Env steps (per bundle, or in a learner's replay) before gradients are computed."""
    train_every: int = 10
    """Bundled mode: env steps between two gradients of a bundle's learner."""
    target_every: int = 50
    """Server updates between two refreshes of a learner's θ⁻ from the server (the paper: 60,000; CleanRL's
    500 env steps at one update per 10 steps make 50)."""
    epsilon_start: float = 1.0
    """Exploration at the start."""
    epsilon_end: float = 0.05
    """Exploration at the end of the schedule."""
    exploration_fraction: float = 0.5
    """Fraction of an actor's share of the env steps over which epsilon decays linearly."""
    epsilon_spread: float = 0.0
    """0: every actor uses epsilon_end; > 0: actor i ends at epsilon_end ** (1 + spread * i / (n - 1))."""
    actor_pull_every: int = 0
    """Actors pull θ at every episode start and, if > 0, every this many steps."""
    transitions_per_message: int = 16
    """Actors send transitions to a replay node in messages of this many (not in bundled mode)."""

    # -- rules and the server -------------------------------------------------------------------------
    optimiser: str | dict[str, Any] = field(default_factory=lambda: {"name": "adagrad", "lr": 0.01})
    """Server optimiser: a name or {"name": ..., parameters} (adagrad, sgd, rmsprop, adam)."""
    staleness: str | dict[str, Any] = "none"
    """Staleness rule on the shards (hard_threshold, staleness_scaled, exponential_penalty,
    delay_compensated, stale_synchronous, none, or an import path)."""
    outliers: str | dict[str, Any] = "none"
    """Loss-outlier rule on the learners (running_mean_std, none, or an import path)."""
    accumulate: int = 1
    """Admitted gradients a shard sums into one optimiser step (one version); 1: each is its own step."""
    request_timeout: float = 0.1
    """Seconds a node waits for a reply (θ from a shard, a sample from replay) before trying again."""
    checkpoint_every: int = 1_000
    """Updates between two checkpoints of a shard (a restarted shard resumes from the last one)."""

    # -- network, nodes and time ----------------------------------------------------------------------
    link: LinkModel = field(default_factory=LinkModel)
    """The link model between any two nodes, unless `role_links` names their roles."""
    role_links: dict[tuple[str, str], LinkModel] = field(default_factory=dict)
    """Link models by (sender role, receiver role), e.g. ("learner", "shard")."""
    node_links: dict[tuple[str, str], LinkModel] = field(default_factory=dict)
    """Link models by (sender, receiver) node names, e.g. ("actor-0", "replay-0"); before `role_links`."""
    nodes: dict[str, NodeModel] = field(default_factory=dict)
    """Node models by role; a role not named gets an ideal node."""
    costs: CostProfile = field(default_factory=CostProfile)
    """Compute time of every operation, in seconds on a speed-1.0 node."""
    seed: int = 0
    """The run's one seed: same config and seed, same trace."""
    max_sim_time: float = math.inf
    """Stop at this simulated time (seconds) if nothing else stops the run first."""
    target_return: float | None = None
    """Stop once the mean of the last 10 episode returns reaches this."""

    def __post_init__(self) -> None:
        for name in (
            "actors",
            "learners",
            "shards",
            "replay_nodes",
            "total_env_steps",
            "buffer_size",
            "batch_size",
            "train_every",
            "target_every",
            "transitions_per_message",
            "checkpoint_every",
            "accumulate",
            "surrogate_size",
            "surrogate_episode",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: must be an integer >= 1, got {value!r}")
        for name in ("learning_starts", "actor_pull_every", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name}: must be an integer >= 0, got {value!r}")
        for name in ("gamma", "epsilon_start", "epsilon_end", "exploration_fraction"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}: must be a number in [0, 1], got {value!r}")
        if not self.surrogate_noise >= 0 or not self.epsilon_spread >= 0:
            raise ConfigError("surrogate_noise and epsilon_spread: must be >= 0")
        if not self.request_timeout > 0:
            raise ConfigError(f"request_timeout: must be > 0, got {self.request_timeout!r}")
        if not self.max_sim_time > 0:
            raise ConfigError(f"max_sim_time: must be > 0, got {self.max_sim_time!r}")
        if self.problem not in ("dqn", "surrogate"):
            raise ConfigError(f"problem: must be 'dqn' or 'surrogate', got {self.problem!r}")
        if self.replay not in ("local", "global"):
            raise ConfigError(f"replay: must be 'local' or 'global', got {self.replay!r}")
        for pair in self.role_links:
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(role in ROLES for role in pair)):
                raise ConfigError(
                    f"role_links: keys must be (role, role) with roles in {ROLES}, got {pair!r}"
                )
        for role in self.nodes:
            if role not in ROLES:
                raise ConfigError(f"nodes: unknown role {role!r}; roles are {', '.join(ROLES)}")
