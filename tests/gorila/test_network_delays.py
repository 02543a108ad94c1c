"""The trace's messages and interfaces tables, and what reports derive from them: a gradient's age split
into compute, queueing and transfer, and the interfaces' busy fractions."""

import numpy as np
import pytest
from gorila_configs import small_surrogate

from gorila_sim.config import GorilaConfig
from gorila_sim.delays import age_split, gradient_ages, utilisation
from gorila_sim.gorila import run
from gorila_sim.scenario import load_scenario, resolve, run_scenario
from gorila_sim.trace import Trace
from netmodels import NodeModel


def contended(**overrides) -> GorilaConfig:
    """Four learners push 40 kB slices into two shards whose ingress takes 10 MB/s."""
    settings = dict(
        surrogate_size=20_000,
        total_env_steps=10**9,
        max_sim_time=0.5,
        nodes={"shard": NodeModel(ingress=10e6), "learner": NodeModel(egress=50e6, ingress=50e6)},
    )
    return small_surrogate(**(settings | overrides))


def test_a_gradients_age_is_matched_with_the_slice_of_theta_it_came_from():
    trace = Trace()
    # learner-0 gets shard-0's θ at version 4 twice; the gradient is sent between the two deliveries
    trace.message(1.0, "params", "shard-0", "learner-0", 4, 0.9, 0.02)
    trace.message(1.5, "gradient", "learner-0", "shard-0", 4, 1.3, 0.1)
    trace.message(1.4, "params", "shard-0", "learner-0", 4, 1.35, 0.0)  # a later pull, after the push left
    trace.message(1.6, "gradient", "learner-1", "shard-0", 4, 1.2, 0.0)  # learner-1 never got version 4
    trace.records["messages"].sort()
    ages = gradient_ages(trace.table("messages"))
    assert ages["age"].tolist() == pytest.approx([0.6])  # from 0.9 (θ sent) to 1.5 (gradient delivered)
    split = age_split(trace.table("messages"))
    assert split["compute"] == pytest.approx(0.3)  # θ delivered at 1.0, gradient sent at 1.3
    assert split["params_queueing"] == pytest.approx(0.02)
    assert split["params_transfer"] == pytest.approx(0.08)
    assert split["gradient_queueing"] == pytest.approx(0.1)
    assert split["gradient_transfer"] == pytest.approx(0.1)


def test_utilisation_is_the_latest_busy_time_over_the_time_per_role():
    trace = Trace()
    trace.interfaces(0.5, "shard-0", np.nan, 0.1)
    trace.interfaces(1.0, "shard-0", np.nan, 0.8)
    trace.interfaces(1.0, "shard-1", np.nan, 0.6)
    trace.interfaces(1.0, "learner-0", 0.2, 0.1)
    busy = utilisation(trace.table("interfaces"))
    assert busy["shard"]["ingress"] == pytest.approx(0.7)
    assert np.isnan(busy["shard"]["egress"])
    assert busy["learner"] == pytest.approx({"egress": 0.2, "ingress": 0.1})


def test_the_messages_table_agrees_with_the_ingress_it_went_through():
    result = run(contended())
    messages, interfaces = result.trace.table("messages"), result.trace.table("interfaces")
    at_shard0 = (messages["kind"] == "gradient") & (messages["dst"] == "shard-0")
    transfer = messages["time"] - messages["sent"] - messages["queued"]
    assert at_shard0.sum() > 100
    assert np.all(transfer[at_shard0] >= 10_032 * 4 / 10e6 - 1e-12)  # at least the ingress's own time
    assert messages["queued"][at_shard0].max() > 0.01  # some waited behind others
    # The ingress's busy time at the last sample: the gradients (and the tiny pulls) delivered by then,
    # but for those still being received.
    last = np.flatnonzero(interfaces["node"] == "shard-0")[-1]
    t, busy = interfaces["time"][last], interfaces["ingress_busy"][last]
    done = np.count_nonzero(at_shard0 & (messages["time"] <= t))
    assert done * 40_032 / 10e6 <= busy <= (done + 2) * 40_032 / 10e6 + 0.01


def test_without_capacity_nothing_queues_and_no_interface_is_sampled():
    result = run(contended(nodes={}))
    messages = result.trace.table("messages")
    assert messages["kind"].size > 100 and not messages["queued"].any()
    assert not result.trace.records["interfaces"]


def test_the_same_seed_gives_the_same_trace_with_contention():
    first = run(contended()).trace.without_wall()
    assert first["messages"] and first["interfaces"]
    assert first == run(contended()).trace.without_wall()


def ps_bottleneck_age(overrides=()) -> dict[str, float]:
    scenario = load_scenario(resolve("ps-bottleneck"), ["stop.sim_time=0.3", *overrides])
    return age_split(run_scenario(scenario).trace.table("messages"))


def test_in_ps_bottleneck_queueing_is_most_of_a_gradients_age_because_of_the_shards_ingress():
    split = ps_bottleneck_age()
    assert split["gradient_queueing"] > 0.4 * split["age"]
    # the control: the same cluster with the shards' ingress unlimited
    split = ps_bottleneck_age(["nodes.shard.ingress=1e15"])
    assert split["gradient_queueing"] < 0.1 * split["age"]
