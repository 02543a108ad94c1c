"""A planted bug that needs two faults to overlap: exploration finds it, shrinks it to those two faults, and
finds nothing in the same seeds when either fault kind is taken out of the profile."""

from pathlib import Path

import pytest

from gorila_sim.testing import explore

PLANTED = Path(__file__).with_name("planted.toml")


def without(kind: str, tmp_path: Path) -> Path:
    """The planted scenario with one kind of fault taken out of its profile."""
    text = PLANTED.read_text()
    start = text.index(f"[explore.{kind}]")
    end = text.find("\n[", start + 1)
    path = tmp_path / f"without-{kind}.toml"
    path.write_text(text[:start] + (text[end + 1 :] if end >= 0 else ""))
    return path


@pytest.fixture(scope="module")
def failure(tmp_path_factory):
    out = tmp_path_factory.mktemp("planted")
    with pytest.raises(AssertionError) as caught:
        explore(PLANTED, ["max-staleness:2"], runs=500, out=out, database=None)
    return caught.value


def test_the_planted_bug_is_found_within_500_runs_and_shrunk_to_the_pause_and_the_spike(failure):
    finding = failure.finding
    runs = len(finding.reports)
    assert runs <= 500 and finding.failure.seed == runs - 1
    print(f"found in {runs} runs, shrunk in {finding.shrunk.runs} runs")
    assert sorted(fault["kind"] for fault in finding.shrunk.table["faults"]) == ["latency_spike", "pause"]
    pause, spike = sorted(finding.shrunk.table["faults"], key=lambda fault: fault["kind"] != "pause")
    assert pause["nodes"] == spike["a"]  # the same learner
    assert spike["at"] < pause["at"] + pause["duration"] and pause["at"] < spike["at"] + spike["duration"]
    message = str(failure)
    assert "max-staleness:2 failed" in message and f"replay: gorila-sim run {finding.failing}" in message
    assert 'kind = "latency_spike"' in message  # the shrunk scenario is in the message


@pytest.mark.parametrize("kind", ["pause", "latency_spike"])
def test_the_same_seeds_find_nothing_without_one_of_the_two(kind, failure, tmp_path):
    # each kind draws from a stream of its own, so the other kinds' draws stay as they were
    runs = len(failure.finding.reports)
    finding = explore(without(kind, tmp_path), ["max-staleness:2"], runs=runs, out=tmp_path, database=None)
    assert finding.failure is None and len(finding.reports) == runs
