import math

import pytest

from netmodels import Partition, partition_from_spec

A = frozenset({"actor-0", "actor-1"})
B = frozenset({"learner-0"})


@pytest.mark.parametrize(
    ("direction", "a_to_b", "b_to_a"),
    [("both", True, True), ("a_to_b", True, False), ("b_to_a", False, True)],
)
def test_directions(direction, a_to_b, b_to_a):
    partition = Partition(A, B, start=10.0, end=20.0, direction=direction)
    assert partition.cuts("actor-1", "learner-0", 15.0) is a_to_b
    assert partition.cuts("learner-0", "actor-0", 15.0) is b_to_a


def test_interval_includes_start_and_excludes_end():
    partition = Partition(A, B, start=10.0, end=20.0)
    times = [9.999, 10.0, 19.999, 20.0]
    assert [partition.cuts("actor-0", "learner-0", t) for t in times] == [False, True, True, False]


def test_open_ended_partition_never_heals():
    assert Partition(A, B, start=0.0).cuts("actor-0", "learner-0", 1e12)


def test_messages_within_a_group_or_from_outside_pass():
    partition = Partition(A, B, start=0.0)
    assert not partition.cuts("actor-0", "actor-1", 1.0)
    assert not partition.cuts("replay", "learner-0", 1.0)
    assert not partition.cuts("learner-0", "replay", 1.0)


def test_groups_become_frozensets():
    partition = Partition(["a", "b"], {"c"}, start=1.0)
    assert partition.a == frozenset({"a", "b"})
    assert isinstance(partition.b, frozenset)
    assert hash(partition) == hash(Partition(("b", "a"), ["c"], 1.0))


def test_partition_from_spec():
    spec = {"a": ["actor-0", "actor-1"], "b": ["learner-0"], "start": 5, "direction": "a_to_b"}
    assert partition_from_spec(spec) == Partition(A, B, start=5, end=math.inf, direction="a_to_b")
