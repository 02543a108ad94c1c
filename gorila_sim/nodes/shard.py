"""A parameter-server shard: one slice of θ, its optimiser, its version, and the staleness rule.

Pulls are answered with the slice and its version. A pushed gradient is refused if it is not finite,
then put to the staleness rule (discard, or apply with a step-size scale); the optimiser applies the
admitted gradients `accumulate` at a time, summed into one step (one version).
Every `checkpoint_every` updates the slice, the optimiser state and the version go to disk; a restarted
shard resumes from there. With the stale-synchronous rule, a learner's pull waits while the learner is
more than the bound ahead of the slowest learner.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..rules import StaleSynchronous, build
from ..runtime import Message, Runtime
from .cluster import Cluster
from .messages import HEADER_BYTES, Params, Pull, Push


async def shard(rt: Runtime, cluster: Cluster, index: int) -> None:
    config, costs, trace = cluster.config, cluster.config.costs, cluster.trace
    optimiser = build("optimiser", config.optimiser)
    rule = build("staleness", config.staleness)
    saved = rt.disk.get("checkpoint")
    if saved is None:
        params = cluster.layout.split(cluster.problem.initial_params())[index].copy()
        version = 0
    else:
        params, optimiser_state, version = saved
        params = params.copy()
        optimiser.load_state(optimiser_state)
    history: deque[tuple[int, np.ndarray]] = deque(maxlen=max(1, rule.history))
    clocks = dict.fromkeys(cluster.learner_names, 0)
    held: list[Message] = []
    admitted: list[tuple[np.ndarray, float]] = []  # the rule's verdicts, waiting for the next step
    pushers: list[tuple[str, int]] = []  # their learners and staleness
    nbytes = HEADER_BYTES + params.nbytes
    snapshot: np.ndarray | None = None  # a read-only copy of the slice at `version`, shared by its pulls

    async def answer(request: Message) -> None:
        nonlocal snapshot
        await rt.compute(costs.serialise(nbytes))
        if snapshot is None:
            snapshot = params.copy()
            snapshot.flags.writeable = False
        rt.reply(request, Params(version, snapshot), nbytes)

    while True:
        message = await rt.receive()
        payload = message.payload
        if isinstance(payload, Pull):
            synchronous = isinstance(rule, StaleSynchronous) and payload.clock >= 0
            if synchronous and not rule.may_proceed(payload.clock, min(clocks.values(), default=0)):
                held.append(message)
                continue
            await answer(message)
        elif isinstance(payload, Push):
            staleness = version - payload.version
            if not np.isfinite(payload.gradient).all():
                trace.gradient(rt.now(), payload.learner, index, "non_finite", staleness, version)
            else:
                if payload.version == version:
                    stale_params = params
                else:
                    stale_params = next((p for v, p in history if v == payload.version), None)
                verdict = rule.admit(payload.gradient, staleness, params, stale_params)
                if verdict is None:
                    trace.gradient(rt.now(), payload.learner, index, "stale", staleness, version)
                else:
                    admitted.append(verdict)
                    pushers.append((payload.learner, staleness))
                if len(admitted) == config.accumulate:
                    gradient, scale = summed(admitted)
                    await rt.compute(costs.apply(params.size))
                    if rule.history:
                        history.append((version, params.copy()))
                    optimiser.step(params, gradient, scale)
                    version += 1
                    snapshot = None
                    for learner, age in pushers:
                        trace.gradient(rt.now(), learner, index, "applied", age, version)
                    admitted.clear()
                    pushers.clear()
                    if version % config.checkpoint_every == 0:
                        rt.disk["checkpoint"] = (params.copy(), optimiser.state(), version)
            if payload.learner in clocks:
                clocks[payload.learner] = max(clocks[payload.learner], payload.clock + 1)
            if held:
                slowest = min(clocks.values())
                ready = [m for m in held if rule.may_proceed(m.payload.clock, slowest)]
                held = [m for m in held if not rule.may_proceed(m.payload.clock, slowest)]
                for request in ready:
                    await answer(request)


def summed(admitted: list[tuple[np.ndarray, float]]) -> tuple[np.ndarray, float]:
    """One optimiser step's gradient and step-size scale: a single push's as they are; for several, the
    sum of each gradient times its own scale, at scale 1."""
    if len(admitted) == 1:
        return admitted[0]
    (first, first_scale), *rest = admitted
    total = first * first_scale
    for gradient, scale in rest:
        total += gradient * scale
    return total, 1.0
