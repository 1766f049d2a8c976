"""The one preprocessing contract shared by the pad and by training.

ink --render_ink--> grayscale image like an HWDB scan (white paper, dark ink, the glyph's own aspect ratio)
image --prepare_image--> find_ink (paper colour from the border, crop to the ink, specks ignored; a tight HWDB
      crop is unchanged) -> shrink huge images -> to_square (aspect kept, so 一 stays flat) -> resize -> threshold
uint8 batch --normalize--> float32 (N, 1, size, size) for the network; a "line" layout (PP-OCR's recognizers, read
      at ``size`` high) places the square glyph at the left of a ``width``-wide row filled with zeros after
      normalization, the padding those models were trained with
a written line --prepare_line--> frame_line (paper level from the image itself, the line's ink found, LINE_MARGIN of
      the writer's own paper kept around it, never white borders on a grey scan) -> size high, its aspect kept;
      normalize then gives it at least one height of the network's padding past its end

Every image the model sees, in training or in the pad, goes through these functions and nothing else.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, UnidentifiedImageError

from .ink import Ink

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp"})  # what load_image is meant to read
# the only decoders PIL may use: a file is opened as what it is, not as what it is named, and PIL's EPS plugin runs
# Ghostscript on whatever it is given
IMAGE_FORMATS = ("PNG", "JPEG", "BMP")
MAX_IMAGE_PIXELS = 50_000_000  # load_image refuses more: a photo of a page is not one character
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
    square: str = "pad"  # "pad": keep the aspect (一 stays flat); "stretch": fill the square (some seeds did)
    layout: str = "square"  # "square": the network sees size x size; "line": size high, width wide (a text line's)
    width: int = 0  # line layout: a lone character's input width (its square at the left, zeros after it)

    # a spec comes from model bundles and recipes, which are data: absurd values are refused, not obeyed
    _RANGES = {"size": (8, 512), "threshold": (1, 255), "mean": (0.0, 1.0), "std": (1e-3, 10.0), "margin": (0.0, 1.0),
               "width": (0, 4096)}

    def __post_init__(self) -> None:
        for name, (low, high) in self._RANGES.items():
            value = getattr(self, name)
            integral = name in ("size", "threshold")
            kind_ok = isinstance(value, int) if integral else isinstance(value, (int, float))
            if isinstance(value, bool) or not kind_ok or not (low <= value <= high):
                kind = "an integer" if integral else "a number"
                raise RasterError(f"raster {name} must be {kind} from {low} to {high}, got {value!r}")
        if self.square not in ("pad", "stretch"):
            raise RasterError(f"raster square must be \"pad\" or \"stretch\", got {self.square!r}")
        if self.layout not in ("square", "line"):
            raise RasterError(f"raster layout must be \"square\" or \"line\", got {self.layout!r}")
        if self.layout == "line" and self.width and self.width < self.size:
            raise RasterError(f"raster width must be 0 or at least size ({self.size}), got {self.width}")

    @property
    def input_width(self) -> int:
        """The width of a lone character's network input: ``width`` for a line layout that sets one, else ``size``."""
        return self.width if self.layout == "line" and self.width else self.size

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RasterSpec":
        if not isinstance(d, dict):
            raise RasterError(f"a raster spec must be a table of {', '.join(f.name for f in fields(cls))}, got {type(d).__name__}")
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
    scale, ox, oy, width_px, height_px = _render_geometry(ink, box, max(stroke_widths) if stroke_widths else pen_width)
    image = Image.new("L", (width_px, height_px), 255)
    draw = ImageDraw.Draw(image)
    # every point placed at once (the same arithmetic per point as stroke by stroke), then drawn stroke by stroke
    points = np.concatenate(ink.strokes)
    xs = ((points[:, 0] - x0) * scale + ox).tolist()
    ys = ((points[:, 1] - y0) * scale + oy).tolist()
    ends = np.cumsum([len(stroke) for stroke in ink.strokes])
    lacking = np.concatenate([[0], np.cumsum(np.isnan(points[:, 3]))])  # points without pressure, up to each
    pressed = (lacking[ends] == lacking[np.concatenate([[0], ends[:-1]])]).tolist()  # a stroke none of them lacks
    ends = ends.tolist()
    start = 0
    for i, (end, stroke) in enumerate(zip(ends, ink.strokes)):
        w = (stroke_widths[i] if stroke_widths else pen_width) * box
        pts = list(zip(xs[start:end], ys[start:end]))
        if pressed[i]:
            _line(draw, pts, (w * (0.5 + np.clip(stroke[:, 3], 0, 1))).tolist(), ink_value)
        elif pts:  # one width: one run
            _run(draw, pts, max(1, round(w)), ink_value)
        start = end
    return np.asarray(image)


