"""Overlapped writing (叠写): characters written one on top of another in one box, read as a string.

One search over stroke spans combines three things:
  * the segmenter (hwime.segmenter): log P(a character starts at stroke j) for each span's first stroke, log P(no
    start) for the strokes inside it, and log P(the span is one whole character) from its extent;
  * the recognizer: each span read as one character (its calibrated candidates, shape alone);
  * the language side: log p(c | the character before) (the line decoder's bigram).
    score(string) = Σ over its spans  w_b · boundary terms + w_s · log P(whole) + log p(c | span)
                                      + w_l · log p(c | previous) − β − w_x · max(0, strokes − c's strokes)

The reader is incremental, as a pad needs it: ``add`` a stroke and only the spans ending at that stroke are read
(at most ``new_spans`` of them, the likeliest by the segmenter and the best reading before them, in one batch);
the best strings ending at each stroke are kept, so ``undo`` just forgets the last stroke's. When a stroke comes,
the segmenter looks again at the one before (does the new stroke carry on around it?) and the strings ending there
are found again from spans already read. The whole-ink reader
``read_overlapped`` feeds the strokes in order, so the CLI reads exactly what the pad would show.

A wrong cut can be fixed: ``candidates(regroup=True)`` (the pad) adds to each cell of the best string a
``Regrouping`` or two among its alternatives: the cell merged with the one before or after it (their strokes read as
one character) and the cell split in two where the segmenter and the readings put the likeliest cut inside it. The
spans they need are mostly read already by the search; the rest are read in one batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch

from .ink import Ink
from .readers import LineCandidate, line_shares
from .ranking import Candidate
from .recognizer import Recognizer
from .segmenter import Segmenter, StrokeGeometry, log_not

# Far beyond what one writes without sending (about 25 characters); a drawing with more is refused at once rather
# than read for minutes
MAX_OVERLAP_STROKES = 200


@lru_cache(maxsize=1)
def _stroke_counts() -> dict[str, int]:
    """Each character's stroke count in Make Me a Hanzi (assets/mmah-medians.npz, the synthesizer's data)."""
    from .bundled import asset_gone, asset_path

    path = asset_path("mmah-medians.npz")
    if not path.is_file():
        raise asset_gone(path.name)
    with np.load(path) as z:
        return dict(zip(z["chars"].tolist(), z["stroke_counts"].astype(int).tolist()))


class OverlapWeights(NamedTuple):
    """The search's weights (tuned on the dev sets by ``python -m hwime.training evaluate-overlap --tune``)."""
    boundary: float = 1.0  # w_b: the boundary model's log-probabilities
    whole: float = 0.5  # w_s: the span model's log P(one whole character)
    lm: float = 0.2  # w_l: the bigram's log p(c | previous)
    # β: taken off per character (a larger β prefers fewer, longer spans). Negative, a bonus: every character pays
    # log-probabilities (its reading, the bigram, its cut) that one long span reading as one character does not
    bonus: float = -3.0
    extra: float = 0.0  # taken off per stroke a span has beyond the character's own count (Make Me a Hanzi):
    # hurried writers join strokes (fewer), hardly anyone writes more, so only the excess costs (一代 read as 代)
    # w_u: the weight of the usage prior log p(c) inside the bigram's term, apart from the rest of it (log p(c | prev)
    # - log p(c), what the character before adds); a file without it weighs both by ``lm``, as before (OverlapWeights.of)
    prior: float = 0.2
    part: float = 0.0  # taken off a span read as a component that is no character of its own (辶 of 返, 廴 of 延)

    @classmethod
    def of(cls, config: dict) -> "OverlapWeights":
        """The weights a segmenter file's config stores (missing ones at their defaults; ``prior`` at ``lm``)."""
        stored = {k: float(v) for k, v in config.get("weights", {}).items() if k in cls._fields}
        if "prior" not in stored:
            stored["prior"] = stored.get("lm", cls._field_defaults["lm"])
        return cls(**stored)


# components the recognizer knows as labels that are no character of the general standard list: in overlapped
# writing they are a character's part written last (辶 of 返 read apart as 反 辶), not a character
PARTS = frozenset("丨丿丶亻亠冫冖讠卩阝廴凵厶艹廾扌囗彡犭夂饣丬氵宀辶彐纟攵灬礻钅疒衤忄刂冂勹匚虍糸髟肀")


# cuts inside a cell whose two pieces are read to choose its split (the likeliest by the segmenter alone)
SPLIT_CUTS = 2


@dataclass(frozen=True)
class Regrouping:
    """An alternative of a cell that cuts the strokes otherwise (hwime.session.Regroup): the consecutive cells whose
    stroke spans are ``replaces`` become the cells ``spans``, reading ``char`` (one character per span), each with
    its alternatives in ``chars`` (its own first). A merge replaces two cells with one, a split one with two."""

    char: str
    score: float  # the new cells' readings' probabilities multiplied
    replaces: tuple
    spans: tuple
    chars: tuple


