"""What a Gorila node accepts from the network, checked at its server before the node sees a message.

A shard takes pulls and pushes; a replay memory transitions and sample requests; every node takes replies
(θ slices from shards, batches from replay, None). A pushed gradient must be the shard's own slice: the
parameters' dtype, the slice's length, finite and at most GRADIENT_LIMIT in magnitude, from the learner it
names. Anything else is refused with 422 and the node's state is untouched.
"""

from __future__ import annotations

import numpy as np

from ..dqn import Batch
from ..nodes.cluster import Cluster
from ..nodes.messages import Params, Pull, Push, Sample, Transitions
from ..runtime import Message
from ..topology import role_of
from .clock import RunClock
from .server import Rejected

REQUESTS: dict[str, tuple[type, ...]] = {"shard": (Pull, Push), "replay": (Transitions, Sample)}
"""What each role takes besides replies; the other roles take replies only."""
REPLIES = (Params, Batch, type(None))
GRADIENT_LIMIT = float(np.sqrt(np.finfo(np.float32).max))
"""The largest magnitude a pushed gradient's entry may have: its square is a finite float32 (about 1.8e19)."""


def body_limit(cluster: Cluster) -> int:
    """Bytes a request may have: twice the largest message of the run (a θ slice, counted at 8 bytes per
    parameter, or a batch), plus room for the envelope."""
    config, problem = cluster.config, cluster.problem
    slice_bytes = max(s.stop - s.start for s in cluster.layout.slices) * 8
    obs_bytes = int(np.prod(problem.obs_shape)) * np.dtype(problem.obs_dtype).itemsize
    batch_bytes = max(config.batch_size, config.transitions_per_message) * (2 * obs_bytes + 16)
    return 2 * max(slice_bytes, batch_bytes) + 64 * 1024


class PayloadCheck:
    """Checks messages for the nodes of `cluster` (see the module's docstring); a refused gradient that is
    not finite is traced as `non_finite`, as the simulated shard traces it."""

    def __init__(self, cluster: Cluster, clock: RunClock) -> None:
        self.cluster = cluster
        self.clock = clock
        self.param_dtype = cluster.problem.initial_params().dtype
        self.obs_shape = tuple(cluster.problem.obs_shape)
        self.obs_dtype = np.dtype(cluster.problem.obs_dtype)

    def __call__(self, message: Message) -> None:
        payload = message.payload
        allowed = REPLIES if message.reply_to is not None else REQUESTS.get(role_of(message.dst), ())
        if not isinstance(payload, allowed):
            what = "reply" if message.reply_to is not None else "request"
            raise Rejected(f"{message.dst} takes no {type(payload).__name__} {what}")
        if isinstance(payload, Push):
            self._push(message, payload)
        elif isinstance(payload, Params):
            self._params(message, payload)
        elif isinstance(payload, Pull):
            _at_least("Pull.clock", payload.clock, -1)
        elif isinstance(payload, Sample):
            _at_least("Sample.batch_size", payload.batch_size, 1)
            if payload.batch_size > self.cluster.config.buffer_size:
                raise Rejected(f"Sample.batch_size {payload.batch_size} is over the replay's capacity")
        elif isinstance(payload, Transitions):
            self._batch(payload.batch)
        elif isinstance(payload, Batch):
            self._batch(payload)

    def _slice(self, shard: str, name: str, values: np.ndarray) -> None:
        if role_of(shard) != "shard" or shard not in self.cluster.shard_names:
            raise Rejected(f"{name}: {shard!r} is not a shard of this cluster")
        index = self.cluster.shard_names.index(shard)
        part = self.cluster.layout.slices[index]
        _array(name, values, (part.stop - part.start,), self.param_dtype)

    def _push(self, message: Message, push: Push) -> None:
        if push.learner != message.src or push.learner not in self.cluster.learner_names:
            raise Rejected(
                f"Push.learner {push.learner!r} is not a learner, or not the sender {message.src!r}"
            )
        _at_least("Push.version", push.version, 0)
        _at_least("Push.clock", push.clock, 0)
        self._slice(message.dst, "Push.gradient", push.gradient)
        if not (np.abs(push.gradient) <= GRADIENT_LIMIT).all():
            shard = self.cluster.shard_names.index(message.dst)
            self.cluster.trace.gradient(self.clock.now(), push.learner, shard, "non_finite", -1)
            raise Rejected(
                f"Push.gradient has NaN, infinite, or over {GRADIENT_LIMIT:.3g} in magnitude entries"
            )

    def _params(self, message: Message, params: Params) -> None:
        _at_least("Params.version", params.version, 0)
        self._slice(message.src, "Params.values", params.values)
        if not np.isfinite(params.values).all():
            raise Rejected("Params.values has NaN or infinite entries")

    def _batch(self, batch: Batch) -> None:
        n = batch.actions.shape[0] if batch.actions.ndim == 1 else -1
        if not 1 <= n <= self.cluster.config.buffer_size:
            raise Rejected(
                f"a batch holds 1 to buffer_size transitions, got actions of {batch.actions.shape}"
            )
        _array("Batch.obs", batch.obs, (n, *self.obs_shape), self.obs_dtype)
        _array("Batch.next_obs", batch.next_obs, (n, *self.obs_shape), self.obs_dtype)
        _array("Batch.actions", batch.actions, (n,), np.dtype(np.int64))
        _array("Batch.rewards", batch.rewards, (n,), np.dtype(np.float32))
        _array("Batch.terminated", batch.terminated, (n,), np.dtype(np.float32))
        for name in ("obs", "next_obs", "rewards", "terminated"):
            values = getattr(batch, name)
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                raise Rejected(f"Batch.{name} has NaN or infinite entries")


def _array(name: str, values: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> None:
    if values.shape != shape or values.dtype != dtype:
        raise Rejected(f"{name} must be {dtype} of shape {shape}, got {values.dtype} of shape {values.shape}")


def _at_least(name: str, value: int, low: int) -> None:
    if value < low:
        raise Rejected(f"{name} must be >= {low}, got {value}")