def _render_geometry(ink: Ink, box: int, widest: float) -> tuple[float, float, float, int, int]:
    """How render_ink places ink: (scale, x offset, y offset, canvas width, canvas height) in pixels."""
    x0, y0, x1, y1 = ink.bbox()
    extent = max(x1 - x0, y1 - y0)
    pad = widest * box / 2 + 2
    scale = (box - 2 * pad) / extent if extent > 0 else 0.0
    width_px = int(round((x1 - x0) * scale + 2 * pad))
    height_px = int(round((y1 - y0) * scale + 2 * pad))
    # centre the glyph in the canvas even when rounding made the canvas one pixel larger
    return scale, (width_px - (x1 - x0) * scale) / 2, (height_px - (y1 - y0) * scale) / 2, width_px, height_px


def _line(draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]], widths: list[float], value: int) -> None:
    """A polyline whose width may change along it: drawn as runs of equal whole-pixel width, round-capped."""
    px = [max(1, round(w)) for w in widths]
    start = 0
    for i in range(1, len(pts) + 1):
        if i < len(pts) and px[i] == px[start]:
            continue
        _run(draw, pts[start : i + 1] if i < len(pts) else pts[start:i], px[start], value)
        start = i


def _run(draw: ImageDraw.ImageDraw, run: list[tuple[float, float]], px: int, value: int) -> None:
    """A polyline of one whole-pixel width with round joints, round-capped."""
    if len(run) > 1:
        draw.line(run, fill=value, width=px, joint="curve")
    r = max(0.5, px / 2)
    for x, y in (run[0], run[-1]):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=value)


def find_ink(image: np.ndarray, level: int = 200, speck: float = 0.01) -> np.ndarray:
    """Dark ink on white paper, cropped to the ink: the glyph as people's photos and crops hold it.

    The paper colour is read from the border (white-on-black images are inverted); the crop keeps every
    cluster of ink holding at least ``speck`` of the ink, so dust and JPEG specks do not widen it.
    An image without ink comes back unchanged.
    """
    image = _dark_on_light(image)
    box = ink_box(image, level, speck)
    if box is None:
        return image
    top, bottom, left, right = box
    return image[top:bottom, left:right]


def _dark_on_light(image: np.ndarray) -> np.ndarray:
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    if min(image.shape) >= 8 and np.median(border) < 128:  # a thin strip is all border: take it as written
        return 255 - image
    return image


def ink_box(image: np.ndarray, level: int, speck: float = 0.01) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the pixels darker than ``level`` that belong to clusters holding at least
    ``speck`` of them (dust and JPEG specks left out); None when nothing is that dark."""
    ink = image < level
    total = int(ink.sum())
    if total == 0:
        return None
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    keep = _main_clusters(ink[top:bottom, left:right], total * speck)
    if keep is not None:
        t, b, l, r = keep
        top, bottom, left, right = top + t, top + b, left + l, left + r
    return int(top), int(bottom), int(left), int(right)


def _main_clusters(ink: np.ndarray, min_mass: float) -> tuple[int, int, int, int] | None:
    """Bounding box (top, bottom, left, right) of the ink clusters heavier than min_mass on a coarse grid;
    None when no cluster is light enough to drop."""
    h, w = ink.shape
    cell = max(1, max(h, w) // 24)
    cy, cx = min(cell, h), min(cell, w)  # a thin strip gets flat cells, not a huge padded grid
    gh, gw = -(-h // cy), -(-w // cx)
    padded = np.zeros((gh * cy, gw * cx), np.int32)
    padded[:h, :w] = ink
    mass = padded.reshape(gh, cy, gw, cx).sum(axis=(1, 3))
    occupied = mass > 0
    # connected clusters of occupied cells (8-neighbourhood) by propagating the smallest cell number: a few
    # vectorized passes on a grid of at most 24 x 24 cells, instead of a flood fill in Python
    big = gh * gw
    label = np.where(occupied, np.arange(big).reshape(gh, gw), big)
    while True:
        padded_label = np.pad(label, 1, constant_values=big)
        neighbours = np.min([padded_label[1 + dy : 1 + dy + gh, 1 + dx : 1 + dx + gw]
                             for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
        updated = np.where(occupied, neighbours, big)
        if np.array_equal(updated, label):
            break
        label = updated
    ids = np.unique(label[occupied])
    clusters = []  # (mass, cells)
    for i in ids:
        member = label == i
        clusters.append((int(mass[member].sum()), list(zip(*np.nonzero(member)))))
    kept = [cells for weight, cells in clusters if weight >= min_mass]
    if len(kept) == len(clusters) or not kept:
        return None
    ys = [y for cells in kept for y, _ in cells]
    xs = [x for cells in kept for _, x in cells]
    top, bottom, left, right = min(ys) * cy, min(h, (max(ys) + 1) * cy), min(xs) * cx, min(w, (max(xs) + 1) * cx)
    sub = ink[top:bottom, left:right]
    rows, cols = np.flatnonzero(sub.any(axis=1)), np.flatnonzero(sub.any(axis=0))
    return top + rows[0], top + rows[-1] + 1, left + cols[0], left + cols[-1] + 1


def shrink(image: np.ndarray, longest: int) -> np.ndarray:
    """Scale down (aspect kept) so the longer side is at most ``longest``; smaller images are unchanged."""
    h, w = image.shape
    if max(h, w) <= longest:
        return image
    f = longest / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX))


def has_ink(prepared: np.ndarray) -> bool:
    """Whether an image from prepare_image holds any ink (a blank page has none)."""
    return bool((prepared < 255).any())


def to_square(image: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Pad with paper to a centred square; the longer side plus ``margin`` of it on each side."""
    h, w = image.shape
    side = int(round(max(h, w) * (1 + 2 * margin)))
    out = np.full((side, side), 255, dtype=np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    out[top : top + h, left : left + w] = image
    return out


def pad_margin(image: np.ndarray, margin: float) -> np.ndarray:
    """Paper around the image, ``margin`` of each side's own length, for a stretch to the square."""
    h, w = image.shape
    dy, dx = int(round(h * margin)), int(round(w * margin))
    return np.pad(image, ((dy, dy), (dx, dx)), constant_values=255)


def resize(image: np.ndarray, size: int) -> np.ndarray:
    # bilinear (PIL's, antialiased when it shrinks) as lines are resized, not a box filter: measured 2026-12-04 with
    # the v4 bundle, top-1 / top-10 casia-hwdb-dev 83.5/98.2 -> 84.0/97.9%, tegaki-online 96.3/99.6 -> 96.5/99.6%,
    # chinese-mnist-dev 97.1/99.8 -> 97.6/99.8%; lines-dev casia rows (cut, each read as the box reads it) 17.62 ->
    # 16.44% CER, names 10.41 -> 10.38%
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def threshold(image, level: int):
    """Paper-white everything at or above ``level``; numpy arrays, or torch tensors in the 0..255 range."""
    if level >= 255:  # only paper is at 255 already (the bundled model's level): nothing to do
        return image
    if isinstance(image, np.ndarray):
        return np.where(image >= level, np.uint8(255), image)
    return image.masked_fill(image >= level, 255)


def gray_image(image: object) -> np.ndarray:
    """What the recognizer accepts as an image: a 2-D numpy uint8 array, 255 = paper (other integer arrays within
    0..255 are converted). Anything else is a RasterError saying what is expected: a bool or float array is
    ambiguous (is 1 ink or paper, is the scale 0..1 or 0..255?), so it is refused rather than read wrongly."""
    expected = "a grayscale image: a 2-D numpy uint8 array, 255 = paper"
    if not isinstance(image, np.ndarray):
        raise RasterError(f"expected {expected}, got {type(image).__name__}")
    if image.ndim != 2 or image.size == 0:
        raise RasterError(f"expected {expected}, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind in "iu" and image.min() >= 0 and image.max() <= 255:
        return image.astype(np.uint8)
    if image.dtype.kind in "iu":
        raise RasterError(f"expected {expected}; this {image.dtype} array holds values outside 0..255")
    raise RasterError(f"expected {expected}, got a {image.dtype} array (convert it to uint8 0..255 first)")


def prepare_image(image: np.ndarray, spec: RasterSpec, *, crop: bool = True) -> np.ndarray:
    """Any grayscale glyph image (uint8, 255 = paper) -> uint8 (size, size) the network's way.

    ``crop=False`` skips find_ink for images that are tight dark-on-white crops by construction (render_ink's).
    """
    if image.ndim != 2 or image.size == 0:
        raise RasterError(f"expected a non-empty 2-D grayscale image, got shape {image.shape}")
    if crop:  # find the ink at up to 1024 px, then keep no more than the network can use
        image = find_ink(shrink(image, 1024), spec.threshold)
    glyph = shrink(image, 4 * spec.size)  # squaring a 1 x 60000 strip would take 3.6 GB
    framed = to_square(glyph, spec.margin) if spec.square == "pad" else pad_margin(glyph, spec.margin)
    return threshold(resize(framed, spec.size), spec.threshold)


def ink_to_image(ink: Ink, spec: RasterSpec, **render_options) -> np.ndarray:
    return prepare_image(render_ink(ink, **render_options), spec, crop=False)


MAX_LINE_CHARS = 40  # a line wider than this many heights is shrunk to fit (the pad's line takes 12)
LINE_RENDER_HEIGHT = 96  # ink lines are drawn this high (twice the line networks' 48), then prepare_line scales down


def _line_render_box(ink: Ink, height: int) -> tuple[int, float]:
    """(render_ink's box, pen width) that draw a line ``height`` pixels high with one character's pen."""
    x0, y0, x1, y1 = ink.bbox()
    w = x1 - x0
    h = max(y1 - y0, w / MAX_LINE_CHARS, 1e-6)  # 一二 is a flat line: its height is at least a character's share
    aspect = min(max(1.0, w / h), MAX_LINE_CHARS)
    return int(round(height * aspect)), PEN_WIDTH / aspect


def render_line_ink(ink: Ink, height: int = LINE_RENDER_HEIGHT) -> np.ndarray:
    """A written line drawn ``height`` pixels high (its width to scale) with the pen the single box uses, relative to
    one character: a line's longer side is its width, so render_ink's pen is scaled down by the aspect."""
    if ink.is_empty:
        return np.full((height, height), 255, dtype=np.uint8)
    box, pen = _line_render_box(ink, height)
    return render_ink(ink, box=box, pen_width=pen)


# A line keeps the writer's own paper around its ink, at least LINE_MARGIN[0] and at most LINE_MARGIN[1] of the ink's
# height on each side, in the paper's own colour; the network then sees one height of its padding value (grey) past
# the line's end, as PP-OCRv6 was trained. White borders added to grey scans and the end of the line falling on the
# input's edge cost it most (lines-dev greedy CER; names, casia, online): the old 15% white margin and no end pad
# 16.0%, 21.1%, 2.5%; the network's own preparation (no crop, no margin, padded to 320 columns) 11.5%, 20.7%, 2.0%;
# this framing 11.6%, 20.5%, 1.4%.
LINE_MARGIN = (0.05, 0.15)


def line_column_to_ink_x(ink: Ink, spec: RasterSpec, columns: np.ndarray) -> np.ndarray:
    """Columns of the network's input for this ink's line (render_line_ink, then prepare_line) -> the ink's x there:
    how a character's CTC frames find its strokes."""
    box, pen = _line_render_box(ink, LINE_RENDER_HEIGHT)
    scale, ox, _, drawn_w, drawn_h = _render_geometry(ink, box, pen)
    margin = int(round(drawn_h * LINE_MARGIN[0]))
    framed_w = drawn_w + 2 * margin
    framed_x = np.asarray(columns, dtype=np.float64) * framed_w / _line_width(framed_w, drawn_h + 2 * margin, spec)
    return ink.bbox()[0] + (framed_x - margin - ox) / (scale or 1.0)


def _line_width(w: int, h: int, spec: RasterSpec) -> int:
    """prepare_line's width for a framed line of w x h pixels: its aspect at ``spec.size`` high, at most
    MAX_LINE_CHARS heights, rounded up to whole 8-column frames."""
    width = min(max(8, int(round(w * spec.size / h))), spec.size * MAX_LINE_CHARS)
    return -(-width // 8) * 8


def ink_level(image: np.ndarray) -> int | None:
    """The grey level between this image's paper and its ink (dark on light), for grey scans and photos whose paper
    is not white; None for an image with no contrast (a blank page)."""
    paper, dark = np.percentile(image, 90), np.percentile(image, 1)
    if paper - dark < 16:
        return None
    return int(paper - (paper - dark) / 2)


def frame_line(image: np.ndarray) -> np.ndarray:
    """A line's photo or scan (dark on light or light on dark, any size) -> the line with LINE_MARGIN of paper (its
    own, where the writer left it; its colour, where not) around its ink; a blank image comes back as it is."""
    image = _dark_on_light(shrink(image, 4096))
    level = ink_level(image)
    box = ink_box(image, level) if level is not None else None
    if box is None:
        return image
    top, bottom, left, right = box
    h, w = image.shape
    least, most = (int(round(m * (bottom - top))) for m in LINE_MARGIN)
    t, b, l, r = max(0, top - most), min(h, bottom + most), max(0, left - most), min(w, right + most)
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return np.pad(image[t:b, l:r], ((max(0, least - (top - t)), max(0, least - (b - bottom))),
                                    (max(0, least - (left - l)), max(0, least - (r - right)))),
                  constant_values=int(np.median(border)))


def prepare_line(image: np.ndarray, spec: RasterSpec, *, crop: bool = True) -> np.ndarray:
    """A written line or a photo of one (uint8, 255 = paper, any size) -> uint8 (size, width): framed by frame_line
    (``crop=False``: a tight render on white, given LINE_MARGIN[0] of white), scaled to ``size`` high with its
    aspect (at most MAX_LINE_CHARS heights wide), the width a whole number of the network's 8-column frames."""
    if image.ndim != 2 or image.size == 0:
        raise RasterError(f"expected a non-empty 2-D grayscale image, got shape {image.shape}")
    if crop:
        framed = frame_line(image)
    else:
        pad = int(round(image.shape[0] * LINE_MARGIN[0]))
        framed = np.pad(image, ((pad, pad), (pad, pad)), constant_values=255)
    h, w = framed.shape
    width = _line_width(w, h, spec)
    # bilinear (PIL's, antialiased when it shrinks) both ways: lines-dev greedy CER casia 21.7% -> 20.6%, names
    # 11.3% -> 11.2% against a box filter for shrinking; OpenCV's unfiltered INTER_LINEAR (PaddleOCR's) 21.6%, 11.2%
    resized = Image.fromarray(framed).resize((width, spec.size), Image.Resampling.BILINEAR)
    return threshold(np.asarray(resized), spec.threshold)


def prepare_written_line(sample: Ink | np.ndarray, spec: RasterSpec) -> np.ndarray:
    """A written line (ink, drawn by render_line_ink) or a photo/scan of one -> prepare_line's uint8 (size, width):
    one way for the recognizer and for line training."""
    if isinstance(sample, Ink):
        return prepare_line(render_line_ink(sample), spec, crop=False)
    return prepare_line(sample, spec)


def _line_cuts(image: np.ndarray, spec: RasterSpec, cuts: Sequence[float]) -> tuple[np.ndarray, list[int], np.ndarray]:
    """(the framed line, the columns where its characters part, each column's darkness); see line_image_pieces."""
    line = frame_line(image)
    h, w = line.shape
    to_line = w / _line_width(w, h, spec)
    darkness = (255 - line.astype(np.int64)).sum(axis=0)
    bounds = [0]
    for column in cuts:
        middle = column * to_line
        lo = int(np.clip(middle - h / 3, bounds[-1] + 1, w - 1))
        hi = int(np.clip(middle + h / 3, lo + 1, w))
        window = darkness[lo:hi]
        palest = np.flatnonzero(window == window.min()) + lo
        cut = int(palest[np.argmin(np.abs(palest - middle))])
        bounds.append(min(max(cut, bounds[-1] + 1), w - 1))
    bounds.append(w)
    return line, bounds, darkness


def line_image_pieces(image: np.ndarray, spec: RasterSpec, cuts: Sequence[float]) -> list[np.ndarray]:
    """A line image (as given to prepare_line) and where its characters part, as columns of prepare_line's output
    (hwime.decode.cut_columns) -> each character's own image. Each cut moves to the palest column within a third of
    the line's height (separately written characters have paper between them), the one nearest on a tie."""
    line, bounds, _ = _line_cuts(image, spec, cuts)
    return [line[:, a:max(b, a + 1)] for a, b in zip(bounds, bounds[1:])]


def line_pieces_on_paper(image: np.ndarray, spec: RasterSpec, cuts: Sequence[float]) -> list[np.ndarray] | None:
    """line_image_pieces when every cut passes through paper (a column with no ink at all once the line's ink is
    found), else None: characters written apart are cut, characters that touch or overlap (real names on forms)
    are not, since cutting breaks them. Measured on lines-dev (200 lines each, re-read CER): casia 17.48% whatever
    the rule; names 30.9% re-read everywhere, 18.4% with 2% of a column's ink allowed, 16.6% (= frames alone) with
    none."""
    line, bounds, darkness = _line_cuts(image, spec, cuts)
    if any(darkness[b] != 0 for b in bounds[1:-1]):
        return None
    return [line[:, a:max(b, a + 1)] for a, b in zip(bounds, bounds[1:])]


def cuts_fall_on_paper(image: np.ndarray, spec: RasterSpec, cuts: Sequence[float]) -> bool:
    """Whether line_pieces_on_paper would cut this line."""
    return line_pieces_on_paper(image, spec, cuts) is not None


def normalize(batch, spec: RasterSpec):
    """(N, S, S) in 0..255 -> float32 (N, 1, S, S), the network's input; numpy arrays or torch tensors.
    A line layout pads with zeros (after normalization) to ``spec.width`` and at least one height past the image's
    end: PP-OCRv6 learned lines that end in its padding, and reads a line's last character worse without it."""
    extra = max(spec.width, batch.shape[-1] + spec.size) - batch.shape[-1] if spec.layout == "line" else 0
    if isinstance(batch, np.ndarray) and batch.dtype == np.uint8:  # the pad's path: a table look-up, padded in place
        x = np.zeros((*batch.shape[:1], 1, *batch.shape[1:-1], batch.shape[-1] + max(extra, 0)), np.float32)
        x[:, 0, ..., : batch.shape[-1]] = _normalized_levels(spec.mean, spec.std)[batch]
        return x
    x = batch.astype(np.float32) if isinstance(batch, np.ndarray) else batch.float()
    x = (x[:, None] * (1 / 255.0) - spec.mean) / spec.std
    if extra > 0:
        if isinstance(x, np.ndarray):
            x = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, extra)))
        else:
            import torch.nn.functional as F  # torch only when torch tensors come in

            x = F.pad(x, (0, extra))
    return x


