"""Synthetic written lines for line recipes: strings people write, each drawn by one synthetic writer.

Strings (``LineComposer.text``): jieba's words by frequency, alone or two to a phrase (the language table in
assets/); Chinese names (a common surname and one or two given-name characters drawn by usage); runs of random
characters that favour the classes the words rarely bring; and words beside digits, Latin letters or punctuation.

Drawing (``LineComposer.image``): one writer per line — a hand (Make Me a Hanzi strokes through the synthetic
stroke model, one pen width, ink level and care for the whole line) or one handwriting font — with the size of
the characters (±12%), the gaps between them (touching to 40% of the height), a wandering baseline and a slant
drawn per line. Digits and Latin letters stand on the baseline at their own height, punctuation sits low and small
(，。、) or mid-height (：；！？), as on paper. The result is a grayscale line image, 255 = paper, that
hwime.raster.prepare_line turns into the network's input like any scan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..language import Language, load_language
from ..raster import find_ink, render_ink
from .strokedata import StrokeTable
from .synthetic import StrokeStyle, font_glyph, font_has, synth_strokes

# the commonest Chinese surnames, about 70% of people between them
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
            "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
LOW_PUNCT = set("，。、,.")
MID_PUNCT = set("：；！？:;!?·—-…")
HEIGHT = 64  # pixels of a character's box while composing; prepare_line rescales the whole line


@dataclass(frozen=True)
class LineLook:
    """What varies from line to line (fractions of the character height)."""

    size_jitter: float = 0.12
    gap: tuple[float, float] = (-0.04, 0.4)  # touching (a little overlap) to wide
    gap_jitter: float = 0.03
    baseline: float = 0.06  # wander of the baseline, a random walk
    slant: float = 0.2  # shear of the whole line, either way


class LineComposer:
    """Strings and line images for a class list. ``fonts``: handwriting font files (hwime.training.fonts);
    without them only characters with stroke data are drawn, and strings are chosen among those."""

    def __init__(self, labels: list[str], fonts: list[str] = (), language: Language | None = None,
                 strokes: StrokeTable | None = None, max_chars: int = 12, name_share: float = 0.15,
                 rare_share: float = 0.2, symbol_share: float = 0.15, font_share: float = 0.5,
                 look: LineLook = LineLook(), style: StrokeStyle = StrokeStyle()):
        self.labels, self.fonts = list(labels), list(fonts)
        self.strokes = strokes or StrokeTable()
        self.max_chars, self.look, self.style = max_chars, look, style
        self.shares = np.array([name_share, rare_share, symbol_share], np.float64)
        if self.shares.sum() > 1:
            raise ValueError("name_share + rare_share + symbol_share must not exceed 1")
        self.font_share = font_share if self.fonts else 0.0
        drawable = set(self.labels) if self.fonts else {c for c in self.labels if c in self.strokes}
        if not drawable:
            raise ValueError("none of the classes can be drawn: no stroke data for them and no fonts")
        self.drawable = drawable
        language = language or load_language()
        words = [(w, f) for w, f in language.words if 1 < len(w) <= max_chars and all(c in drawable for c in w)]
        if not words:
            raise ValueError("no word of the language table can be drawn with these classes")
        self.words = [w for w, _ in words]
        weights = np.sqrt(np.array([f for _, f in words], np.float64))  # flatter than usage: more distinct words
        self.word_p = weights / weights.sum()
        han = sorted((c for c in drawable if _is_han(c)), key=lambda c: -language.probability(c))
        self.han = han
        usage = np.array([language.probability(c) for c in han], np.float64) + 1e-9
        self.given_p = usage / usage.sum()
        # rare classes first: the inverse of how often the words bring them
        in_words = {c: 0.0 for c in han}
        for w, p in zip(self.words, self.word_p):
            for c in w:
                if c in in_words:
                    in_words[c] += p
        rarity = 1.0 / (np.array([in_words[c] for c in han]) + 1e-4)
        self.rare_p = rarity / rarity.sum()
        self.surnames = [c for c in SURNAMES if c in drawable]
        self.symbols = [c for c in self.labels if c in drawable and not _is_han(c)]

    # --- strings ------------------------------------------------------------------------------------------------
    def text(self, rng: np.random.Generator) -> str:
        pick = rng.random()
        names, rare, symbols = np.cumsum(self.shares)
        if pick < names and self.surnames:
            given = rng.choice(len(self.han), size=int(rng.integers(1, 3)), p=self.given_p)
            return self.surnames[int(rng.integers(len(self.surnames)))] + "".join(self.han[int(i)] for i in given)
        if pick < rare and self.han:
            n = int(rng.integers(2, min(8, self.max_chars) + 1))
            return "".join(self.han[int(i)] for i in rng.choice(len(self.han), size=n, p=self.rare_p))
        text = self._word(rng)
        if rng.random() < 0.35 and len(text) < self.max_chars - 1:  # a phrase of two words
            text = (text + self._word(rng))[: self.max_chars]
        if pick < symbols and self.symbols:
            run = "".join(self.symbols[int(i)] for i in rng.integers(len(self.symbols), size=int(rng.integers(1, 4))))
            text = (run + text if rng.random() < 0.5 else text + run)[: self.max_chars]
        return text

    def _word(self, rng: np.random.Generator) -> str:
        return self.words[int(rng.choice(len(self.words), p=self.word_p))]

    # --- drawing ------------------------------------------------------------------------------------------------
    def image(self, text: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """``text`` written by one synthetic writer: (uint8 (height, width), 255 = paper; the characters drawn —
        all of them unless one has neither strokes nor a font glyph)."""
        look = self.look
        font = None
        if self.fonts and (rng.random() < self.font_share or any(c not in self.strokes for c in text)):
            font = self._font_for(text, rng)
        pen = rng.uniform(self.style.width_min, self.style.width_max)
        care = rng.uniform(0.4, 1.2)  # how far this writer strays from the reference shapes
        style = StrokeStyle(**{**self.style.__dict__, "rotate_deg": self.style.rotate_deg * care,
                               "elastic": self.style.elastic * care, "stroke_shift": self.style.stroke_shift * care})
        level = int(rng.uniform(0, 70))
        gap = rng.uniform(*look.gap)
        width = int(HEIGHT * (1.6 * len(text) + 2))
        canvas = np.full((2 * HEIGHT, width), 255, np.uint8)
        baseline = 1.5 * HEIGHT
        x = HEIGHT * 0.5
        drift = 0.0
        drawn = []
        for ch in text:
            glyph = self._glyph(ch, font, rng, style, pen)
            if glyph is None:
                continue
            size = HEIGHT * math.exp(rng.uniform(-look.size_jitter, look.size_jitter))
            h, w = glyph.shape
            if _is_han(ch):
                scale, bottom = size * 0.92 / max(h, w), baseline - size * 0.04
            elif ch in LOW_PUNCT:
                scale, bottom = size * 0.22 / max(h, w), baseline - size * 0.02
            elif ch in MID_PUNCT:
                scale, bottom = size * 0.6 / max(h, w, 1), baseline - size * 0.1
            else:  # digits and Latin letters stand on the baseline at about two thirds of a character's height
                scale, bottom = size * rng.uniform(0.6, 0.75) / h, baseline
            gh, gw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
            piece = np.asarray(Image.fromarray(glyph).resize((gw, gh), Image.Resampling.BILINEAR))
            drift = float(np.clip(drift + rng.normal(0, look.baseline * HEIGHT / 2), -look.baseline * HEIGHT * 2,
                                  look.baseline * HEIGHT * 2))
            top = int(round(bottom - gh + drift))
            left = int(round(x))
            if left + gw >= width or top < 0 or top + gh > canvas.shape[0]:
                break
            drawn.append(ch)
            region = canvas[top : top + gh, left : left + gw]
            np.minimum(region, np.clip(255 - (255 - piece.astype(np.int32)) * (255 - level) // 255, 0, 255)
                       .astype(np.uint8), out=region)
            x += gw + size * max(look.gap[0], gap + rng.normal(0, look.gap_jitter))
        slant = rng.uniform(-look.slant, look.slant)
        sheared = Image.fromarray(canvas).transform(canvas.shape[::-1], Image.Transform.AFFINE,
                                                    (1, slant, -slant * HEIGHT, 0, 1, 0),
                                                    Image.Resampling.BILINEAR, fillcolor=255)
        return find_ink(np.asarray(sheared), 250), "".join(drawn)

    def _font_for(self, text: str, rng: np.random.Generator) -> str | None:
        for i in rng.permutation(len(self.fonts)):
            path = self.fonts[int(i)]
            if all(font_has(path, c) for c in set(text)):
                return path
        return None

    def _glyph(self, ch: str, font: str | None, rng: np.random.Generator, style: StrokeStyle,
               pen: float) -> np.ndarray | None:
        if font is None and ch in self.strokes:
            ink, widths = synth_strokes(self.strokes.medians(ch), rng, style, self.strokes.component(ch))
            image = render_ink(ink, stroke_widths=[pen * w / np.mean(widths) for w in widths])
            return find_ink(image, 250)
        path = font or self._font_for(ch, rng)
        if path is None:
            return None
        return find_ink(np.asarray(font_glyph(path, ch)), 250)

    def sample(self, rng: np.random.Generator) -> tuple[str, np.ndarray]:
        """A string and its image; a character that could not be drawn is left out of both."""
        image, drawn = self.image(self.text(rng), rng)
        return drawn, image


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"
