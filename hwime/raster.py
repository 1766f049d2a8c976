"""The one preprocessing contract shared by the pad and by training.

ink --render_ink--> grayscale image like an HWDB scan (white paper, dark ink, the glyph's own aspect ratio)
image --prepare_image--> to_square (aspect kept, so 一 stays flat) -> resize -> threshold, uint8 size x size
uint8 batch --normalize--> float32 (N, 1, size, size) for the network

Every image the model sees, in training or in the pad, goes through these functions and nothing else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, UnidentifiedImageError

from .ink import Ink

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp"})  # what load_image is meant to read
RENDER_BOX = 128  # ink is drawn at 2x the network size; the downsample in resize() antialiases it
PEN_WIDTH = 0.045  # pen width as a fraction of the glyph's longer side, what a scanned HWDB stroke measures


class RasterError(ValueError):
    """An image that cannot be read or used."""


@dataclass(frozen=True)
class RasterSpec:
    size: int = 64
    threshold: int = 200  # pixels at or above this become paper white, as scans are cleaned
    mean: float = 0.95
    std: float = 0.2
    margin: float = 0.06  # white border added on each side by to_square, as a fraction of the longer side

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RasterSpec":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def render_ink(
    ink: Ink,
    *,
    box: int = RENDER_BOX,
    pen_width: float = PEN_WIDTH,
    stroke_widths: Sequence[float] | None = None,
    ink_value: int = 0,
) -> np.ndarray:
    """Draw ink scaled so its longer side spans ``box`` pixels; returns uint8 (h, w), 255 = paper.

    ``pen_width`` is relative to the longer side; ``stroke_widths`` (same unit) overrides it per stroke.
    A point's pressure p (0..1, when present) scales its width by 0.5 + p, so p = 0.5 is the nominal pen.
    """
    if ink.is_empty:
        return np.full((box, box), 255, dtype=np.uint8)
    x0, y0, x1, y1 = ink.bbox()
    extent = max(x1 - x0, y1 - y0)
    widest = max(stroke_widths) if stroke_widths else pen_width
    pad = widest * box / 2 + 2
    scale = (box - 2 * pad) / extent if extent > 0 else 0.0
    width_px = int(round((x1 - x0) * scale + 2 * pad))
    height_px = int(round((y1 - y0) * scale + 2 * pad))
    # centre the glyph in the canvas even when rounding made the canvas one pixel larger
    ox = (width_px - (x1 - x0) * scale) / 2
    oy = (height_px - (y1 - y0) * scale) / 2
    image = Image.new("L", (width_px, height_px), 255)
    draw = ImageDraw.Draw(image)
    for i, stroke in enumerate(ink.strokes):
        w = (stroke_widths[i] if stroke_widths else pen_width) * box
        xs = (stroke[:, 0] - x0) * scale + ox
        ys = (stroke[:, 1] - y0) * scale + oy
        pts = list(zip(xs.tolist(), ys.tolist()))
        pressure = stroke[:, 3]
        if np.isnan(pressure).any():
            _line(draw, pts, [w] * len(pts), ink_value)
        else:
            _line(draw, pts, (w * (0.5 + np.clip(pressure, 0, 1))).tolist(), ink_value)
    return np.asarray(image)


def _line(draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]], widths: list[float], value: int) -> None:
    """A polyline whose width may change along it: drawn as runs of equal whole-pixel width, round-capped."""
    px = [max(1, round(w)) for w in widths]
    start = 0
    for i in range(1, len(pts) + 1):
        if i < len(pts) and px[i] == px[start]:
            continue
        run = pts[start : i + 1] if i < len(pts) else pts[start:i]
        if len(run) > 1:
            draw.line(run, fill=value, width=px[start], joint="curve")
        for x, y in (run[0], run[-1]):
            r = max(0.5, px[start] / 2)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=value)
        start = i


def to_square(image: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Pad with paper to a centred square; the longer side plus ``margin`` of it on each side."""
    h, w = image.shape
    side = int(round(max(h, w) * (1 + 2 * margin)))
    out = np.full((side, side), 255, dtype=np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    out[top : top + h, left : left + w] = image
    return out


def resize(image: np.ndarray, size: int) -> np.ndarray:
    pil = Image.fromarray(image)
    method = Image.Resampling.BOX if pil.width >= size else Image.Resampling.BILINEAR
    return np.asarray(pil.resize((size, size), method))


def threshold(image, level: int):
    """Paper-white everything at or above ``level``; numpy arrays, or torch tensors in the 0..255 range."""
    if isinstance(image, np.ndarray):
        return np.where(image >= level, np.uint8(255), image)
    return image.masked_fill(image >= level, 255)


def prepare_image(image: np.ndarray, spec: RasterSpec) -> np.ndarray:
    """Any grayscale glyph image (uint8, 255 = paper) -> uint8 (size, size) the network's way."""
    if image.ndim != 2 or image.size == 0:
        raise RasterError(f"expected a non-empty 2-D grayscale image, got shape {image.shape}")
    return threshold(resize(to_square(image, spec.margin), spec.size), spec.threshold)


def ink_to_image(ink: Ink, spec: RasterSpec, **render_options) -> np.ndarray:
    return prepare_image(render_ink(ink, **render_options), spec)


def normalize(batch, spec: RasterSpec):
    """(N, S, S) in 0..255 -> float32 (N, 1, S, S), the network's input; numpy arrays or torch tensors."""
    x = batch.astype(np.float32) if isinstance(batch, np.ndarray) else batch.float()
    return (x[:, None] * (1 / 255.0) - spec.mean) / spec.std


def load_image(path: str | Path) -> np.ndarray:
    """Read a png/jpg/bmp as uint8 grayscale with 255 = paper; transparency is composed onto white."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                paper = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(paper, im)
            gray = np.asarray(im.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise RasterError(f"{path}: cannot read image ({exc})") from None
    if gray.size == 0:
        raise RasterError(f"{path}: empty image")
    return gray
