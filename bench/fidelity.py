"""The emulator against the simulator on the same scenarios: how far apart are the numbers that matter?

Each scenario runs in the simulator and in the emulator (one process per node, real sockets and signals,
run time stretched by a time scale so that the machine's own CPU time weighs little against the modelled
times), both stopped at the same run time. Printed per scenario: the staleness of applied gradients (KS
statistic, means and their relative difference), the rate of each discard reason, throughput (env steps
and applied gradients per run second), and the learning curve (mean episode return, and the mean gap
between the two mean-return curves at the same env steps). The last line is

    RESULT staleness_rel_diff=... discard_rel_diff=...

the largest relative difference over the scenarios of mean staleness and of the total discard rate:
|emulated - simulated| / simulated, 0 when both are equal, and with a simulated discard rate of at least
one gradient's worth (a rate of 0 in the simulator, 3 discards in the emulator reads as 300%).

Then contention: ps-bottleneck made small enough for one process per node (8 bundles push 2 MB gradients
into one shard whose ingress takes 1 Gbit/s; see CONTENTION), where the shard's ingress is the bottleneck.
Printed: the same rows, the shard's ingress busy fraction and the split of a gradient's age; RESULT adds

    contention_staleness_rel_diff=... contention_updates_rel_diff=... contention_ingress_rel_diff=...

the relative differences of mean staleness, of applied gradients per run second and of the shard's ingress
busy fraction.

    python bench/fidelity.py [--quick] [--time-scale S] [--scenarios a,b,c] [--ray]

A full run takes about two minutes; --quick under a minute. With --ray, the emulator's processes are Ray
actors' processes (`emulate --ray local`: a private Ray on loopback, started for each emulated run and
stopped after it), so each run takes some seconds more to start: not part of the quick form run in CI.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from gorila_sim.delays import AGE_PARTS, age_split, utilisation
from gorila_sim.emulation import emulate_scenario
from gorila_sim.gorila import RunResult, mean_return_curve
from gorila_sim.scenario import load_scenario, resolve, run_scenario
from gorila_sim.trace import FATES

SCENARIOS = ("baseline", "straggler-learners", "shard-crash")
CONTENTION = ("ps-bottleneck", ["topology.actors=8", "topology.shards=1", "training.surrogate_size=500000"])
"""The contention scenario and its overrides: 9 processes, an ingress offered about twice what it takes."""
DISCARDS = tuple(fate for fate in FATES if fate != "applied")


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs."""
    if not a.size or not b.size:
        return math.nan
    values = np.union1d(a, b)
    cdf_a = np.searchsorted(np.sort(a), values, side="right") / a.size
    cdf_b = np.searchsorted(np.sort(b), values, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def rel_diff(emulated: float, simulated: float, resolution: float = 0.0) -> float:
    """|emulated - simulated| / |simulated|, where the simulated value counts as at least `resolution` (the
    smallest nonzero value it could have taken: one gradient in its count); 0 when both are equal."""
    if emulated == simulated:
        return 0.0
    reference = max(abs(simulated), resolution)
    return abs(emulated - simulated) / reference if reference else math.inf


def staleness(result: RunResult) -> np.ndarray:
    gradients = result.trace.table("gradients")
    if not gradients["fate"].size:
        return np.array([])
    return gradients["staleness"][gradients["fate"] == "applied"].astype(float)


def discard_rates(result: RunResult) -> dict[str, float]:
    fates = result.trace.table("gradients")["fate"]
    total = max(1, fates.size)
    return {fate: float(np.count_nonzero(fates == fate)) / total for fate in DISCARDS}


def curve_gap(emulated: RunResult, simulated: RunResult) -> float:
    """The mean absolute gap between the mean-return curves, over the env steps both runs reached."""
    (x_e, y_e), (x_s, y_s) = mean_return_curve(emulated.trace), mean_return_curve(simulated.trace)
    if not (x_e.size and x_s.size):
        return math.nan
    steps = np.linspace(max(x_e[0], x_s[0]), min(x_e[-1], x_s[-1]), 50)
    return float(np.mean(np.abs(np.interp(steps, x_e, y_e) - np.interp(steps, x_s, y_s))))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


def mean_return(result: RunResult) -> float:
    returns = result.trace.table("episodes")["ret"]
    return float(np.mean(returns)) if returns.size else math.nan


def row(label: str, sim: float, emu: float, resolution: float = 0.0) -> None:
    print(f"  {label:34}{sim:12.4g}{emu:12.4g}{rel_diff(emu, sim, resolution):10.1%}")


def both_ways(
    name: str, until: float, time_scale: float, overrides=(), ray: str | None = None
) -> tuple[RunResult, RunResult]:
    """Scenario `name` run in the simulator and the emulator to run time `until` (placed by Ray at `ray`)."""
    settings = [f"stop.sim_time={until}", "stop.env_steps=10000000", *overrides]
    scenario = load_scenario(resolve(name), settings)
    simulated = run_scenario(scenario)
    started = time.perf_counter()
    emulated = emulate_scenario(scenario, time_scale=time_scale, ray=ray)
    wall = time.perf_counter() - started
    where = " on Ray" if ray else ""
    print(f"\n{name}: {until} s of run time; the emulation{where} took {wall:.1f} s wall, scale {time_scale}")
    if overrides:
        print(f"  (with {' '.join(overrides)})")
    print(f"  {'':34}{'simulated':>12}{'emulated':>12}{'rel diff':>10}")
    return simulated, emulated


def compare(name: str, until: float, time_scale: float, ray: str | None) -> tuple[float, float]:
    """Run scenario `name` both ways to run time `until`, print the distances; the two RESULT numbers."""
    simulated, emulated = both_ways(name, until, time_scale, ray=ray)
    s_sim, s_emu = staleness(simulated), staleness(emulated)
    d_sim, d_emu = discard_rates(simulated), discard_rates(emulated)
    resolution = 1.0 / max(1, simulated.trace.table("gradients")["fate"].size)

    row("staleness mean (applied)", _mean(s_sim), _mean(s_emu))
    print(f"  {'staleness KS statistic':34}{ks_statistic(s_sim, s_emu):24.3f}")
    for fate in DISCARDS:
        row(f"discard rate: {fate}", d_sim[fate], d_emu[fate], resolution)
    row("discard rate: all", sum(d_sim.values()), sum(d_emu.values()), resolution)
    row("env steps / run s", simulated.summary["env_steps"] / until, emulated.summary["env_steps"] / until)
    row(
        "applied gradients / run s",
        simulated.summary["gradients"]["applied"] / until,
        emulated.summary["gradients"]["applied"] / until,
    )
    row("mean episode return", mean_return(simulated), mean_return(emulated))
    print(f"  {'mean-return curve gap':34}{curve_gap(emulated, simulated):24.3f}")
    discards = rel_diff(sum(d_emu.values()), sum(d_sim.values()), resolution)
    return rel_diff(_mean(s_emu), _mean(s_sim)), discards


def contention(until: float, time_scale: float, ray: str | None) -> dict[str, float]:
    """The contention scenario both ways; the relative differences of staleness, updates and ingress."""
    name, overrides = CONTENTION
    simulated, emulated = both_ways(name, until, time_scale, overrides, ray)
    s_sim, s_emu = staleness(simulated), staleness(emulated)
    row("staleness mean (applied)", _mean(s_sim), _mean(s_emu))
    print(f"  {'staleness KS statistic':34}{ks_statistic(s_sim, s_emu):24.3f}")
    u_sim, u_emu = (r.summary["gradients"]["applied"] / until for r in (simulated, emulated))
    row("applied gradients / run s", u_sim, u_emu)
    i_sim, i_emu = (
        utilisation(r.trace.table("interfaces"))["shard"]["ingress"] for r in (simulated, emulated)
    )
    row("shard ingress busy fraction", i_sim, i_emu)
    a_sim, a_emu = (age_split(r.trace.table("messages")) for r in (simulated, emulated))
    for part in (*AGE_PARTS, "age"):
        row(f"gradient age: {part} (ms)", 1e3 * a_sim[part], 1e3 * a_emu[part])
    return {
        "staleness": rel_diff(_mean(s_emu), _mean(s_sim)),
        "updates": rel_diff(u_emu, u_sim),
        "ingress": rel_diff(i_emu, i_sim),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="0.6 s of run time per scenario, under a minute")
    parser.add_argument(
        "--time-scale", type=float, default=None, help="wall s per run s (default 20; quick 10)"
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated library scenarios")
    parser.add_argument(
        "--ray", action="store_true", help="place the emulated processes on a private local Ray"
    )
    args = parser.parse_args()
    ray = "local" if args.ray else None
    until = 0.6 if args.quick else 1.0
    time_scale = args.time_scale or (10.0 if args.quick else 20.0)
    results = [compare(name, until, time_scale, ray) for name in args.scenarios.split(",")]
    staleness_diff = max(r[0] for r in results)
    discard_diff = max(r[1] for r in results)
    contended = contention(0.8 if args.quick else 1.5, time_scale, ray)
    print(
        f"RESULT staleness_rel_diff={staleness_diff:.3f} discard_rel_diff={discard_diff:.3f}"
        f" contention_staleness_rel_diff={contended['staleness']:.3f}"
        f" contention_updates_rel_diff={contended['updates']:.3f}"
        f" contention_ingress_rel_diff={contended['ingress']:.3f}"
        f" ray={int(args.ray)} mode={'quick' if args.quick else 'full'}"
    )


if __name__ == "__main__":
    main()
