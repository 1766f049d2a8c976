"""CTC decoding of a line recognizer's frames into strings: greedy, and a prefix beam search that adds the
language side (hwime.language: a character bigram backed off to the usage prior, after the writer's context).

Input: log-probabilities (T, classes + 1) of one line, output 0 the blank, output k + 1 class k. Output: ranked
``Decoded`` strings as class indices with their score and each character's frame span (first, last frame), so a
caller can show one position's alternatives or cut the ink under one character.

The beam search is the prefix search of Hannun et al. (2014) in the log domain, with numpy only: per frame, only the
classes above ``prune`` probability extend a prefix, and a frame that is all but certainly blank just carries every
prefix forward, so a line of 12 characters (~100 frames, mostly blank) decodes in a few milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

NEG = -1e30
BLANK_SURE = math.log(1 - 1e-4)  # a frame this surely blank extends nothing
LanguageModel = Callable[[int, int], float]  # (previous class or -1 at the line's start, class) -> log p
StartModel = Callable[[int], float]  # class -> its score as a line's first character, in place of the language's


@dataclass(frozen=True)
class Decoded:
    labels: tuple[int, ...]  # class indices, the blank not counted
    score: float  # log score: the frames' (all alignments of this string) plus the language side
    spans: tuple[tuple[int, int], ...]  # first and last frame of each character


def greedy(log_probs: np.ndarray) -> Decoded:
    """The best class per frame, repeats collapsed, blanks dropped."""
    best = log_probs.argmax(axis=1)
    labels, spans = [], []
    prev = 0
    for t, k in enumerate(best.tolist()):
        if k != 0 and k != prev:
            labels.append(k - 1)
            spans.append([t, t])
        elif k != 0 and k == prev:
            spans[-1][1] = t
        prev = k
    score = float(log_probs[np.arange(len(best)), best].sum())
    return Decoded(tuple(labels), score, tuple(tuple(s) for s in spans))


class _Prefix:
    __slots__ = ("blank", "nonblank", "lm", "spans")

    def __init__(self, blank: float, nonblank: float, lm: float, spans: tuple):
        self.blank, self.nonblank, self.lm, self.spans = blank, nonblank, lm, spans

    def total(self) -> float:
        return np.logaddexp(self.blank, self.nonblank) + self.lm


MAX_BEAM_FRAMES = 2000  # eight times the longest line the recognizer prepares


def beam_search(log_probs: np.ndarray, beam: int = 10, lm: LanguageModel | None = None, lm_weight: float = 0.0,
                bonus: float = 0.0, prune: float = 1e-3, per_frame: int = 12, first_prev: int = -1,
                start: StartModel | None = None) -> list[Decoded]:
    """The ``beam`` best strings, best first. Each character added costs ``lm_weight · lm(prev, c) + bonus``
    (the bonus offsets the language side's bias toward short strings); ``first_prev`` is the class written just
    before the line (the writer's context), -1 for none; ``start(c)`` (weighted already), where given, scores the
    first character of a line with nothing before it instead of ``lm_weight · lm(-1, c)``.

    Time grows with frames × string length (a prefix is a tuple, copied and hashed as it grows; measured 0.76 s for
    1,000 frames, 40 s for 8,000): a line the recognizer prepares has at most 240 frames (raster.MAX_LINE_CHARS
    heights) and decodes in milliseconds; more than MAX_BEAM_FRAMES is refused — cut such an input into lines."""
    if log_probs.ndim != 2 or log_probs.shape[1] < 2:
        raise ValueError(f"expected log-probabilities (frames, classes + 1), got shape {log_probs.shape}")
    if len(log_probs) > MAX_BEAM_FRAMES:
        raise ValueError(f"{len(log_probs)} frames: beam search reads at most {MAX_BEAM_FRAMES} (a line is at most "
                         f"240); cut the input into lines")
    beams: dict[tuple[int, ...], _Prefix] = {(): _Prefix(0.0, NEG, 0.0, ())}
    log_prune = math.log(prune)
    lm_cache: dict[tuple[int, int], float] = {}

    def extension(prev: int, c: int) -> float:
        key = (prev, c)
        if key not in lm_cache:
            lm_cache[key] = _language_score(prev, c, lm, lm_weight, start) + bonus
        return lm_cache[key]

    for t in range(log_probs.shape[0]):
        frame = log_probs[t]
        blank = float(frame[0])
        if blank > BLANK_SURE:  # carry every prefix: through the blank, or holding its last character
            for prefix, p in beams.items():
                hold = p.nonblank + float(frame[prefix[-1] + 1]) if prefix else NEG
                p.blank, p.nonblank = float(np.logaddexp(p.blank, p.nonblank)) + blank, hold
            continue
        order = np.argpartition(-frame[1:], min(per_frame, len(frame) - 2))[:per_frame]
        candidates = [int(k) for k in order if frame[k + 1] > log_prune]
        new: dict[tuple[int, ...], _Prefix] = {}

        def add(prefix: tuple, blank_p: float, nonblank_p: float, lm_score: float, spans: tuple) -> None:
            p = new.get(prefix)
            if p is None:
                new[prefix] = _Prefix(blank_p, nonblank_p, lm_score, spans)
            else:
                p.blank = float(np.logaddexp(p.blank, blank_p))
                p.nonblank = float(np.logaddexp(p.nonblank, nonblank_p))

        for prefix, p in beams.items():
            total = float(np.logaddexp(p.blank, p.nonblank))
            last = prefix[-1] if prefix else -1
            add(prefix, total + blank, NEG, p.lm, p.spans)
            if prefix:  # the last character held one more frame
                spans = p.spans[:-1] + ((p.spans[-1][0], t),)
                add(prefix, NEG, p.nonblank + float(frame[last + 1]), p.lm, spans)
            for c in candidates:
                # the same character again needs a blank between; another follows either
                via = p.blank if c == last else total
                prev = last if prefix else first_prev
                add(prefix + (c,), NEG, via + float(frame[c + 1]), p.lm + extension(prev, c), p.spans + ((t, t),))
        beams = dict(sorted(new.items(), key=lambda kv: kv[1].total(), reverse=True)[:beam])
    ranked = sorted(beams.items(), key=lambda kv: kv[1].total(), reverse=True)
    return [Decoded(prefix, float(p.total()), p.spans) for prefix, p in ranked]


def _language_score(prev: int, c: int, lm: LanguageModel | None, lm_weight: float, start: StartModel | None) -> float:
    if prev < 0 and start is not None:
        return start(c)
    return lm_weight * lm(prev, c) if lm is not None and lm_weight else 0.0


def position_beam(options: list[list[tuple[int, float]]], beam: int = 10, lm: LanguageModel | None = None,
                  lm_weight: float = 0.0, first_prev: int = -1,
                  start: StartModel | None = None) -> list[tuple[tuple[int, ...], float]]:
    """Strings from a line already cut into characters: ``options`` holds each position's (class, log p), the
    language side added as in beam_search. The ``beam`` best (classes, score), best first."""
    beams: list[tuple[tuple[int, ...], float]] = [((), 0.0)]
    for choices in options:
        grown = []
        for prefix, score in beams:
            prev = prefix[-1] if prefix else first_prev
            for c, log_p in choices:
                language = _language_score(prev, c, lm, lm_weight, start)
                grown.append((prefix + (c,), score + log_p + language))
        grown.sort(key=lambda kv: kv[1], reverse=True)
        beams = grown[:beam]
    return beams


def cut_columns(spans: Sequence[tuple[int, int]], frame_stride: int) -> list[float]:
    """The network input's columns halfway between each pair of neighbouring characters' frames: where a line's
    characters part (in the image for a re-read, in the ink for teaching one character)."""
    return [(a[1] + 1 + b[0]) / 2 * frame_stride for a, b in zip(spans, spans[1:])]


def span_alternatives(log_probs: np.ndarray, span: tuple[int, int], top: int = 10) -> list[tuple[int, float]]:
    """(class, probability) of the ``top`` classes most likely somewhere in a character's frames, best first,
    renormalized over those classes: what else that position could be."""
    first, last = span
    window = np.exp(log_probs[first : last + 1, 1:]).max(axis=0)
    k = min(top, len(window))
    best = np.argpartition(-window, k - 1)[:k]
    best = best[np.argsort(-window[best])]
    total = float(window[best].sum()) or 1.0
    return [(int(c), float(window[c] / total)) for c in best]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), for the character error rate."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i]
        for j, cb in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
