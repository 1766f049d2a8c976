"""Readers: what is written -> what is offered. One per writing mode, each built once beside the others.

- CharacterReader: prepared squares -> one network pass -> each class by its best frame (a CTC network reads a lone
  character as a short line) -> hwime.ranking -> Candidates.
- LineReader: a written line (ink, or a photo/scan of one) -> frames -> hwime.decode's beam with the language side
  -> LineCandidates, each position with its alternatives; an image whose characters stand apart on paper is cut
  where a plain beam's best string parts its characters and each piece read as the single box reads it.
A new writing mode is a reader beside these that uses the same network, codec and ranker.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from . import decode as ctc
from .bundle import LabelCodec
from .ink import Ink
from .network import Network
from .ranking import Candidate, PersonalTerm, Ranker, RankingOptions
from .raster import (RasterSpec, gray_image, has_ink, line_column_to_ink_x, line_pieces_on_paper, normalize,
                     prepare_image, prepare_written_line)
from .script import check_script


class RecognitionError(RuntimeError):
    """The model gave no usable answer (e.g. NaN scores) for a sample."""


class CharacterReader:
    """Prepared squares (uint8, raster.prepare_image) -> candidates."""

    def __init__(self, network: Network, codec: LabelCodec, spec: RasterSpec, ranker: Ranker,
                 path: Path | None = None):
        self.network, self.codec, self.spec, self.ranker, self.path = network, codec, spec, ranker, path
        # a CTC network reads the square at the left of its input: its best frames lie within the square's columns
        # (on 400 Tegaki and 400 OLHWDB readings the first was in frames 1-4 of 12), and what the head reads in the
        # padding after it is never the character, so the head reads the square's frames alone. Measured: the same
        # top-1 / top-10 on every dev set, lists reordered below the first (1-2%; Chinese MNIST's numerals 17%),
        # the best frame 0.18 ms and the pass 0.07-0.25 ms shorter (training/reports/hwime-all/notes.md, "The head
        # over the square's frames")
        self.frames: int | None = None
        if network.ctc and spec.layout == "line" and network.frame_stride:
            self.frames = -(-spec.size // network.frame_stride)

    def logits(self, batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 (N, S, S) -> the network's pass: (logits of the square's frames, the features)."""
        return self.network(torch.from_numpy(normalize(batch, self.spec)), self.frames)

    @torch.inference_mode()
    def probabilities(self, batch: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        """uint8 (N, S, S) -> (softmax over the labels (N, classes), the pass's features (N, D) as numpy)."""
        return self.pass_probabilities(*self.logits(batch))

    @torch.inference_mode()
    def pass_probabilities(self, logits: torch.Tensor, features: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
        """One pass's (logits, features) -> what ``probabilities`` returns."""
        if self.network.ctc:  # a lone character: each class by its best frame, the blank left out
            # (the best frame of every output, then the blank's column dropped: the same values as the other way
            # round, from one contiguous reduction)
            best = self.codec.class_columns(torch.softmax(logits, dim=2).amax(dim=1))
            total = best.sum(dim=1, keepdim=True)
            probs = best / total
        else:
            probs = torch.softmax(logits, dim=1)
            total = probs.sum(dim=1)
        # a NaN or infinity anywhere in the logits makes its row's softmax, and so the sum, NaN: one check per row,
        # on the sums as Python numbers (right after the pass, torch's isfinite and all cost more than the check)
        if not all(map(math.isfinite, total.cpu().numpy().ravel().tolist())):
            raise RecognitionError(f"the model gave NaN scores{f' ({self.path.name})' if self.path else ''}")
        features = features.float()
        return probs, (features.mean(dim=1) if features.ndim == 3 else features).cpu().numpy()

    def read(self, batch: np.ndarray, top: int, options: RankingOptions,
             personal: PersonalTerm | None = None, taps: np.ndarray | None = None) -> list[list[Candidate]]:
        """The ``top`` candidates of each square; a blank square has none; ``taps`` (N,) bool: squares drawn from a
        tap of the pen (hwime.ranking.dots_first)."""
        if len(batch) == 0:
            return []
        if top < 1:
            raise ValueError(f"top must be at least 1, got {top}")
        inked = [i for i in range(len(batch)) if has_ink(batch[i])]  # a blank page has no candidates
        out: list[list[Candidate]] = [[] for _ in range(len(batch))]
        if not inked:
            return out
        probs, features = self.probabilities(batch[inked])
        row_taps = None if taps is None else np.asarray(taps, bool)[inked]
        for i, cands in zip(inked, self.ranker.rank(probs, top, options, features, personal, row_taps)):
            out[i] = cands
        return out


@dataclass(frozen=True)
class LineCandidate:
    text: str
    score: float  # share among the n-best strings, 0..1; a line's candidates come highest first
    # per position of text: that position's alternatives (Candidate, highest score first; the text's own first
    # unless the language side chose it over a character its shape reads as more likely)
    chars: tuple
    spans: tuple = ()  # per position: its first and last CTC frame (line_ink_parts cuts the ink with them)

    @property
    def char(self) -> str:  # the candidate bar shows choices by ``char``
        return self.text


# the line decoder's language side (hwime.decode): weight of log p(c | previous), a bonus per character, and the
# bigram's share against the usage prior; a bundle may carry its own (line_lm_weight, line_bonus, line_mix)
LINE_LM_WEIGHT, LINE_BONUS, LINE_MIX = 0.3, 1.0, 0.5
# A line of at most NAME_MAX_CHARS with nothing written before it may be a name (forms, addresses, signatures: what
# people write in lines most), with probability line_name_share: its first character gains
# line_start_weight · Language.name_start_log_ratio (a bundle may carry its own of both).
NAME_MAX_CHARS, LINE_NAME_SHARE, LINE_START_WEIGHT = 4, 0.3, 0.5
MAX_BEAM = 64  # the beam a line is decoded with, whatever number of strings is asked for (top 1000 took 19 s)


class LineWeights(NamedTuple):
    """The line decoder's language side: weight of the bigram, bonus per character, weight of a name's start and
    how likely a short line with nothing before it is to be a name."""
    lm: float
    bonus: float
    start: float
    name_share: float

    @classmethod
    def from_metadata(cls, m: dict) -> "LineWeights":
        """The bundle's tuned values, else the defaults."""
        return cls(float(m.get("line_lm_weight", LINE_LM_WEIGHT)), float(m.get("line_bonus", LINE_BONUS)),
                   float(m.get("line_start_weight", LINE_START_WEIGHT)),
                   float(m.get("line_name_share", LINE_NAME_SHARE)))


@dataclass(frozen=True)
class LineOptions:
    """How one line is read: ``top`` strings; ``decode`` greedy or beam (of ``beam``); ``alternatives`` per
    position; the language side (``language``) after ``context``; ``reread``: an image whose characters stand apart
    is cut and each piece read alone; ``weights`` replace the bundle's."""

    script: str
    top: int = 5
    context: str = ""
    decode: str = "beam"
    beam: int = 10
    alternatives: int = 10
    language: bool = True
    reread: bool = True
    weights: LineWeights | None = None

    def __post_init__(self) -> None:
        if self.top < 1:
            raise ValueError(f"top must be at least 1, got {self.top}")
        if self.decode not in ("greedy", "beam"):
            raise ValueError(f"decode must be greedy or beam, not {self.decode!r}")
        check_script(self.script)


class LineReading(NamedTuple):
    """What a line shows before any language (LineReader.evidence): the frames' log-probabilities (frames,
    classes + 1, blank first), and where the image was cut, each character's (class, probability) alternatives read
    alone and the frame spans it was cut at (else None and ()); ``best_path``: the frames' best path
    (hwime.decode.greedy), read once and used for the name-start length and greedy decoding."""
    log_probs: np.ndarray
    pieces: list | None
    spans: tuple
    best_path: ctc.Decoded | None = None


def line_shares(scores: Sequence[float]) -> np.ndarray:
    """Each of a line's strings' share (0..1, summing to 1) from their log-scores, the decoder's best first. None
    scores above the best: the best was chosen with the language side, which a string with one character read
    otherwise is not scored with (its frames alone may read it higher), so the reading stays the decoder's."""
    scores = np.array(scores, dtype=np.float64)
    scores[1:] = np.minimum(scores[1:], scores[0])
    shares = np.exp(scores - scores.max())
    return shares / shares.sum()


def sorted_line_candidates(found: list[LineCandidate]) -> list[LineCandidate]:
    """Highest score first, for the strings and for each position's alternatives; stable, so ties keep the
    decoder's order (its best string first, a position's own character first)."""

    def by_score(cands):
        return sorted(cands, key=lambda c: -c.score)

    return [dataclasses.replace(c, chars=tuple(tuple(by_score(alts)) for alts in c.chars)) for c in by_score(found)]


class LineReader:
    """Lines through a CTC network."""

    def __init__(self, characters: CharacterReader, metadata: dict,
                 personal: Callable[[], PersonalTerm | None] = lambda: None):
        self.characters = characters
        self.network, self.codec, self.spec = characters.network, characters.codec, characters.spec
        self.ranker, self.path = characters.ranker, characters.path
        self.labels = list(self.codec.labels)
        self.weights = LineWeights.from_metadata(metadata)
        self.mix = float(metadata.get("line_mix", LINE_MIX))
        self.personal = personal

    # --- the frames ---------------------------------------------------------------------------------------------------
    @torch.inference_mode()
    def log_probs(self, sample: Ink | np.ndarray, script: str) -> np.ndarray:
        """A written line (ink) or a photo/scan of one (grayscale, any size) -> log-probabilities (frames,
        classes + 1), blank first, folded into ``script``; (0, classes + 1) for a blank line."""
        if isinstance(sample, Ink) and sample.is_empty:
            return np.zeros((0, self.codec.outputs), np.float32)
        if not isinstance(sample, Ink):
            sample = gray_image(sample)
        prepared = prepare_written_line(sample, self.spec)
        if not has_ink(prepared):
            return np.zeros((0, self.codec.outputs), np.float32)
        logits, _ = self.network(torch.from_numpy(normalize(prepared[None], self.spec)))
        log_probs = torch.log_softmax(logits, dim=2)[0]
        if not torch.isfinite(log_probs).all():
            raise RecognitionError(f"the model gave NaN scores{f' ({self.path.name})' if self.path else ''}")
        # the line decoder's bigram weighs little or nothing (casia's random rows): usage ranks a label's forms
        # (lines-dev unchanged; traditional renders: 合 read as 閤, 系 as 繫, 面 as 麵 without it)
        folding = self.ranker.folding(script, by_usage=True)
        if folding.identity:
            return log_probs.cpu().numpy()
        folded = folding.fold_frames(np.exp(log_probs.cpu().numpy().astype(np.float64)))
        return np.log(np.maximum(folded, 1e-30)).astype(np.float32)

    def evidence(self, sample: Ink | np.ndarray, script: str, reread: bool = True,
                 alternatives: int = 10) -> LineReading:
        """What a line shows before any language: its frames' log-probabilities, and for an image whose characters
        stand apart on paper (raster.line_pieces_on_paper, cut where a plain beam's characters part), each
        character read alone, as the single box reads it: its ``alternatives`` (class, probability), best first.
        None for ink, for a line of one character, for touching characters (real names on forms: cuts through
        them break them, lines-dev names 17.1% CER by frames, 31.6% re-read everywhere) and with ``reread=False``."""
        log_probs = self.log_probs(sample, script)
        if len(log_probs) == 0:
            return LineReading(log_probs, None, ())
        best_path = ctc.greedy(log_probs)  # the name-start length and greedy decoding (an argmax, no search)
        if isinstance(sample, Ink) or not reread:
            return LineReading(log_probs, None, (), best_path)
        # an image to cut is parted where a plain beam's best string parts its characters: the best path parts
        # lines-dev's casia lines alike on 298 of 300, and reading the other two from it cost one line (re-read+lm
        # CER 16.44% -> 16.53%). The pieces are then decoded, not the frames again.
        plain = next((d for d in ctc.beam_search(log_probs, 10) if d.labels), None)
        # one character: nothing to cut, and the box's reading of it lost to the frames' (lines-dev names: 李 -> 1,
        # 付 -> 休; CER 10.60 -> 10.41% without them, casia unchanged)
        if plain is None or len(plain.labels) < 2:
            return LineReading(log_probs, None, (), best_path)
        pieces = line_pieces_on_paper(gray_image(sample), self.spec,
                                      ctc.cut_columns(plain.spans, self.network.frame_stride))
        if pieces is None:
            return LineReading(log_probs, None, (), best_path)
        batch = np.stack([prepare_image(piece, self.spec) for piece in pieces])
        probs, features = self.characters.probabilities(batch)
        # a line's positions are decoded from these: look-alikes are for the single box's candidate list
        probs = self.ranker.scores(probs, RankingOptions(script, prior=False, look_alikes=False), features,
                                   self.personal())
        values, indices = probs.topk(min(alternatives, len(self.labels)), dim=1)
        return LineReading(log_probs, [list(zip(row_i, row_v)) for row_v, row_i in zip(values.tolist(),
                                                                                     indices.tolist())],
                           plain.spans, best_path)

    # --- the language side --------------------------------------------------------------------------------------------
    def language_model(self, context: str, script: str):
        """(lm(prev, c), the class written before the line or -1) for hwime.decode.beam_search, in ``script``."""
        language = self.ranker.language(script)
        labels = self.ranker.language_keys(script)
        mix = self.mix

        def lm(prev: int, c: int) -> float:
            return language.next_log_prob(labels[prev] if prev >= 0 else "", labels[c], mix)

        return lm, self.codec.index.get(context[-1:], -1) if context else -1

    def start_model(self, weight: float, share: float, script: str):
        """c -> ``weight`` · how much likelier a line starts with c when it is a name with probability ``share``
        (Language.name_start_log_ratio); None where either is 0."""
        if weight <= 0 or share <= 0:
            return None
        language, labels = self.ranker.language(script), self.ranker.language_keys(script)
        return lambda c: weight * language.name_start_log_ratio(labels[c], share)

    def name_start(self, context: str, length: int, weights: LineWeights, script: str):
        """start_model where a line of ``length`` characters after ``context`` may be a name, else None."""
        if context or length > NAME_MAX_CHARS:
            return None
        return self.start_model(weights.start, weights.name_share, script)

    def decode_frames(self, log_probs: np.ndarray, beam: int, context: str, script: str, language: bool,
                      weights: LineWeights | None, best_path: ctc.Decoded | None = None) -> list:
        """The beam's strings (hwime.decode.Decoded, best first) for a line's frames, with the language side unless
        ``language=False``: the bigram after ``context``, and where the line may be a name (as long as one by its
        ``best_path``, read here when not given), the surnames at its start."""
        if not language:
            return ctc.beam_search(log_probs, beam)
        lm, first = self.language_model(context, script)
        weights = weights or self.weights
        written = len((best_path or ctc.greedy(log_probs)).labels)
        start = self.name_start(context, written, weights, script)
        return ctc.beam_search(log_probs, beam, lm, weights.lm, weights.bonus, first_prev=first, start=start)

    def decode(self, reading: LineReading, options: LineOptions, beam: int) -> list:
        """The evidence -> strings (hwime.decode.Decoded, best first): over the pieces where the line was cut (each
        character's alternatives, with the language side), else over the frames (greedy, or the beam). The pieces'
        strings carry no spans (see read)."""
        log_probs, pieces = reading.log_probs, reading.pieces
        if pieces is None:
            best_path = reading.best_path or ctc.greedy(log_probs)
            if options.decode == "greedy":
                return [best_path]
            return self.decode_frames(log_probs, beam, options.context, options.script, options.language,
                                      options.weights, best_path)
        choices = [[(k, float(np.log(max(p, 1e-12)))) for k, p in alts] for alts in pieces]
        if not (options.language and options.decode == "beam"):
            return [ctc.Decoded(labels, score, ()) for labels, score in ctc.position_beam(choices, beam)]
        lm, first = self.language_model(options.context, options.script)
        weights = options.weights or self.weights
        start = self.name_start(options.context, len(pieces), weights, options.script)
        strings = ctc.position_beam(choices, beam, lm, weights.lm, first, start)
        return [ctc.Decoded(labels, score, ()) for labels, score in strings]

    # --- the strings --------------------------------------------------------------------------------------------------
    def read(self, sample: Ink | np.ndarray, options: LineOptions) -> list[LineCandidate]:
        """The ``options.top`` best readings of a line, best first; [] for a blank one."""
        reading = self.evidence(sample, options.script, options.reread, options.alternatives)
        if len(reading.log_probs) == 0:
            return []
        found = self.decode(reading, options, min(max(options.beam, options.top), MAX_BEAM))
        found = [d for d in found if d.labels]
        if not found:  # frames that read as blank all along: nothing was written that can be offered
            return []
        alternatives = options.alternatives
        if reading.pieces is not None:  # every string has one character per piece: the spans it was cut at
            ranked = [ctc.Decoded(d.labels, d.score, reading.spans) for d in found]
            alts_of, best_spans = reading.pieces, reading.spans
        else:
            ranked, alts_of = self._rank(reading.log_probs, found, alternatives)
            best_spans = found[0].spans
        ranked = ranked[:options.top]
        shares = line_shares([d.score for d in ranked])
        out = []
        for d, share in zip(ranked, shares.tolist()):
            chars = []
            for pos, (c, span) in enumerate(zip(d.labels, d.spans)):
                alts = (alts_of[pos] if d.spans is best_spans
                        else ctc.span_alternatives(reading.log_probs, span, alternatives))
                own = next((p for k, p in alts if k == c), 0.0)
                chars.append(tuple([Candidate(self.labels[c], own)] +
                                   [Candidate(self.labels[k], p) for k, p in alts if k != c][: alternatives - 1]))
            out.append(LineCandidate(self.codec.decode(d.labels), float(share), tuple(chars), d.spans))
        return sorted_line_candidates(out)

    @staticmethod
    def _rank(log_probs: np.ndarray, found: list, alternatives: int) -> tuple[list, list]:
        """The beam's strings in the order a writer wants them, and the best string's alternatives per position.
        The beam's runners-up are mostly the best string with a character dropped; what a writer wants second is
        the best string with one character read otherwise: those come first, scored by what that position says."""
        best = found[0]
        alts_of = [ctc.span_alternatives(log_probs, span, alternatives) for span in best.spans]
        variants = []
        for pos, (c, alts) in enumerate(zip(best.labels, alts_of)):
            own = next((p for k, p in alts if k == c), 0.0)
            for k, p in alts[:3]:
                if k != c and p > 0.01 and own > 0:
                    labels = best.labels[:pos] + (k,) + best.labels[pos + 1:]
                    variants.append(ctc.Decoded(labels, best.score + float(np.log(p / own)), best.spans))
        same = [d for d in found[1:] if len(d.labels) == len(best.labels)]
        others = [d for d in found[1:] if len(d.labels) != len(best.labels)]
        ranked, seen = [], set()
        for d in [best] + sorted(same + variants, key=lambda d: -d.score) + others:
            if d.labels not in seen:
                seen.add(d.labels)
                ranked.append(d)
        return ranked, alts_of

    def ink_parts(self, ink: Ink, spans: Sequence[tuple[int, int]]) -> list[Ink]:
        """The strokes under each character of a line read from ``ink`` (its frame spans): each stroke goes to the
        character whose frames its horizontal centre falls in, cut halfway between neighbours."""
        if not spans:
            return []
        cuts = ctc.cut_columns(spans, self.network.frame_stride)
        bounds = line_column_to_ink_x(ink, self.spec, np.array(cuts)) if cuts else np.array([])
        parts: list[list] = [[] for _ in spans]
        for stroke in ink.strokes:
            centre = (float(stroke[:, 0].min()) + float(stroke[:, 0].max())) / 2
            parts[int(np.searchsorted(bounds, centre))].append(stroke)
        return [Ink(tuple(p)) for p in parts]
