import numpy as np

from netmodels import generator, split


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


def test_split_children_depend_on_their_own_name_only():
    a, b = split(generator(1, "x"), "latency", "loss")
    (b_alone,) = split(generator(1, "x"), "loss")
    assert draws(b) == draws(b_alone)
    assert draws(a) != draws(split(generator(1, "x"), "loss")[0])


def test_split_consumes_the_parent_so_repeated_splits_differ():
    rng = generator(1, "x")
    assert draws(split(rng, "a")[0]) != draws(split(rng, "a")[0])
