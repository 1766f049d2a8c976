"""Synthetic handwriting: Make Me a Hanzi medians written like a hurried hand, and Kai-style font renders.

Every sample is a pure function of (seed, class index, sample index), so a data set is reproducible
whatever the number of worker processes. Strokes become an Ink and go through hwime.raster like the pad's ink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ..ink import Ink
from ..raster import RasterSpec, prepare_image, render_ink
from .strokedata import CURSIVE_JOINS, StrokeTable



@dataclass(frozen=True)
class StrokeStyle:
    """How far a synthetic writer strays from the reference medians (box = 1024 units)."""

    rotate_deg: float = 7.0  # whole character
    shear: float = 0.22  # slant
    aspect: float = 0.18  # log-uniform x/y scale spread
    stroke_shift: float = 0.045  # per-stroke translation, fraction of box
    stroke_rotate_deg: float = 7.0
    stroke_scale: float = 0.15
    trim: float = 0.12  # shortened strokes: fraction cut from either end
    elastic: float = 0.05  # smooth warp amplitude, fraction of box
    noise: float = 0.006  # point jitter, fraction of box
    link_max: float = 0.75  # cursive writers join up to this share of consecutive strokes
    round_max: int = 2  # Chaikin passes: corners of 折 become curves in a fast hand
    width_min: float = 0.022
    width_max: float = 0.065
    cursive_components: float = 0.0  # share of samples whose 宀 扌 氵 讠 (strokedata.CURSIVE_JOINS) are written joined
    # > 0: a cursive join is likelier the closer the next stroke starts to where the last ended (link_p × 2·exp(−gap /
    # (link_gap × box))), as real hands join 横→竖 and 辶's dot into its sweep, not strokes across the character;
    # 0: every pair alike (the older recipes, drawn exactly as before)
    link_gap: float = 0.0


def _rng(seed: int, cls: int, index: int, source: int) -> np.random.Generator:
    return np.random.default_rng([seed, source, cls, index])


def _resample(xy: np.ndarray, step: float) -> np.ndarray:
    seg = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
    total = float(seg.sum())
    if total < 1e-6:
        return xy[:1].copy()
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, total, max(2, int(total / step) + 1))
    return np.stack([np.interp(t, cum, xy[:, 0]), np.interp(t, cum, xy[:, 1])], axis=1)


def _trim(xy: np.ndarray, head: float, tail: float) -> np.ndarray:
    n = len(xy)
    a, b = int(n * head), n - int(n * tail)
    return xy[a:b] if b - a >= 2 else xy


def _chaikin(xy: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        if len(xy) < 3:
            break
        q = 0.75 * xy[:-1] + 0.25 * xy[1:]
        r = 0.25 * xy[:-1] + 0.75 * xy[1:]
        xy = np.concatenate([xy[:1], np.stack([q, r], axis=1).reshape(-1, 2), xy[-1:]])
    return xy


def _affine(rng: np.random.Generator, rotate_deg: float, shear: float, aspect: float) -> np.ndarray:
    a = math.radians(rng.uniform(-rotate_deg, rotate_deg))
    sx = math.exp(rng.uniform(-aspect, aspect))
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shr = np.array([[1.0, rng.uniform(-shear, shear)], [0.0, 1.0]])
    return rot @ shr @ np.diag([sx, 1 / sx])


def _elastic(rng: np.random.Generator, amplitude: float):
    """A smooth random displacement field made of a few low-frequency sinusoids."""
    k = rng.uniform(0.5, 2.0, size=(3, 2)) * 2 * math.pi / 1024
    phase = rng.uniform(0, 2 * math.pi, size=(3, 2))
    amp = rng.normal(0, amplitude * 1024 / 2, size=(3, 2))

    def warp(xy: np.ndarray) -> np.ndarray:
        d = np.zeros_like(xy)
        for i in range(3):
            d[:, 0] += amp[i, 0] * np.sin(k[i, 0] * xy[:, 1] + phase[i, 0])
            d[:, 1] += amp[i, 1] * np.sin(k[i, 1] * xy[:, 0] + phase[i, 1])
        return xy + d

    return warp


def _link(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, bow: float = 0.35) -> np.ndarray:
    """The pen's path from the end of one stroke to the start of the next without lifting: a bowed curve."""
    p0, p3 = a[-1], b[0]
    d = p3 - p0
    normal = np.array([-d[1], d[0]]) * rng.uniform(-bow, bow)
    out_dir = a[-1] - a[-2] if len(a) > 1 else d * 0
    p1 = p0 + 0.3 * out_dir + 0.25 * d + normal
    p2 = p3 - 0.25 * d + normal
    t = np.linspace(0, 1, 8)[1:-1, None]
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def synth_strokes(medians: list[np.ndarray], rng: np.random.Generator, style: StrokeStyle = StrokeStyle(),
                  component: str | None = None) -> tuple[Ink, list[float]]:
    """One handwritten-looking Ink from reference medians, with a pen width per stroke (fraction of the glyph).

    ``component`` (a CURSIVE_JOINS key the character starts with) is written in its joined form in a
    ``style.cursive_components`` share of samples, more often the faster the writer."""
    centre = np.array([512.0, 512.0])
    glyph = _affine(rng, style.rotate_deg, style.shear, style.aspect)
    warp = _elastic(rng, style.elastic * rng.uniform(0.3, 1.0))
    speed = rng.uniform(0, 1) ** 1.5  # most writers are careful, some are very fast
    link_p = style.link_max * speed
    passes = int(round(speed * style.round_max))
    # people write dense characters with relatively finer strokes, or 鬱 would be a blot
    base_width = rng.uniform(style.width_min, style.width_max) * min(1.2, max(0.55, math.sqrt(8 / max(1, len(medians)))))
    strokes: list[np.ndarray] = []
    for m in medians:
        xy = _resample(m.astype(np.float64), 20.0)
        c = xy.mean(axis=0)
        local = _affine(rng, style.stroke_rotate_deg, 0.0, 0.0) * math.exp(rng.uniform(-style.stroke_scale, style.stroke_scale))
        xy = (xy - c) @ local.T + c + rng.normal(0, style.stroke_shift * 1024, 2)
        xy = _trim(xy, rng.uniform(0, style.trim), rng.uniform(0, style.trim))
        xy = (xy - centre) @ glyph.T + centre
        xy = warp(xy)
        xy = xy + rng.normal(0, style.noise * 1024, xy.shape)
        strokes.append(_chaikin(_resample(xy, 40.0), 1 + passes))
    # a component joined as fast writers join it: stroke i runs into stroke i + 1 for each i in its joins
    forced: set[int] = set()
    if component and style.cursive_components > 0:  # no draw otherwise, so older recipes make the same samples
        if rng.random() < style.cursive_components * (0.5 + speed):
            forced = {i + 1 for i in CURSIVE_JOINS[component]}
    # join consecutive strokes the way a fast hand does, the pen lightening along each connector
    joined: list[np.ndarray] = []
    pressures: list[np.ndarray] = []
    for i, xy in enumerate(strokes):
        p = _pressure_profile(len(xy), rng)
        tight = i in forced
        chance = link_p
        if style.link_gap > 0 and joined:
            gap = float(np.hypot(*(xy[0] - strokes[i - 1][-1])))
            chance = link_p * 2.0 * math.exp(-gap / (style.link_gap * 1024))
        if joined and (tight or rng.random() < chance):
            bridge = _link(joined[-1], xy, rng, bow=0.1 if tight else 0.35)
            joined[-1] = np.concatenate([joined[-1], bridge, xy])
            pressures[-1] = np.concatenate([pressures[-1], np.full(len(bridge), rng.uniform(0.05, 0.3)), p])
        else:
            joined.append(xy)
            pressures.append(p)
    ink_strokes = []
    for xy, p in zip(joined, pressures):
        arr = np.full((len(xy), 4), np.nan, dtype=np.float32)
        arr[:, :2] = xy
        arr[:, 3] = p
        ink_strokes.append(arr)
    widths = [base_width * rng.uniform(0.85, 1.15) for _ in ink_strokes]
    return Ink(tuple(ink_strokes)), widths


