"""The wire format: every payload type round-trips exactly; every kind of bad input is a clear WireError."""

import contextlib
import math
import struct

import numpy as np
import pytest

from gorila_sim.dqn import Batch
from gorila_sim.emulation.wire import ARRAY, FLOAT, INT, MAGIC, PUSH, STR, WireError, decode, encode
from gorila_sim.nodes.messages import Params, Pull, Push, Sample, Transitions
from gorila_sim.runtime import Message


def batch(n: int = 3) -> Batch:
    rng = np.random.default_rng(0)
    return Batch(
        obs=rng.normal(size=(n, 4)).astype(np.float32),
        actions=rng.integers(0, 2, n),
        rewards=np.ones(n, dtype=np.float32),
        next_obs=rng.normal(size=(n, 4)).astype(np.float32),
        terminated=np.array([0, 0, 1][:n], dtype=np.float32),
    )


PAYLOADS = [
    None,
    True,
    False,
    -(2**63),
    2**63 - 1,
    3.25,
    math.inf,
    "",
    "ping ünïcode",
    np.arange(12, dtype=np.float32).reshape(3, 4),
    np.zeros((2, 0, 3), dtype=np.uint8),
    np.array(7, dtype=np.int16),
    np.array([True, False]),
    np.arange(5, dtype=">f8"),
    np.arange(10, dtype=np.int64)[::2],
    Pull(),
    Pull(41),
    Params(7, np.linspace(0, 1, 9, dtype=np.float32)),
    Push(3, np.full(5, -0.5, dtype=np.float32), "learner-1", 12),
    Transitions(batch()),
    Sample(128),
    batch(1),
]


def same(a, b) -> bool:
    """Equal values of the same type; arrays arrive in native byte order."""
    if isinstance(a, np.ndarray):
        native = a.dtype.newbyteorder("=")
        return isinstance(b, np.ndarray) and b.dtype == native and b.shape == a.shape and np.array_equal(a, b)
    if isinstance(a, Batch | Transitions | Params | Push | Pull | Sample):
        fields = a.__dataclass_fields__
        return type(a) is type(b) and all(same(getattr(a, f), getattr(b, f)) for f in fields)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: type(p).__name__)
def test_every_payload_round_trips(payload):
    message = Message("learner-0", "shard-1", payload, 4096, 2**64 - 1, 17, 1.5)
    decoded = decode(encode(message))
    assert (decoded.src, decoded.dst, decoded.size, decoded.id, decoded.reply_to, decoded.sent_at) == (
        "learner-0",
        "shard-1",
        4096,
        2**64 - 1,
        17,
        1.5,
    )
    assert same(payload, decoded.payload)


def test_a_message_that_is_not_a_reply_keeps_reply_to_none():
    assert decode(encode(Message("a", "b", None))).reply_to is None


def test_arrays_travel_as_raw_bytes_not_text():
    values = np.random.default_rng(1).normal(size=1000).astype(np.float32)
    frame = encode(Message("shard-0", "actor-0", Params(1, values)))
    assert len(frame) <= values.nbytes + 80
    assert values.tobytes() in frame


def frame(payload=None) -> bytes:
    return encode(Message("learner-0", "shard-0", payload, 0, 1, None, 0.0))


def push_frame() -> bytes:
    return frame(Push(0, np.ones(4, dtype=np.float32), "learner-0", 0))


def test_every_truncation_of_a_frame_is_refused():
    data = push_frame()
    for cut in range(len(data)):
        with pytest.raises(WireError):
            decode(data[:cut])


def test_trailing_bytes_are_refused():
    with pytest.raises(WireError, match="after the payload"):
        decode(frame("x") + b"\0")


def test_a_wrong_magic_or_version_is_refused():
    with pytest.raises(WireError, match="not a frame"):
        decode(b"XX" + frame()[2:])
    with pytest.raises(WireError, match="not a frame"):
        decode(MAGIC[:2] + b"\x09" + frame()[3:])


def payload_at(data: bytes) -> int:
    """Where the payload starts in a frame from `frame`."""
    return len(MAGIC) + struct.calcsize("<Qqddq") + 2 + len("learner-0") + len("shard-0")


def test_an_unknown_tag_is_refused():
    data = bytearray(frame(None))
    data[payload_at(data)] = 99
    with pytest.raises(WireError, match="unknown tag 99"):
        decode(bytes(data))


def test_a_field_of_the_wrong_kind_is_refused():
    # A Push whose gradient field is a string.
    body = bytes((PUSH, INT)) + struct.pack("<q", 0) + bytes((STR,)) + struct.pack("<I", 1) + b"x"
    data = frame()[: payload_at(frame())] + body
    with pytest.raises(WireError, match=r"Push\.gradient: expected ndarray, got str"):
        decode(data)
    # A Push whose version is a float.
    body = bytes((PUSH, FLOAT)) + struct.pack("<d", 0.5)
    with pytest.raises(WireError, match=r"Push\.version: expected int, got float"):
        decode(frame()[: payload_at(frame())] + body)


def test_an_unknown_dtype_is_refused():
    data = bytearray(frame(np.ones(3, dtype=np.float32)))
    start = payload_at(data)
    assert data[start] == ARRAY
    data[start + 1] = 200
    with pytest.raises(WireError, match="unknown dtype code 200"):
        decode(bytes(data))


def test_a_shape_that_does_not_match_the_data_is_refused():
    data = bytearray(frame(np.ones(3, dtype=np.float32)))
    dims = payload_at(data) + 3
    data[dims : dims + 4] = struct.pack("<I", 4)
    with pytest.raises(WireError, match="needs 16 bytes"):
        decode(bytes(data))
    data[dims : dims + 4] = struct.pack("<I", 2)
    with pytest.raises(WireError, match="after the payload"):
        decode(bytes(data))


def test_a_huge_shape_is_refused_without_allocating():
    data = bytearray(frame(np.ones((1, 1), dtype=np.float64)))
    dims = payload_at(data) + 3
    data[dims : dims + 8] = struct.pack("<II", 2**32 - 1, 2**32 - 1)
    with pytest.raises(WireError, match="needs"):
        decode(bytes(data))


def test_too_many_dimensions_are_refused():
    data = bytearray(frame(np.ones(1, dtype=np.float32)))
    data[payload_at(data) + 2] = 40
    with pytest.raises(WireError, match="40 dimensions"):
        decode(bytes(data))


def test_text_that_is_not_utf8_is_refused():
    data = frame("ab")
    with pytest.raises(WireError, match="not UTF-8"):
        decode(data[:-2] + b"\xff\xfe")


def test_a_bad_envelope_is_refused():
    good = frame()
    bad = good[:3] + struct.pack("<Qqdq", 1, -1, math.nan, 0) + good[3 + 32 :]
    with pytest.raises(WireError, match="bad envelope"):
        decode(bad)
    bad = good[:3] + struct.pack("<Qqdq", 1, -1, 0.0, -5) + good[3 + 32 :]
    with pytest.raises(WireError, match="bad envelope"):
        decode(bad)


def test_random_bytes_are_refused_cleanly():
    rng = np.random.default_rng(7)
    for _ in range(2000):
        data = rng.bytes(int(rng.integers(0, 80)))
        if rng.random() < 0.5:
            data = MAGIC + data
        with contextlib.suppress(WireError):
            decode(data)


@pytest.mark.parametrize("payload", [object(), [1, 2], np.array(["a"]), np.ones(2, dtype=complex), 2**70])
def test_what_the_wire_does_not_carry_is_a_type_error(payload):
    with pytest.raises(TypeError):
        encode(Message("a", "b", payload))
