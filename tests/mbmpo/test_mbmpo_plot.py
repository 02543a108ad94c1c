"""The PNG writer and the line chart, read back by a few lines of PNG decoding."""

import struct
import zlib

import numpy as np

from mbmpo.plot import line_chart, write_png


def read_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = {}, 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color) == (8, 2) and b"IEND" in chunks
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert np.all(rows[:, 0] == 0)
    return rows[:, 1:].reshape(height, width, 3)


def test_png_round_trip(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    write_png(tmp_path / "x.png", image)
    np.testing.assert_array_equal(read_png((tmp_path / "x.png").read_bytes()), image)


def test_line_chart_draws_each_series_in_its_colour():
    x = np.array([0.0, 1000.0, 2000.0, 3000.0])
    image = line_chart(
        [(x, np.array([-1200.0, -600.0, -300.0, -150.0]), (255, 0, 0)), (x, -x / 10, (0, 0, 255))]
    )
    assert image.shape == (400, 640, 3) and image.dtype == np.uint8
    for colour in ((255, 0, 0), (0, 0, 255), (0, 0, 0)):
        assert np.all(image == colour, axis=-1).sum() > 100


def test_line_chart_skips_missing_values_and_flat_series():
    image = line_chart([(np.array([0.0, 1.0, 2.0]), np.array([np.nan, 5.0, 5.0]), (0, 255, 0))], 100, 80)
    assert np.all(image == (0, 255, 0), axis=-1).any()
