import numpy as np
import pytest

from netmodels import (
    Bernoulli,
    Constant,
    Exponential,
    GilbertElliott,
    LinkModel,
    LogNormal,
    Streams,
    Uniform,
    link_from_spec,
)
from netmodels.link import Channel, FixedDelay

LATENCY = LogNormal.from_median_p99(0.002, 0.01)


def send_all(
    link: LinkModel, seed: int, n: int, gap: float = 0.001, size: int = 100
) -> list[tuple[float, ...]]:
    channel = link.channel(Streams(seed, "link", "a", "b"))
    return [channel.transmit(i * gap, size) for i in range(n)]


def test_default_link_delivers_instantly():
    assert LinkModel().channel(Streams(0, "link")).transmit(2.5, 1000) == (2.5,)


def test_constant_latency_plus_size_over_bandwidth_is_exact():
    channel = LinkModel(latency=Constant(0.005), bandwidth=1e6).channel(Streams(0, "link"))
    for now, size in [(0.0, 0), (1.0, 1000), (2.5, 123_456)]:
        assert channel.transmit(now, size) == (pytest.approx(now + 0.005 + size / 1e6, rel=1e-15),)


def test_ordered_channel_delivers_in_sending_order():
    arrivals = [times[0] for times in send_all(LinkModel(latency=Uniform(0.0, 0.01)), 1, 10_000, gap=0.0001)]
    assert arrivals == sorted(arrivals)
    assert all(arrival >= i * 0.0001 for i, arrival in enumerate(arrivals))


def test_unordered_channel_lets_messages_overtake():
    link = LinkModel(latency=Uniform(0.0, 0.01), ordered=False)
    arrivals = np.array([times[0] for times in send_all(link, 1, 10_000, gap=0.0001)])
    assert (np.diff(arrivals) < 0).mean() > 0.3
    delays = arrivals - np.arange(10_000) * 0.0001
    assert delays.mean() == pytest.approx(0.005, rel=0.02)


def test_mean_delay_matches_mean_latency_with_jitter():
    link = LinkModel(latency=LATENCY, jitter=Exponential(0.001), ordered=False)
    assert link.mean_latency == pytest.approx(LATENCY.mean + 0.001)
    delays = [times[0] - i * 0.001 for i, times in enumerate(send_all(link, 2, 50_000, size=0))]
    assert np.mean(delays) == pytest.approx(link.mean_latency, rel=0.02)


def test_bernoulli_loss_rate():
    results = send_all(LinkModel(latency=LATENCY, loss=Bernoulli(0.05)), 3, 50_000)
    assert np.mean([times == () for times in results]) == pytest.approx(0.05, abs=0.005)


def test_gilbert_elliott_loss_rate_and_bursts_through_a_channel():
    loss = GilbertElliott(0.01, 0.25)
    lost = np.array([times == () for times in send_all(LinkModel(loss=loss), 4, 100_000)])
    assert lost.mean() == pytest.approx(loss.stationary_loss, rel=0.1)
    edges = np.diff(np.concatenate(([0], lost.astype(np.int8), [0])))
    assert (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).mean() == pytest.approx(4, rel=0.1)


def test_duplication_rate_and_duplicate_times():
    results = send_all(LinkModel(latency=LATENCY, duplicate=0.1), 5, 50_000)
    duplicated = [times for times in results if len(times) == 2]
    assert len(duplicated) / len(results) == pytest.approx(0.1, abs=0.005)
    assert all(len(times) in (1, 2) for times in results)
    assert all(first <= second for first, second in duplicated)
    arrivals = [t for times in results for t in times]
    assert arrivals == sorted(arrivals)


def test_lost_messages_are_not_duplicated():
    results = send_all(LinkModel(loss=Bernoulli(1.0), duplicate=1.0), 6, 3000)
    assert set(results) == {()}


def test_channel_is_deterministic_and_paths_differ():
    link = LinkModel(
        latency=LATENCY, jitter=Exponential(0.001), loss=GilbertElliott(0.05, 0.3), duplicate=0.05
    )
    assert send_all(link, 7, 5000) == send_all(link, 7, 5000)
    other = link.channel(Streams(7, "link", "b", "a"))
    assert send_all(link, 7, 100) != [other.transmit(i * 0.001, 100) for i in range(100)]


def test_loss_does_not_change_the_delays_of_delivered_messages():
    clean = send_all(LinkModel(latency=LATENCY, ordered=False), 8, 5000)
    lossy = send_all(LinkModel(latency=LATENCY, loss=Bernoulli(0.3), ordered=False), 8, 5000)
    delivered = [(a, b) for a, b in zip(clean, lossy, strict=True) if b]
    assert len(delivered) < 4000
    assert all(a == b for a, b in delivered)


@pytest.mark.parametrize(
    ("text", "bytes_per_second"),
    [
        ("1Gbps", 1.25e8),
        ("100Mbps", 1.25e7),
        ("10 kbps", 1250.0),
        ("10MB/s", 1e7),
        ("1.5GB/s", 1.5e9),
        ("1GiB/s", 2.0**30),
        ("800bps", 100.0),
        (5e6, 5e6),
    ],
)
def test_bandwidth_spec_units(text, bytes_per_second):
    assert link_from_spec({"bandwidth": text}).bandwidth == pytest.approx(bytes_per_second)


def test_link_from_spec_builds_the_model():
    spec = {
        "latency": {"kind": "lognormal", "median": 0.002, "p99": 0.01},
        "jitter": 0.0001,
        "bandwidth": "1Gbps",
        "loss": {"kind": "bernoulli", "p": 0.01},
        "duplicate": 0.001,
        "ordered": False,
    }
    assert link_from_spec(spec) == LinkModel(
        latency=LATENCY,
        jitter=Constant(0.0001),
        bandwidth=1.25e8,
        loss=Bernoulli(0.01),
        duplicate=0.001,
        ordered=False,
    )
    assert link_from_spec({}) == LinkModel()


def test_a_constant_only_link_gets_a_fixed_delay_with_the_arrivals_of_a_channel():
    link = LinkModel(latency=Constant(0.003))
    fixed = link.channel(Streams(0, "link", "a", "b"))
    assert isinstance(fixed, FixedDelay) and fixed.fifo is None
    channel = Channel(link, Streams(0, "link", "a", "b"))
    sends = [0.0, 0.1, 0.1, 0.25, 3.0]
    assert [fixed.transmit(t, 100) for t in sends] == [channel.transmit(t, 100) for t in sends]
    assert isinstance(LinkModel(latency=Constant(0.003), bandwidth=1e6).channel(Streams(0)), Channel)