def _pressure_profile(n: int, rng: np.random.Generator) -> np.ndarray:
    """Press at the start, ease off at the tail, with some per-stroke level."""
    t = np.linspace(0, 1, n)
    level = rng.uniform(0.35, 0.65)
    return np.clip(level + 0.15 * (1 - t) - 0.25 * np.clip(t - 0.7, 0, 1) * rng.uniform(0, 2), 0.05, 1.0)


def render_strokes(medians: list[np.ndarray], rng: np.random.Generator, spec: RasterSpec, style: StrokeStyle = StrokeStyle(),
                   component: str | None = None) -> np.ndarray:
    ink, widths = synth_strokes(medians, rng, style, component)
    image = render_ink(ink, stroke_widths=widths, ink_value=int(rng.uniform(0, 60)))
    return prepare_image(_scan_look(image, rng), spec, crop=False)


def _scan_look(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Soft, uneven ink edges like a 300 dpi scan of a ballpoint or gel pen."""
    if rng.random() < 0.5:
        return image
    pil = Image.fromarray(image).filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.4)))
    noisy = np.asarray(pil).astype(np.int16) + rng.normal(0, 10, image.shape).astype(np.int16)
    return np.clip(noisy, 0, 255).astype(np.uint8)


# --- handwriting fonts (hwime.training.fonts finds them) --------------------------------------------------------


@lru_cache(maxsize=16)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=16)
def _tofu(path: str) -> bytes:
    """The font's missing-glyph box, to recognize characters it lacks."""
    return font_glyph(path, "\U000f0000").tobytes()


def font_has(path: str, ch: str) -> bool:
    """Whether the font draws ``ch`` (not its missing-glyph box)."""
    return font_glyph(path, ch).tobytes() != _tofu(path)


def font_glyph(path: str, ch: str) -> Image.Image:
    """``ch`` in the font, black on a white 144² square."""
    font = _font(path, 96)
    image = Image.new("L", (144, 144), 255)
    ImageDraw.Draw(image).text((24, 12), ch, font=font, fill=0)
    return image


def render_font(ch: str, font_path: str, rng: np.random.Generator, spec: RasterSpec) -> np.ndarray | None:
    """A font glyph with rotation, shear, scale, a coarse elastic warp and stroke weight change; None if missing."""
    glyph = font_glyph(font_path, ch)
    if glyph.tobytes() == _tofu(font_path):  # one rendering: this is the training data's path
        return None
    ink = Image.eval(glyph, lambda v: 255 - v)  # ink = bright, so transforms pad with empty paper
    a = _affine(rng, 8.0, 0.25, 0.18)
    cx = cy = 72.0
    inv = np.linalg.inv(a)
    offset = np.array([cx, cy]) - inv @ np.array([cx, cy])
    ink = ink.transform(ink.size, Image.Transform.AFFINE, (*inv[0], offset[0], *inv[1], offset[1]), Image.Resampling.BILINEAR)
    ink = _mesh_warp(ink, rng, 0.06)
    r = rng.random()
    if r < 0.25:
        ink = ink.filter(ImageFilter.MaxFilter(3))
    elif r < 0.4:
        ink = ink.filter(ImageFilter.MinFilter(3))
    box = ink.getbbox()
    if box is None:
        return None
    level = rng.uniform(0, 60)
    arr = 255 - np.asarray(ink.crop(box)).astype(np.float32) * (255 - level) / 255
    return prepare_image(_scan_look(arr.astype(np.uint8), rng), spec, crop=False)


def _mesh_warp(image: Image.Image, rng: np.random.Generator, amount: float) -> Image.Image:
    w, h = image.size
    n = 4
    jitter = rng.normal(0, amount * w / 2, size=(n + 1, n + 1, 2))
    jitter[0, :] = jitter[-1, :] = jitter[:, 0] = jitter[:, -1] = 0
    xs = np.linspace(0, w, n + 1)
    ys = np.linspace(0, h, n + 1)
    src = np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1) + jitter
    mesh = []
    for j in range(n):
        for i in range(n):
            box = (int(xs[i]), int(ys[j]), int(xs[i + 1]), int(ys[j + 1]))
            quad = (*src[j, i], *src[j + 1, i], *src[j + 1, i + 1], *src[j, i + 1])
            mesh.append((box, tuple(float(v) for v in quad)))
    return image.transform(image.size, Image.Transform.MESH, mesh, Image.Resampling.BILINEAR)


# --- one sample by (class, index) ----------------------------------------------------------------------------


class SyntheticSource:
    """Samples for a class list: share ``font_share`` from fonts, the rest from strokes where the class has them.

    ``fonts`` are font file paths (see hwime.training.fonts.resolve); a font lacking a glyph is skipped for it.
    """

    STROKES, FONTS = 1, 2

    def __init__(self, labels: list[str], spec: RasterSpec, seed: int, font_share: float = 0.5,
                 fonts: list[str] | None = None, stroke_table: StrokeTable | None = None, style: StrokeStyle = StrokeStyle()):
        self.labels, self.spec, self.seed, self.style = labels, spec, seed, style
        self.font_share = font_share
        self.fonts = list(fonts or [])
        self.strokes = stroke_table or StrokeTable()
        missing = [c for c in labels if c not in self.strokes] if not self.fonts else []
        if missing:
            raise ValueError(f"no stroke data and no font for {len(missing)} classes, e.g. {''.join(missing[:10])}: "
                             "list fonts in data.fonts (python -m hwime.training fonts fetches them)")

    def sample(self, cls: int, index: int) -> np.ndarray:
        ch = self.labels[cls]
        pick = _rng(self.seed, cls, index, 0)
        use_font = ch not in self.strokes or (self.fonts and pick.random() < self.font_share)
        if use_font:
            rng = _rng(self.seed, cls, index, self.FONTS)
            order = rng.permutation(len(self.fonts))
            for i in order:
                image = render_font(ch, self.fonts[i], rng, self.spec)
                if image is not None:
                    return image
            if ch not in self.strokes:
                raise ValueError(f"no font has {ch!r} and there is no stroke data for it")
        rng = _rng(self.seed, cls, index, self.STROKES)
        return render_strokes(self.strokes.medians(ch), rng, self.spec, self.style, self.strokes.component(ch))
