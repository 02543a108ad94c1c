"""The emulator's wire format: a message and its payload as compact binary, numbers never as text.

A frame is a header, the envelope, and one value (the payload):

    b"GW" and a version byte (2)
    id (u64), reply_to (i64, -1 when the message is not a reply), sent_at (f64), queued (f64), size (i64)
    src and dst, each a length byte and that many bytes of UTF-8

A value is a tag byte and its body, all little-endian:

    NONE, FALSE, TRUE   no body
    INT, FLOAT          an i64, an f64
    STR                 a u32 length and that many bytes of UTF-8
    ARRAY               a dtype code (u8), the number of dimensions (u8), each dimension (u32), and the
                        elements in C order as raw bytes
    a record            Pull, Params, Push, Transitions, Sample or Batch: its fields in order, each a value
                        of the field's own kind

`decode` checks everything and raises WireError, naming what is wrong and where, on any bad input.
"""

from __future__ import annotations

import math
import struct
from dataclasses import fields
from typing import Any

import numpy as np

from ..dqn import Batch
from ..nodes.messages import Params, Pull, Push, Sample, Transitions
from ..runtime import Message

MAGIC = b"GW\x02"
MAX_DIMS = 8

NONE, FALSE, TRUE, INT, FLOAT, STR, ARRAY = range(7)
PULL, PARAMS, PUSH, TRANSITIONS, SAMPLE, BATCH = range(16, 22)

RECORDS: dict[int, tuple[type, tuple[type, ...]]] = {
    PULL: (Pull, (int,)),
    PARAMS: (Params, (int, np.ndarray)),
    PUSH: (Push, (int, np.ndarray, str, int)),
    TRANSITIONS: (Transitions, (Batch,)),
    SAMPLE: (Sample, (int,)),
    BATCH: (Batch, (np.ndarray,) * 5),
}
"""Each record's tag, class, and the kind of each of its fields in order."""

_RECORD_TAG = {cls: tag for tag, (cls, _) in RECORDS.items()}
_KIND = {
    NONE: type(None),
    FALSE: bool,
    TRUE: bool,
    INT: int,
    FLOAT: float,
    STR: str,
    ARRAY: np.ndarray,
    **{tag: cls for tag, (cls, _) in RECORDS.items()},
}
"""The Python type that each tag decodes to."""

DTYPES = tuple(
    np.dtype(name).newbyteorder("<")
    for name in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
    )
)
"""The array element types the wire carries; an array's dtype code is its index here plus one."""
_DTYPE_CODE = {dtype.newbyteorder("="): code for code, dtype in enumerate(DTYPES, start=1)}

_ENVELOPE = struct.Struct("<Qqddq")
_I64, _F64, _U32 = struct.Struct("<q"), struct.Struct("<d"), struct.Struct("<I")


class WireError(ValueError):
    """Bytes that are not a valid frame: the message says what is wrong and at which byte."""


def encode(message: Message) -> bytes:
    """The frame of `message`; TypeError if its payload holds something the wire does not carry."""
    reply_to = -1 if message.reply_to is None else message.reply_to
    if message.id < 0 or reply_to < -1 or message.size < 0:
        raise ValueError(f"encode: id, reply_to and size must be >= 0, got {message!r}")
    chunks = [MAGIC, _ENVELOPE.pack(message.id, reply_to, message.sent_at, message.queued, message.size)]
    for name in (message.src, message.dst):
        raw = name.encode()
        if not 0 < len(raw) < 256:
            raise ValueError(f"encode: a node name must take 1 to 255 bytes of UTF-8, got {name!r}")
        chunks += [bytes((len(raw),)), raw]
    _encode_value(message.payload, chunks)
    return b"".join(chunks)


def _encode_value(value: Any, chunks: list[bytes]) -> None:
    if value is None:
        chunks.append(bytes((NONE,)))
    elif isinstance(value, bool | np.bool_):
        chunks.append(bytes((TRUE if value else FALSE,)))
    elif isinstance(value, int | np.integer):
        if not -(2**63) <= value < 2**63:
            raise TypeError(f"encode: an integer must fit in 64 bits, got {value}")
        chunks += [bytes((INT,)), _I64.pack(int(value))]
    elif isinstance(value, float | np.floating):
        chunks += [bytes((FLOAT,)), _F64.pack(float(value))]
    elif isinstance(value, str):
        raw = value.encode()
        chunks += [bytes((STR,)), _U32.pack(len(raw)), raw]
    elif isinstance(value, np.ndarray):
        _encode_array(value, chunks)
    elif type(value) in _RECORD_TAG:
        chunks.append(bytes((_RECORD_TAG[type(value)],)))
        for field in fields(value):
            _encode_value(getattr(value, field.name), chunks)
    else:
        raise TypeError(f"encode: the wire does not carry {type(value).__name__} payloads")


