"""Results directories (Parquet trace, summary, scenario) and the report made from them."""

import json
from dataclasses import replace

import numpy as np
import pytest

from gorila_sim.config import GorilaConfig
from gorila_sim.gorila import RunResult, build, run, summarise
from gorila_sim.report import make_report
from gorila_sim.results import read_results, write_results
from gorila_sim.trace import Trace


def small(seed: int) -> GorilaConfig:
    return GorilaConfig(
        problem="surrogate",
        surrogate_size=100,
        bundled=False,
        actors=2,
        learners=2,
        shards=2,
        replay="global",
        batch_size=16,
        learning_starts=32,
        total_env_steps=5_000,
        surrogate_episode=50,
        optimiser={"name": "sgd", "lr": 0.05},
        seed=seed,
    )


def test_a_results_directory_round_trips(tmp_path):
    result = run(small(1))
    write_results(result, tmp_path / "run", {"scenario": {"name": "small", "seed": 1}})
    stored = read_results(tmp_path / "run")
    assert stored.summary["env_steps"] == 5_000
    assert stored.scenario == {"scenario": {"name": "small", "seed": 1}}
    for name, rows in result.trace.records.items():
        columns = stored.tables[name]
        assert len(next(iter(columns.values()))) == len(rows)
    original = result.trace.table("gradients")
    np.testing.assert_array_equal(stored.tables["gradients"]["fate"], original["fate"])
    np.testing.assert_array_equal(stored.tables["gradients"]["staleness"], original["staleness"])
    assert (
        json.loads((tmp_path / "run" / "summary.json").read_text())["episodes"] == result.summary["episodes"]
    )


def test_reading_a_directory_that_is_not_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not a results directory"):
        read_results(tmp_path / "missing")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "summary.json").write_text("{}")
    with pytest.raises(ValueError, match="not a complete results directory"):
        read_results(tmp_path / "half")


def test_report_overlays_runs_and_draws_every_plot(tmp_path):
    for seed in (1, 2):
        config = small(seed)
        trace = Trace()
        sim, cluster = build(config, trace)
        sim.crash("shard-0", at=0.05, restart_at=0.08)
        sim.pause("actor-1", at=0.02, until=0.04)
        sim.run()
        result = RunResult(config, trace, summarise(trace, sim, cluster, 1.0))
        write_results(result, tmp_path / f"seed{seed}", {})
    runs = [read_results(tmp_path / f"seed{seed}") for seed in (1, 2)]
    written = make_report(runs, tmp_path / "report")
    names = {p.name for p in written}
    assert {"learning.png", "staleness.png", "discards.png", "timeline-seed1.png", "report.md"} <= names
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "| env steps | 5,000 | 5,000 |" in markdown
    assert "![learning.png](learning.png)" in markdown


def test_the_report_splits_a_gradients_age_and_lists_the_busy_interfaces(tmp_path):
    from netmodels import NodeModel

    limited = replace(small(1), nodes={"shard": NodeModel(ingress=1e6)})
    for name, config in (("limited", limited), ("unlimited", small(1))):
        write_results(run(config), tmp_path / name, {})
    runs = [read_results(tmp_path / name) for name in ("limited", "unlimited")]
    written = make_report(runs, tmp_path / "report")
    assert "gradient-age.png" in {p.name for p in written}
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "## Network" in markdown and "| - gradient queueing (ms) |" in markdown
    busy = next(line for line in markdown.splitlines() if line.startswith("| shard ingress busy (%) |"))
    limited_busy, unlimited_busy = (cell.strip() for cell in busy.split("|")[2:4])
    assert float(limited_busy) > 0 and unlimited_busy == "-"
    assert "learner ingress" not in markdown  # no run limits it


def test_a_results_directory_from_before_the_network_tables_still_reads(tmp_path):
    write_results(run(small(1)), tmp_path / "run", {})
    for name in ("messages", "interfaces"):
        (tmp_path / "run" / "trace" / f"{name}.parquet").unlink()
    stored = read_results(tmp_path / "run")
    assert stored.tables["messages"]["kind"].size == 0
    assert (tmp_path / "report" / "report.md") in make_report([stored], tmp_path / "report")
