"""A line chart rasterised with numpy and written as PNG with zlib and struct: no plotting library."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

Color = tuple[int, int, int]

GLYPHS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    "-": ("000", "000", "111", "000", "000"),
    ".": ("000", "000", "000", "000", "010"),
}
"""A 3x5 pixel font for the axis labels (digits, minus sign, decimal point)."""

SCALE = 2
"""Screen pixels per font pixel."""

MARGIN = 40
"""Pixels between the image border and the plot area, below it (more on the left: the y labels)."""


def line_chart(
    series: list[tuple[np.ndarray, np.ndarray, Color]], width: int = 640, height: int = 400
) -> np.ndarray:
    """An RGB image (height, width, 3) of lines through (x, y) points on shared axes, white background,
    the axis ranges written at the corners of the plot area."""
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    xs = np.concatenate([x for x, _, _ in series])
    ys = np.concatenate([y for _, y, _ in series])
    x_low, x_high = _range(xs)
    y_low, y_high = _range(ys)
    y_labels = f"{y_high:.1f}", f"{y_low:.1f}"
    left = 4 * SCALE * max(len(label) for label in y_labels) + 8
    right, top, bottom = width - MARGIN // 2, MARGIN // 2, height - MARGIN

    def to_pixels(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        col = left + (x - x_low) / (x_high - x_low) * (right - left)
        row = bottom - (y - y_low) / (y_high - y_low) * (bottom - top)
        return col, row

    image[top : bottom + 1, left] = image[bottom, left : right + 1] = (0, 0, 0)
    for x, y, color in series:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        finite = np.isfinite(x) & np.isfinite(y)
        col, row = to_pixels(x[finite], y[finite])
        for c0, r0, c1, r1 in zip(col[:-1], row[:-1], col[1:], row[1:], strict=True):
            steps = int(max(abs(c1 - c0), abs(r1 - r0))) + 1
            cs = np.rint(np.linspace(c0, c1, steps + 1)).astype(int)
            rs = np.rint(np.linspace(r0, r1, steps + 1)).astype(int)
            for dr in (0, 1):
                image[np.clip(rs + dr, 0, height - 1), cs] = color
        image[np.rint(row).astype(int), np.rint(col).astype(int)] = color
    _text(image, y_labels[0], top, 2)
    _text(image, y_labels[1], bottom - 5 * SCALE, 2)
    _text(image, f"{x_low:.0f}", bottom + 6, left)
    x_label = f"{x_high:.0f}"
    _text(image, x_label, bottom + 6, right - 4 * SCALE * len(x_label))
    return image


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Write an RGB uint8 image (height, width, 3) as an 8-bit PNG."""
    height, width, _ = image.shape
    rows = b"".join(b"\x00" + image[row].tobytes() for row in range(height))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    Path(path).write_bytes(png)


def _range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return (low - 0.5, high + 0.5) if high - low < 1e-9 else (low, high)


def _text(image: np.ndarray, text: str, row: int, col: int) -> None:
    for i, char in enumerate(text):
        for r, line in enumerate(GLYPHS.get(char, ("000",) * 5)):
            for c, bit in enumerate(line):
                if bit == "1":
                    r0, c0 = row + r * SCALE, col + (4 * i + c) * SCALE
                    image[r0 : r0 + SCALE, c0 : c0 + SCALE] = (0, 0, 0)
