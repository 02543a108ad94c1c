"""Where time goes on the network, from the trace: how busy each role's interfaces were, and how a
gradient's age splits into compute, queueing and transfer.

A gradient's age runs from the moment its shard sent the slice of θ it was computed from to the moment
the gradient reached that shard again. It is the sum of the slice's queueing and transfer on its way to
the learner, the learner's time with it (waiting for the other slices, computing the gradient: `compute`),
and the gradient's queueing and transfer back. Queueing is the time a message waited for its turn on the
sender's egress, the link and the receiver's ingress; transfer is the rest of its trip (latency, jitter and
its own transmission times).
"""

from __future__ import annotations

import math

import numpy as np

from .topology import role_of

AGE_PARTS = ("compute", "params_queueing", "params_transfer", "gradient_queueing", "gradient_transfer")
"""A gradient's age, part by part (seconds)."""


def gradient_ages(messages: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each delivered gradient's age and its parts (columns of AGE_PARTS and `age`), from the trace's
    `messages` table; a gradient is matched with the latest slice of θ of its version that its learner had
    received from its shard before sending it."""
    kinds = messages["kind"]
    if not kinds.size:
        return {name: np.array([]) for name in (*AGE_PARTS, "age")}
    src, dst, versions = (messages[c].tolist() for c in ("src", "dst", "version"))
    delivered, sent, queued = (messages[c].astype(float).tolist() for c in ("time", "sent", "queued"))
    params = np.flatnonzero(kinds == "params")
    gradients = np.flatnonzero(kinds == "gradient")
    # In time order: a slice of θ counts when it is delivered, a gradient when it is sent.
    events = sorted(
        [(delivered[i], 0, i) for i in params.tolist()] + [(sent[i], 1, i) for i in gradients.tolist()]
    )
    latest: dict[tuple[str, str, int], int] = {}
    rows = []
    for _, is_gradient, i in events:
        if not is_gradient:
            latest[(dst[i], src[i], versions[i])] = i
            continue
        p = latest.get((src[i], dst[i], versions[i]))
        if p is None:
            continue
        rows.append(
            (
                sent[i] - delivered[p],
                queued[p],
                delivered[p] - sent[p] - queued[p],
                queued[i],
                delivered[i] - sent[i] - queued[i],
            )
        )
    parts = np.array(rows, dtype=float).reshape(-1, len(AGE_PARTS))
    columns = {name: parts[:, j] for j, name in enumerate(AGE_PARTS)}
    columns["age"] = parts.sum(axis=1)
    return columns


def age_split(messages: dict[str, np.ndarray]) -> dict[str, float]:
    """The mean gradient age and the mean of each of its parts (seconds; NaN without gradients)."""
    ages = gradient_ages(messages)
    return {name: float(values.mean()) if values.size else math.nan for name, values in ages.items()}


def utilisation(interfaces: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Each role's mean busy fraction of its egress and ingress over the run, from the trace's
    `interfaces` table (its latest sample per node); roles without finite interfaces are left out."""
    latest: dict[str, tuple[float, float, float]] = {}
    columns = (interfaces[c] for c in ("time", "node", "egress_busy", "ingress_busy"))
    for t, node, egress, ingress in zip(*columns, strict=True):
        latest[node] = (t, egress, ingress)
    return by_role(
        {node: (egress / t, ingress / t) for node, (t, egress, ingress) in latest.items() if t > 0}
    )


def by_role(fractions: dict[str, tuple[float, float]]) -> dict[str, dict[str, float]]:
    """The mean of nodes' (egress, ingress) busy fractions per role; NaN (an unlimited interface) is left
    out of a mean, and is the mean of none."""
    grouped: dict[str, list[tuple[float, float]]] = {}
    for node, pair in fractions.items():
        grouped.setdefault(role_of(node), []).append(pair)
    return {
        role: {"egress": _mean([e for e, _ in pairs]), "ingress": _mean([i for _, i in pairs])}
        for role, pairs in sorted(grouped.items())
    }


def _mean(values: list[float]) -> float:
    finite = [float(v) for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan
