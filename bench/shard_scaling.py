"""How many parameter-server shards does the paper-scale cluster need on 1 Gbit/s network interfaces?

The paper-scale surrogate cluster (100 actors, 100 learners, a replay memory beside each actor, Atari-like
compute costs, straggling learners; as bench/paper_scale.py builds it) with every node's egress and ingress
at 1 Gbit/s, served one message at a time, for 1, 2, 4, 8, 16 and 31 shards; beside each, the same cluster
without interface limits (infinite capacity, as before interfaces existed); and at 31 shards, the shards
summing 8 admitted gradients into one step (accumulate = 8) against 1. The problem has `--params`
parameters (default 310,000: a full gradient of 1.24 MB, 10 ms on a 1 Gbit/s interface; a Nature-CNN's
1.7 million would make 6.8 MB). Every gradient is applied (no staleness threshold), so the numbers are the
cluster's, not a rule's, and a node waits up to 10 s for θ (with the default 0.1 s, pulls queued behind a
saturated shard egress time out and are asked again while the abandoned replies still take their turn).
Each run lasts 1 simulated second, and 4 at 1 shard, 2 at 2, whose first pulls take a second to come
back; measured after a warm-up (the first third of the run):

- updates per simulated second: whole gradients applied (a gradient's slices counted once);
- server steps per simulated second and shard (versions; fewer than updates when shards accumulate);
- staleness p50 / p99 of the applied slices, in server versions, and the mean age of a gradient in ms
  (from its shard sending θ to the gradient arriving, see gorila_sim/delays.py), of which queueing;
- the mean wait of a gradient slice at its shard, from its arrival to its application (`shard ms`: the
  shard's own queue, and with accumulation the wait for the rest of the sum);
- the shards' mean ingress and egress busy fraction.

A plot of updates per second and staleness p99 against shards goes to --out (default /tmp/shard_scaling).
The last line is

    RESULT updates_per_s_31_over_1=... staleness_p99_1=... staleness_p99_31=... mode=quick|full

with interface limits on. --quick runs 1, 4 and 31 shards with 31,000 parameters for 0.15 simulated seconds
(0.6 at 1 shard), under a minute on a 2-core machine; the full run takes several minutes.

    python bench/shard_scaling.py [--quick] [--out DIR] [--params N]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from paper_scale import ATARI_LIKE

from gorila_sim.config import GorilaConfig
from gorila_sim.delays import age_split
from gorila_sim.gorila import run
from netmodels import LinkModel, LogNormal, NodeModel, ShiftedExponential

GBPS = 1e9 / 8
ROLES = ("actor", "replay", "learner", "shard")


def cluster(shards: int, params: int, sim_time: float, limited: bool, accumulate: int = 1) -> GorilaConfig:
    interfaces = {"egress": GBPS, "ingress": GBPS} if limited else {}
    nodes = {role: NodeModel(**interfaces) for role in ROLES}
    nodes["learner"] = NodeModel(straggler=ShiftedExponential(shift=1.0, mean=0.3), **interfaces)
    return GorilaConfig(
        problem="surrogate",
        surrogate_size=params,
        bundled=False,
        actors=100,
        learners=100,
        shards=shards,
        replay="local",
        batch_size=32,
        learning_starts=32,
        buffer_size=10_000,
        transitions_per_message=32,
        total_env_steps=10**12,
        max_sim_time=sim_time,
        costs=ATARI_LIKE,
        optimiser={"name": "adagrad", "lr": 0.05},
        staleness="none",
        request_timeout=10.0,
        accumulate=accumulate,
        link=LinkModel(latency=LogNormal.from_median_p99(0.0005, 0.005), bandwidth=1.25e9),
        nodes=nodes,
        seed=0,
    )


def measure(config: GorilaConfig) -> dict[str, float]:
    """The cluster's numbers after the warm-up (the first third of the run)."""
    started = time.perf_counter()
    result = run(config)
    wall = time.perf_counter() - started
    end = result.summary["sim_time"]
    since = end / 3
    g = result.trace.table("gradients")
    applied = (g["fate"] == "applied") & (g["time"] >= since)
    staleness = g["staleness"][applied].astype(float)
    versions = [np.unique(g["version"][applied & (g["shard"] == s)]).size for s in range(config.shards)]
    messages = result.trace.table("messages")
    split = age_split({column: values[messages["time"] >= since] for column, values in messages.items()})
    busy = shard_busy(result.trace.table("interfaces"), since)
    waits = shard_waits(g, messages, config.shards, since)
    return {
        "updates_per_s": np.count_nonzero(applied) / config.shards / (end - since),
        "steps_per_s": float(np.mean(versions)) / (end - since),
        "staleness_p50": float(np.percentile(staleness, 50)) if staleness.size else math.nan,
        "staleness_p99": float(np.percentile(staleness, 99)) if staleness.size else math.nan,
        "age_ms": 1e3 * split["age"],
        "queueing_ms": 1e3 * (split["params_queueing"] + split["gradient_queueing"]),
        "shard_wait_ms": 1e3 * float(np.mean(waits)) if waits.size else math.nan,
        "ingress": busy[1],
        "egress": busy[0],
        "wall_s": wall,
    }


def shard_waits(gradients: dict[str, np.ndarray], messages: dict[str, np.ndarray], shards: int, since: float):
    """Seconds from each gradient slice's arrival at its shard (from `since` on) to its application: the
    shard's own queue, and with accumulation the wait for the rest of the sum. Every slice is applied here
    (no staleness rule, no faults), in the order it arrived, so the n-th arrival is the n-th applied."""
    waits = []
    for s in range(shards):
        arrived = messages["time"][(messages["kind"] == "gradient") & (messages["dst"] == f"shard-{s}")]
        applied = gradients["time"][(gradients["shard"] == s) & (gradients["fate"] == "applied")]
        n = min(arrived.size, applied.size)
        waits.append((applied[:n] - arrived[:n])[arrived[:n] >= since])
    return np.concatenate(waits) if waits else np.array([])


def shard_busy(interfaces: dict[str, np.ndarray], since: float) -> tuple[float, float]:
    """The shards' mean (egress, ingress) busy fraction between their first sample from `since` on and
    their last; NaN without limits."""
    fractions = []
    nodes = interfaces["node"]
    for node in np.unique(nodes[np.char.startswith(nodes.astype(str), "shard-")]) if nodes.size else []:
        rows = np.flatnonzero((nodes == node) & (interfaces["time"] >= since))
        first, last = rows[0], rows[-1]
        elapsed = interfaces["time"][last] - interfaces["time"][first]
        fractions.append(
            [
                (interfaces[side][last] - interfaces[side][first]) / elapsed
                for side in ("egress_busy", "ingress_busy")
            ]
        )
    if not fractions:
        return math.nan, math.nan
    egress, ingress = np.mean(fractions, axis=0)
    return float(egress), float(ingress)


def percent(fraction: float) -> str:
    return "–" if math.isnan(fraction) else f"{fraction:.1%}"


def plot(rows: dict[tuple[int, bool, int], dict[str, float]], counts: list[int], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (updates, stale) = plt.subplots(1, 2, figsize=(11, 4.2))
    for limited, label in ((True, "1 Gbit/s interfaces"), (False, "unlimited interfaces")):
        updates.plot(counts, [rows[(n, limited, 1)]["updates_per_s"] for n in counts], "o-", label=label)
        stale.plot(counts, [rows[(n, limited, 1)]["staleness_p99"] for n in counts], "o-", label=label)
    k8 = rows[(counts[-1], True, 8)]
    updates.plot([counts[-1]], [k8["updates_per_s"]], "s", label="1 Gbit/s, accumulate = 8")
    stale.plot([counts[-1]], [k8["staleness_p99"]], "s", label="1 Gbit/s, accumulate = 8")
    for ax in (updates, stale):
        ax.set_xscale("log", base=2)
        ax.set_xticks(counts, [str(n) for n in counts])
        ax.set_xlabel("parameter-server shards")
        ax.legend(fontsize="small")
    updates.set(ylabel="gradients applied per simulated second", title="Throughput")
    stale.set(ylabel="staleness p99 (server versions)", title="Staleness")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "shard_scaling.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="1, 4 and 31 shards, 31,000 parameters, 0.15 simulated seconds"
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/shard_scaling"), help="where the plot goes")
    parser.add_argument(
        "--params",
        type=int,
        default=None,
        help="parameters of the surrogate problem (default 310,000; quick 31,000)",
    )
    args = parser.parse_args(argv)
    if args.params is not None and args.params < 31:
        parser.error(f"--params: must be at least 31 (one per shard), got {args.params}")
    counts = [1, 4, 31] if args.quick else [1, 2, 4, 8, 16, 31]
    params = args.params or (31_000 if args.quick else 310_000)
    base = 0.15 if args.quick else 1.0
    print(
        f"{params:,} parameters ({4 * params / 1e6:.2f} MB a gradient); {base:g} simulated s (x4 at 1 shard)"
    )
    runs = [(n, limited, 1) for n in counts for limited in (True, False)] + [(counts[-1], True, 8)]
    rows = {}
    header = f"{'shards':>6} {'interfaces':>10} {'k':>2} {'updates/s':>10} {'steps/s':>8} {'stale p50':>9}"
    header += f" {'p99':>6} {'age ms':>7} {'queue ms':>8} {'shard ms':>8}"
    print(f"{header} {'ingress':>8} {'egress':>7} {'wall s':>7}")
    for shards, limited, k in runs:
        sim_time = base * max(1, 4 / shards)
        r = rows[(shards, limited, k)] = measure(cluster(shards, params, sim_time, limited, k))
        print(
            f"{shards:>6} {'1 Gbit/s' if limited else 'unlimited':>10} {k:>2} {r['updates_per_s']:>10.0f}"
            f" {r['steps_per_s']:>8.0f} {r['staleness_p50']:>9.0f} {r['staleness_p99']:>6.0f}"
            f" {r['age_ms']:>7.1f} {r['queueing_ms']:>8.1f} {r['shard_wait_ms']:>8.2f}"
            f" {percent(r['ingress']):>8} {percent(r['egress']):>7}"
            f" {r['wall_s']:>7.1f}",
            flush=True,
        )
    print(f"plot: {plot(rows, counts, args.out)}")
    first, last = rows[(1, True, 1)], rows[(counts[-1], True, 1)]
    print(
        f"RESULT updates_per_s_31_over_1={last['updates_per_s'] / first['updates_per_s']:.3f}"
        f" staleness_p99_1={first['staleness_p99']:.1f} staleness_p99_31={last['staleness_p99']:.1f}"
        f" updates_per_s_1={first['updates_per_s']:.1f} updates_per_s_31={last['updates_per_s']:.1f}"
        f" mode={'quick' if args.quick else 'full'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