def _encode_array(array: np.ndarray, chunks: list[bytes]) -> None:
    code = _DTYPE_CODE.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"encode: the wire does not carry arrays of {array.dtype}")
    if array.ndim > MAX_DIMS or any(n >= 2**32 for n in array.shape):
        raise TypeError(f"encode: at most {MAX_DIMS} dimensions, each under 2**32, got {array.shape}")
    data = np.ascontiguousarray(array, dtype=DTYPES[code - 1]).tobytes()
    chunks += [bytes((ARRAY, code, array.ndim)), struct.pack(f"<{array.ndim}I", *array.shape), data]


class _Reader:
    """Reads a frame front to back; every read checks that the bytes are there."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.at = 0

    def take(self, count: int, what: str) -> memoryview:
        end = self.at + count
        if end > len(self.data):
            raise WireError(f"truncated: {what} needs {count} bytes at byte {self.at}, {self.left} left")
        chunk = self.data[self.at : end]
        self.at = end
        return chunk

    def unpack(self, layout: struct.Struct, what: str) -> tuple[Any, ...]:
        return layout.unpack(self.take(layout.size, what))

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def text(self, count: int, what: str) -> str:
        start = self.at
        try:
            return str(self.take(count, what), "utf-8")
        except UnicodeDecodeError:
            raise WireError(f"{what} at byte {start} is not UTF-8") from None

    @property
    def left(self) -> int:
        return len(self.data) - self.at


def decode(data: bytes) -> Message:
    """The message in frame `data`; WireError if `data` is not exactly one valid frame."""
    reader = _Reader(data)
    if bytes(reader.take(len(MAGIC), "the header")) != MAGIC:
        raise WireError(f"not a frame of this format (it starts {bytes(data[:3])!r}, expected {MAGIC!r})")
    id_, reply_to, sent_at, queued, size = reader.unpack(_ENVELOPE, "the envelope")
    if reply_to < -1 or size < 0 or not math.isfinite(sent_at) or not 0 <= queued < math.inf:
        raise WireError(f"bad envelope: reply_to={reply_to}, size={size}, sent_at={sent_at}, queued={queued}")
    src = reader.text(reader.byte("src's length"), "src")
    dst = reader.text(reader.byte("dst's length"), "dst")
    if not src or not dst:
        raise WireError("src and dst must not be empty")
    payload = _decode_value(reader, None, "payload")
    if reader.left:
        raise WireError(f"{reader.left} bytes after the payload's end at byte {reader.at}")
    return Message(src, dst, payload, size, id_, None if reply_to == -1 else reply_to, sent_at, queued)


def _decode_value(reader: _Reader, kind: type | None, what: str) -> Any:
    """The value at the reader; `kind` (when given) is the type the value must have."""
    at = reader.at
    tag = reader.byte(what)
    if tag not in _KIND:
        raise WireError(f"{what}: unknown tag {tag} at byte {at}")
    if kind is not None and _KIND[tag] is not kind:
        raise WireError(f"{what}: expected {kind.__name__}, got {_KIND[tag].__name__} at byte {at}")
    if tag in (NONE, FALSE, TRUE):
        return None if tag == NONE else tag == TRUE
    if tag == INT:
        return reader.unpack(_I64, what)[0]
    if tag == FLOAT:
        return reader.unpack(_F64, what)[0]
    if tag == STR:
        return reader.text(reader.unpack(_U32, what)[0], what)
    if tag == ARRAY:
        return _decode_array(reader, what)
    cls, kinds = RECORDS[tag]
    names = [field.name for field in fields(cls)]
    values = [_decode_value(reader, k, f"{cls.__name__}.{n}") for n, k in zip(names, kinds, strict=True)]
    return cls(*values)


def _decode_array(reader: _Reader, what: str) -> np.ndarray:
    at = reader.at
    code, ndim = reader.byte(what), reader.byte(what)
    if not 1 <= code <= len(DTYPES):
        raise WireError(f"{what}: unknown dtype code {code} at byte {at}")
    if ndim > MAX_DIMS:
        raise WireError(f"{what}: {ndim} dimensions at byte {at}, at most {MAX_DIMS}")
    shape = struct.unpack(f"<{ndim}I", reader.take(4 * ndim, f"{what}'s shape"))
    dtype = DTYPES[code - 1]
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > reader.left:
        raise WireError(f"{what}: shape {shape} of {dtype} needs {nbytes} bytes, {reader.left} left")
    flat = np.frombuffer(reader.take(nbytes, what), dtype=dtype)
    return flat.astype(dtype.newbyteorder("=")).reshape(shape)