@dataclass(frozen=True)
class _Hyp:
    score: float
    text: tuple  # characters
    spans: tuple  # ((first stroke, last stroke), ...)
    alts: tuple  # per position: the span's candidates [(char, probability)]


class OverlapReader:
    """Reads overlapped ink stroke by stroke. ``candidates()`` after each ``add`` is what the pad shows."""

    def __init__(self, recognizer: Recognizer, segmenter: Segmenter | None = None,
                 weights: OverlapWeights | None = None, context: str = "", script: str | None = None,
                 unit: float | None = None, max_span: int | None = None, new_spans: int = 8, margin: float = 6.0,
                 chars: int = 5, beam: int = 8, cache: dict | None = None, ahead: bool = True,
                 language: bool = True):
        self.rec = recognizer
        self.seg = segmenter or Segmenter.load()
        self.weights = weights or OverlapWeights.of(self.seg.config)
        if not language:  # shape alone (the usage prior's switch): the bigram leaves the search
            self.weights = self.weights._replace(lm=0.0, prior=0.0)
        self.script = script
        self.context = context
        self.max_span = int(max_span or self.seg.config.get("max_span", 20))
        self.new_spans, self.margin, self.chars, self.beam = new_spans, margin, chars, beam
        self.ahead = ahead  # the segmenter looks again at the stroke before each new one
        # (first, last) -> candidates; an evaluation that reads one ink many times passes its own to keep
        self._reads: dict = cache if cache is not None else {}
        self.geo = StrokeGeometry(unit)
        self.strokes: list[np.ndarray] = []
        self._state: list[torch.Tensor | None] = []
        self._causal: list[float] = []  # log P(start) from the strokes up to each
        self._hyps_causal: list[list[_Hyp]] = []  # the strings ending at each stroke as first read
        self._log_start: list[float] = []  # the same, seen with the next stroke where there is one
        self._cum_not: list[float] = []  # Σ log P(no start) over strokes 1..k
        self._hyps: list[list[_Hyp]] = []
        self._language = recognizer.language(script)
        self._mix = float(recognizer.metadata.get("line_mix", 0.5))
        self._lm_cache: dict[tuple[str, str], float] = {}
        from .script import check_script, convert

        self._both = check_script(script or recognizer.script) == "both"
        self._convert = convert

    def __len__(self) -> int:
        return len(self.strokes)

    @property
    def spans_read(self) -> int:
        """How many stroke spans the recognizer has read for the strokes written now."""
        return len(self._reads)

    def add(self, stroke: np.ndarray) -> None:
        """One more stroke (n, 2..4 float: x, y, t ms, pressure), e.g. ``Ink.strokes[i]``."""
        if len(self.strokes) >= MAX_OVERLAP_STROKES:
            raise ValueError(f"overlapped writing reads at most {MAX_OVERLAP_STROKES} strokes at a time "
                             f"(about 25 characters); send what was written and write on")
        stroke = np.asarray(stroke, dtype=np.float32)
        k = len(self.strokes)
        self.strokes.append(stroke)
        row = self.geo.add(stroke)
        log_p, state = self.seg.step(row, self._state[-1] if self._state else None)
        self._state.append(state)
        causal = 0.0 if k == 0 else log_p  # the first stroke always starts a character
        self._causal.append(causal)
        if k >= 2 and self.ahead:
            # the stroke before, seen again now that this one is written: its strings are found again (their spans
            # were read when it was written; only cuts that became likely are read now)
            ahead = self.seg.step_ahead(np.stack(self.geo.stroke_rows[k - 1 : k + 1]), self._state[k - 1 : k + 1])
            self._set_start(k - 1, ahead)
            self._hyps[k - 1] = self._extend(k - 1)
        self._log_start.append(causal)
        self._cum_not.append((self._cum_not[-1] + log_not(causal)) if k else 0.0)
        self._hyps.append(self._extend(k))
        self._hyps_causal.append(self._hyps[-1])

    def _set_start(self, i: int, log_p: float) -> None:
        self._log_start[i] = log_p
        self._cum_not[i] = self._cum_not[i - 1] + log_not(log_p)

    def undo(self) -> None:
        """Forget the last stroke; the reading is the one before it."""
        if not self.strokes:
            return
        k = len(self.strokes) - 1
        for seq in (self.strokes, self._state, self._causal, self._log_start, self._cum_not, self._hyps,
                    self._hyps_causal):
            seq.pop()
        self.geo.pop()
        for key in [key for key in self._reads if key[1] == k]:  # spans ending at it: another stroke may come
            del self._reads[key]
        if k >= 2 and self.ahead:  # the stroke before is again the last one, as it was read before this one came
            self._set_start(k - 1, self._causal[k - 1])
            self._hyps[k - 1] = self._hyps_causal[k - 1]

    def _lm(self, prev: str, c: str) -> float:
        """w_l · (log p(c | prev) - log p(c)) + w_u · log p(c) - the part cost: the language side of one character."""
        key = (prev, c)
        if key not in self._lm_cache:
            w = self.weights
            cost = w.part if c in PARTS else 0.0
            if self._both:
                prev, c = self._convert(prev, "simplified"), self._convert(c, "simplified")
            full = self._language.next_log_prob(prev, c, self._mix)
            prior = math.log(self._language.probability(c))
            self._lm_cache[key] = w.lm * (full - prior) + w.prior * prior - cost
        return self._lm_cache[key]

    def _extend(self, k: int) -> list[_Hyp]:
        """The best strings whose last span ends at stroke k."""
        w = self.weights
        starts = np.arange(max(0, k - self.max_span + 1), k + 1)
        whole = self.seg.log_whole(self.geo.span_rows(k, starts))
        geo = np.array([w.boundary * (self._log_start[j] + self._cum_not[k] - self._cum_not[j]) for j in starts])
        geo = geo + w.whole * whole
        before = np.array([0.0 if j == 0 else (self._hyps[j - 1][0].score if self._hyps[j - 1] else -np.inf)
                           for j in starts])
        # read only the likeliest spans: by the segmenter and the best string before them (a beam over cuts), and
        # none that trail the likeliest by more than ``margin`` (most strokes are plainly inside a character)
        value = geo + before
        order = [i for i in np.argsort(-value, kind="stable")
                 if np.isfinite(value[i]) and value[i] >= value.max() - self.margin][: self.new_spans]
        chosen = [int(starts[i]) for i in order]
        reads = self._read(chosen, k)
        found: dict[tuple, _Hyp] = {}
        for i, j in zip(order, chosen):
            span_geo = float(geo[i])
            prevs = self._hyps[j - 1] if j else [_Hyp(0.0, (), (), ())]
            count = k - j + 1
            for c, p in reads[j]:
                shape = math.log(max(p, 1e-12)) - w.extra * max(0, count - _stroke_counts().get(c, count))
                for h in prevs:
                    prev = h.text[-1] if h.text else self.context[-1:]
                    score = h.score + span_geo + shape + self._lm(prev, c) - w.bonus
                    text = h.text + (c,)
                    if text not in found or found[text].score < score:
                        found[text] = _Hyp(score, text, h.spans + ((j, k),), h.alts + (tuple(reads[j]),))
        return sorted(found.values(), key=lambda h: -h.score)[: self.beam]

    def _read(self, firsts: list[int], k: int) -> dict[int, list[tuple[str, float]]]:
        """Spans first..k read as one character each (one batch): (char, calibrated probability), best first."""
        out, todo = {}, []
        for j in firsts:
            if (j, k) in self._reads:
                out[j] = self._reads[(j, k)]
            else:
                todo.append(j)
        if todo:
            inks = [Ink(tuple(self.strokes[j : k + 1])) for j in todo]
            for j, cands in zip(todo, self._read_inks(inks)):
                out[j] = self._reads[(j, k)] = cands
        return out

    def candidates(self, top: int = 5, regroup: bool = False) -> list[LineCandidate]:
        """The ``top`` best readings of everything written so far, best first; [] before the first stroke.
        ``regroup``: the best string's cells offer their merges with a neighbour and their split after their own
        alternatives (``Regrouping``), so a pad can fix a wrong cut."""
        if top < 1:
            raise ValueError(f"top must be at least 1, got {top}")
        if not self._hyps or not self._hyps[-1]:
            return []
        best = self._hyps[-1][:top]
        shares = line_shares([h.score for h in best])
        out = []
        for h, share in zip(best, shares.tolist()):
            chars = []
            for c, alts in zip(h.text, h.alts):
                own = next((p for a, p in alts if a == c), 0.0)
                chars.append(tuple([Candidate(c, own)] + [Candidate(a, p) for a, p in alts if a != c]))
            out.append(LineCandidate("".join(h.text), float(share), tuple(chars), h.spans))
        if regroup:
            out[0] = self._with_regroupings(out[0])
        return out

    def _with_regroupings(self, best: LineCandidate) -> LineCandidate:
        """``best`` with each cell's merges (with the cell before, with the one after) and split added to its
        alternatives, in that order."""
        spans, w = best.spans, self.weights
        merges = [(spans[i][0], spans[i + 1][1]) for i in range(len(spans) - 1)]
        cuts = {i: self._likely_cuts(a, b) for i, (a, b) in enumerate(spans) if b > a}
        pieces = {p for i, found in cuts.items() for c, _ in found
                  for p in ((spans[i][0], c - 1), (c, spans[i][1]))}
        reads = self._read_spans(sorted(set(merges) | pieces))

        def cell(alts: list[tuple[str, float]]) -> tuple:
            return tuple(Candidate(c, p) for c, p in alts)

        merged = [Regrouping(reads[m][0][0], reads[m][0][1], (spans[i], spans[i + 1]), (m,), (cell(reads[m]),))
                  if reads[m] else None for i, m in enumerate(merges)]
        extra: list[list[Regrouping]] = [[] for _ in spans]
        for i, r in enumerate(merged):
            if r is not None:
                extra[i].append(r)
                extra[i + 1].insert(0, r)  # the cell after: merged with the one before it
        for i, found in cuts.items():
            a, b = spans[i]
            prev = best.text[i - 1] if i else self.context[-1:]
            scored = []
            for c, geo in found:
                first, second = reads[(a, c - 1)], reads[(c, b)]
                if not first or not second:
                    continue
                (c1, p1), (c2, p2) = first[0], second[0]
                value = geo + math.log(max(p1, 1e-12)) + math.log(max(p2, 1e-12)) \
                    + self._lm(prev, c1) + self._lm(c1, c2)
                scored.append((value, Regrouping(c1 + c2, p1 * p2, (spans[i],), ((a, c - 1), (c, b)),
                                                 (cell(first), cell(second)))))
            if scored:
                extra[i].append(max(scored, key=lambda v: v[0])[1])
        chars = tuple(tuple(alts) + tuple(more) for alts, more in zip(best.chars, extra))
        return LineCandidate(best.text, best.score, chars, best.spans)

    def _likely_cuts(self, a: int, b: int) -> list[tuple[int, float]]:
        """The SPLIT_CUTS likeliest strokes inside a..b for a second character to start at, by the segmenter alone
        (what making it a start changes in the boundary terms, and both pieces as whole characters), with that
        score."""
        w = self.weights
        cuts = np.arange(a + 1, b + 1)
        gain = np.array([self._log_start[c] - log_not(self._log_start[c]) for c in cuts])
        second = self.seg.log_whole(self.geo.span_rows(b, cuts))
        first = np.array([self.seg.log_whole(self.geo.span_rows(int(c) - 1, np.array([a])))[0] for c in cuts])
        value = w.boundary * gain + w.whole * (first + second)
        order = np.argsort(-value, kind="stable")[:SPLIT_CUTS]
        return [(int(cuts[i]), float(value[i])) for i in order]

    def _read_inks(self, inks: list[Ink]) -> list[list[tuple[str, float]]]:
        """Each span's ink -> its (character, score) readings by shape alone. The search decodes these as a line's
        positions are decoded: the look-alikes a lone box offers would move score between them (overlap-olhwdb
        20.11% -> 20.21% CER with the look-alike gate at 0.5)."""
        return [[(c.char, c.score) for c in cands]
                for cands in self.rec.recognize_inks(inks, top=self.chars, prior=False, script=self.script,
                                                     look_alikes=False)]

    def _read_spans(self, spans: list[tuple[int, int]]) -> dict[tuple[int, int], list[tuple[str, float]]]:
        """Any stroke spans read as one character each (those not read yet in one batch)."""
        todo = [s for s in spans if s not in self._reads]
        if todo:
            inks = [Ink(tuple(self.strokes[j : k + 1])) for j, k in todo]
            for s, cands in zip(todo, self._read_inks(inks)):
                self._reads[s] = cands
        return {s: self._reads[s] for s in spans}


def stroke_parts(ink: Ink, spans: tuple) -> list[Ink]:
    """The strokes of each cell of an overlapped string (its spans: first and last stroke), e.g. to learn a
    corrected cell from its own strokes."""
    return [Ink(tuple(ink.strokes[a : b + 1])) for a, b in spans]


def read_overlapped(recognizer: Recognizer, ink: Ink, top: int = 5, context: str = "",
                    segmenter: Segmenter | None = None, script: str | None = None,
                    weights: OverlapWeights | None = None, **options) -> list[LineCandidate]:
    """Ink written character over character in one box -> its ``top`` best strings (as ``recognize_line`` gives
    them; ``spans`` are each character's first and last stroke). [] for an empty drawing; ValueError beyond
    MAX_OVERLAP_STROKES strokes."""
    if len(ink.strokes) > MAX_OVERLAP_STROKES:
        raise ValueError(f"{len(ink.strokes)} strokes: overlapped writing reads at most {MAX_OVERLAP_STROKES} "
                         f"at a time (about 25 characters)")
    reader = OverlapReader(recognizer, segmenter, weights, context, script, **options)
    for stroke in ink.strokes:
        reader.add(stroke)
    return reader.candidates(top)