@functools.lru_cache(maxsize=8)
def _normalized_levels(mean: float, std: float) -> np.ndarray:
    """What normalize makes of each of the 256 gray levels, computed as it computes them (the same float32 values)."""
    return (np.arange(256, dtype=np.float32) * (1 / 255.0) - mean) / std


def _scaled_to_8_bits(values: np.ndarray) -> np.ndarray:
    """A 16-bit grayscale image (0..65535, PNG's range) as uint8 0..255: PIL's convert("L") clips it instead, so
    anything above 255 (all the paper, most of the ink) read as white and the image as (empty)."""
    wide = values.astype(np.float64)
    return np.clip(np.round(wide / 257.0), 0, 255).astype(np.uint8)


def load_image(path, formats: tuple[str, ...] = IMAGE_FORMATS) -> np.ndarray:
    """Read a PNG, JPEG or BMP (a path or a binary file object) as uint8 grayscale with 255 = paper; transparency
    is composed onto white. Any other format is refused before anything decodes it, whatever its name."""
    try:
        with Image.open(path, formats=formats) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise RasterError(f"{path}: image too large ({im.width}x{im.height} pixels; at most "
                                  f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels)")
            im.load()
            if im.mode.startswith("I"):  # 16-bit grayscale (I;16, or I as PIL reads some): scaled, not clipped
                gray = _scaled_to_8_bits(np.asarray(im))
                if gray.size == 0:
                    raise RasterError(f"{path}: empty image")
                return gray
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                paper = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(paper, im)
            gray = np.asarray(im.convert("L"))
    except RasterError:
        raise
    except Image.DecompressionBombError:
        raise RasterError(f"{path}: image too large (a decompression bomb)") from None
    except UnidentifiedImageError:
        raise RasterError(f"{path}: not a {', '.join(formats[:-1])} or {formats[-1]} image" if len(formats) > 1 else
                          f"{path}: not a {formats[0]} image") from None
    except (OSError, ValueError, MemoryError, SyntaxError) as exc:
        raise RasterError(f"{path}: cannot read image ({type(exc).__name__}: {str(exc)[:200]})") from None
    if gray.size == 0:
        raise RasterError(f"{path}: empty image")
    return gray
