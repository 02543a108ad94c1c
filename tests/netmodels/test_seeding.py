import numpy as np
import pytest

from netmodels import ModelError, Streams, generator


def draws(rng: np.random.Generator) -> list[float]:
    return rng.random(5).tolist()


def test_same_seed_and_path_give_the_same_draws():
    assert draws(generator(7, "link", "actor-3", "server")) == draws(
        generator(7, "link", "actor-3", "server")
    )


def test_different_paths_and_seeds_give_different_draws():
    base = draws(generator(7, "node", "learner-0"))
    assert base != draws(generator(7, "node", "learner-1"))
    assert base != draws(generator(8, "node", "learner-0"))
    assert base != draws(generator(7, "node"))
    assert draws(generator(7, "ab")) != draws(generator(7, "a", "b"))


def test_other_generators_do_not_affect_a_given_one():
    expected = draws(generator(7, "node", "learner-0"))
    for i in range(20):
        generator(7, "node", f"actor-{i}").random(1000)
    assert draws(generator(7, "node", "learner-0")) == expected


def test_draws_are_stable_across_processes():
    # Python's hash() of a str changes per process; these values must not.
    assert generator(7, "node", "learner-0").integers(0, 2**32, 3).tolist() == [
        987976103,
        1040611762,
        3091528981,
    ]


def test_streams_are_named_generators_below_the_entity():
    streams = Streams(1, "link", "a", "b")
    assert draws(streams("latency")) == draws(generator(1, "link", "a", "b", "latency"))
    assert streams("loss") is streams("loss")
    assert draws(streams("loss")) != draws(streams("latency"))


def test_fresh_replays_a_stream_from_its_start():
    streams = Streams(1, "node", "x")
    first = draws(streams.fresh("crashes"))
    assert draws(streams.fresh("crashes")) == first


def test_streams_validate_their_seed():
    with pytest.raises(ModelError, match="seed"):
        Streams(-1, "node", "x")
