"""What every Gorila node shares: the configuration, the problem, the parameter layout, the trace, and the
run's own bookkeeping (env steps, returns), which lives outside the nodes and survives their crashes."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from netmodels import Streams

from ..config import GorilaConfig
from ..dqn import ShardLayout, linear_epsilon
from ..problems import Problem
from ..runtime import Runtime
from ..trace import Trace
from .messages import HEADER_BYTES, Params, Pull


class Cluster:
    """The run-wide context of a Gorila simulation."""

    def __init__(
        self, config: GorilaConfig, problem: Problem, trace: Trace, stop: Callable[[], None]
    ) -> None:
        self.config = config
        self.problem = problem
        self.trace = trace
        self.layout = ShardLayout(problem.param_size, config.shards)
        self.shard_names = [f"shard-{s}" for s in range(config.shards)]
        self.learner_names: list[str] = []
        self.env_steps = 0
        self.actor_steps: dict[str, int] = {}
        self.recent_returns: deque[float] = deque(maxlen=10)
        self.on_progress: Callable[[int], None] | None = None
        self._epsilon_schedules: dict[int, tuple[float, int]] = {}
        self._stop = stop

    def env_seed(self, actor: str) -> int:
        return int(Streams(self.config.seed, "env", actor)("seed").integers(2**31))

    def epsilon(self, index: int, steps: int) -> float:
        """Actor `index`'s exploration after `steps` steps of its own share of the run's env steps."""
        schedule = self._epsilon_schedules.get(index)
        if schedule is None:
            schedule = self._epsilon_schedules[index] = self._epsilon_schedule(index)
        return linear_epsilon(self.config.epsilon_start, *schedule, steps)

    def _epsilon_schedule(self, index: int) -> tuple[float, int]:
        """Actor `index`'s final epsilon and the steps it takes to get there."""
        config = self.config
        share = config.total_env_steps / config.actors
        end = config.epsilon_end
        if config.epsilon_spread > 0 and config.actors > 1:
            end = end ** (1.0 + config.epsilon_spread * index / (config.actors - 1))
        return end, max(1, int(config.exploration_fraction * share))

    def count_steps(self, actor: str, steps: int = 1) -> None:
        """Count `steps` env steps of `actor`; at `total_env_steps` the run stops and counts no more."""
        steps = min(steps, self.config.total_env_steps - self.env_steps)
        before = self.env_steps
        self.env_steps += steps
        self.actor_steps[actor] = self.actor_steps.get(actor, 0) + steps
        if self.on_progress is not None and self.env_steps // 1_000 > before // 1_000:
            self.on_progress(self.env_steps)
        if self.env_steps >= self.config.total_env_steps:
            self._stop()

    def episode(self, rt: Runtime, ret: float, length: int) -> None:
        self.trace.episode(rt.now(), rt.name, ret, length, self.env_steps)
        self.recent_returns.append(ret)
        target = self.config.target_return
        if target is not None and len(self.recent_returns) == 10 and np.mean(self.recent_returns) >= target:
            self._stop()

    async def pull(self, rt: Runtime, clock: int = -1) -> tuple[np.ndarray, list[int]] | None:
        """θ and each shard's version, or None if a shard did not answer in time."""
        pull, timeout = Pull(clock), self.config.request_timeout  # one immutable request for every shard
        requests = [rt.call(shard, pull, HEADER_BYTES, timeout) for shard in self.shard_names]
        parts: list[Params] = []
        try:
            for request in requests:
                parts.append(await request)
        except TimeoutError:
            return None
        return self.layout.join([p.values for p in parts]), [p.version for p in parts]
