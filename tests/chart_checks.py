"""Reading a chart back: is it a PNG of the expected size, with something drawn on it?"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.image import imread
from numpy.typing import NDArray

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pixels(png: bytes) -> NDArray[np.uint8]:
    """Height × width × RGB, 0-255."""
    assert png.startswith(PNG_SIGNATURE), "not a PNG"
    image = imread(io.BytesIO(png), format="png")
    return np.asarray(np.round(image[:, :, :3] * 255), dtype=np.uint8)


def distinct_colours(image: NDArray[np.uint8]) -> int:
    packed = image.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    return len(np.unique(packed))


def assert_chart(png: bytes, width: int, height: int) -> NDArray[np.uint8]:
    """A PNG of `width`×`height` pixels that is not blank: text, axes and lines in many colours
    (anti-aliasing alone gives hundreds), and pixels far from the background."""
    image = pixels(png)
    assert image.shape == (height, width, 3)
    assert distinct_colours(image) > 100
    assert float(image.std()) > 10
    dark = np.count_nonzero(image.max(axis=2) < 100)  # text, ticks and spines are near black
    assert dark > 0.005 * width * height
    return image


def colour_pixels(image: NDArray[np.uint8], hex_colour: str, alpha: float = 1.0) -> int:
    """How many pixels show `hex_colour` (drawn at `alpha` over white), within rounding."""
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    expected = rgb * alpha + 255 * (1 - alpha)
    distance = np.abs(image.astype(float) - expected).max(axis=2)
    return int(np.count_nonzero(distance <= 2))
