"""Ranking: the network's probabilities -> the scores candidates are ordered and reported by. Here and only here.

    score(c) = log p_model(c | image) + λ · log p_usage(c | context) + personal(c | image)

over the labels folded into the writer's script (hwime.script.Folding), where p_usage is the language table's
usage prior, mixed with the bigram after the last character written (β) when a context is given (hwime.language),
and personal is the bonus of the writer's own samples of c (hwime.personal; zero for characters they never taught).
The order is by that score; a Candidate reports softmax(score / T) (``calibrated``), which keeps the order and makes
a 0.9 right about 9 times in 10 on the dev sets. Without T (1) it is the plain renormalized score.

A label that is no Han character (digits, Latin, punctuation; in *both* also kana and symbols) is offered only where
its score is at least ``symbol_floor`` of the first candidate's (``offered``): a 9 or a 。 the shape makes likely
stays, the faint 。 among a complex character's runners-up makes room for the next character.

The bundle's values are a frozen RankingValues; what changes per call (script, context, the prior on or off) is a
frozen RankingOptions: nothing here is a switch someone flips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from .bundle import LabelCodec
from .script import Folding, check_script, convert, forms, is_han

DEFAULT_CONTEXT_MIX = 0.3
# a symbol's least score, as a share of the first candidate's, to be offered (measured:
# training/reports/hwime-all/notes.md, "Symbols among the characters")
SYMBOL_FLOOR = 0.01


@dataclass(frozen=True)
class Candidate:
    char: str
    score: float  # calibrated probability, 0..1: softmax(score / T), see ``Ranker.calibrated``


@dataclass(frozen=True)
class RankingValues:
    """The bundle's ranking values (hwime.bundle.check_ranking_values bounds them)."""

    prior_weight: float = 0.0  # λ; 0 = the model alone
    context_mix: float = DEFAULT_CONTEXT_MIX  # β
    score_temperature: float = 1.0  # T; 1 = the scores as ranked
    symbol_floor: float = SYMBOL_FLOOR

    @classmethod
    def from_metadata(cls, meta: dict) -> "RankingValues":
        return cls(float(meta.get("prior_weight", 0.0)), float(meta.get("context_mix", DEFAULT_CONTEXT_MIX)),
                   float(meta.get("score_temperature", 1.0)), float(meta.get("symbol_floor", SYMBOL_FLOOR)))


@dataclass(frozen=True)
class RankingOptions:
    """What one call ranks with: the writer's ``script``, the ``context`` written just before, the usage prior
    (``prior``) at weight ``weight`` (None: the bundle's λ; set only to choose λ)."""

    script: str
    context: str = ""
    prior: bool = True
    weight: float | None = None
    look_alikes: bool = True  # the first readings lend to the characters that look like them (lend_to_look_alikes)


class PersonalTerm(Protocol):
    """What the writer taught (hwime.personal.Prototypes): a log-score bonus per class for the pass's features."""

    def __len__(self) -> int: ...

    def bonus(self, features: np.ndarray) -> np.ndarray: ...

    def doubtful(self) -> np.ndarray: ...  # (classes,) bool: one sample alone, a label the network did not read


# The writer's samples reorder what the network offers; they do not bring in what it does not: a character taught is
# lifted only where it is among the first PERSONAL_WITHIN readings of the drawing before the bonus. Without this,
# after a Tegaki writer's 152 samples of 38 characters, 1,337 of 3,331 other characters' lists (Tomoe templates) held
# a learned character they did not hold before (a newcomer: two picks of 人 put 人 under 王 三 二 一 上); within the
# first 10, one did, for the same top-1, and CASIA's errors cut at 2 samples went 38.5% -> 38.3% (`adaptation`;
# training/reports/hwime-all/notes.md, "Learning the writer").
PERSONAL_WITHIN = 10


def within_first(base: torch.Tensor, bonus: torch.Tensor, first: int = PERSONAL_WITHIN) -> torch.Tensor:
    """The writer's bonus (N, classes) where the class is among the row's ``first`` readings by ``base`` (the model's
    and the language's log-scores), 0 elsewhere."""
    kth = base.topk(min(first, base.shape[1]), dim=1).values[:, -1:]
    return torch.where(base >= kth, bonus, torch.zeros_like(bonus))


def doubted_bonus(base: torch.Tensor, bonus: torch.Tensor, doubtful: torch.Tensor) -> torch.Tensor:
    """The writer's bonus (N, classes) as it enters the ranking, over ``base`` (N, classes; the model's and the
    language's log-scores). A character taught by one doubtful sample alone (``doubtful``, (classes,) bool: see
    hwime.personal.Prototypes.doubtful) gets its bonus times the doubt left by every other reading: 1 − q, q the
    highest probability another character has from the model, the language and the writer's other samples. One slip
    (key 0 by accident: 一 for a drawing of 日) then never outweighs a confident reading of something else on later
    日s, yet still decides among readings the network is unsure of; a second sample of the character lifts the
    doubt."""
    if not bool(doubtful.any()):
        return bonus
    settled = torch.where(doubtful, torch.zeros_like(bonus), bonus)
    probs = torch.softmax(base + settled, dim=1)
    top2 = probs.topk(2, dim=1)
    # the best reading other than the character itself: the first's rival is the second
    other = torch.where(torch.arange(probs.shape[1]) == top2.indices[:, :1], top2.values[:, 1:2], top2.values[:, :1])
    return torch.where(doubtful, bonus * (1 - other), bonus)


# Look-alikes (issue 38 item 5): a clean 口 is read with little confidence (the network also sees 。 O 0 in a box drawn
# alone), and its runners-up were punctuation and unrelated complex characters. The first readings lend some of their
# score to the characters that look like them, in proportion to the network's doubt, so 日 曰 回 田 come before
# 。 and 钴; a confident reading lends almost nothing, and the first reading always stays first.
LOOK_ALIKE_FLOOR = 0.45  # cosine of two head rows below which the characters do not look alike
LOOK_ALIKE_NEIGHBOURS = 6  # look-alikes kept per character: the network's own runners-up keep the other places
LOOK_ALIKE_SOURCES = 1  # the first reading alone lends (a symbol first lends to symbols only)
LOOK_ALIKE_WEIGHT = 1.0  # what a reading lends a perfect look-alike, as a share of its own score times the doubt
LOOK_ALIKE_GATE = 0.5  # only a row whose first reading is at most this probable lends: a simple shape's doubt
KEPT = 10  # the candidates of the first's kind a look-alike never passes (the bar's first row)
OFFER_SLACK = 24  # readings past ``top`` that rank looks through for the characters that faint symbols make room for


class LookAlikes:
    """Which labels look like which, from the network's own last layer: a class's row is the direction its
    drawings' features point in, so rows close in angle are characters drawn alike (口: 匚 日 回 目 曰 田; 、: ，。.).
    Each class's neighbours are found the first time it lends and kept."""

    def __init__(self, rows: np.ndarray, floor: float = LOOK_ALIKE_FLOOR, neighbours: int = LOOK_ALIKE_NEIGHBOURS):
        rows = np.asarray(rows, np.float32)
        self.unit = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-6)
        self.floor, self.neighbours = floor, neighbours
        self._near: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.kinds: np.ndarray | None = None  # (classes,) int: a look-alike is of its source's kind
        self.receives: np.ndarray | None = None  # (classes,) bool: which classes may be lent to

    def restrict(self, kinds: np.ndarray, receives: np.ndarray) -> None:
        """Lend only within a kind (characters to characters, symbols to symbols: a box drawn alone is no 0) and to
        classes that ``receive`` (the rows of rare characters the head never learned from writing crowd together
        near everything: 薉 嬐 瓡 are no one's look-alikes)."""
        self.kinds, self.receives = np.asarray(kinds), np.asarray(receives, bool)
        self._near.clear()

    def near(self, cls: int) -> tuple[np.ndarray, np.ndarray]:
        """(classes, weights in (0, 1]) that look like ``cls``, the weight rising from the floor's cosine to 1."""
        if cls not in self._near:
            sims = self.unit @ self.unit[cls]
            if self.kinds is not None:
                sims[(self.kinds != self.kinds[cls]) | ~self.receives] = -1.0
            sims[cls] = -1.0
            k = min(self.neighbours, len(sims) - 1)
            top = np.argpartition(-sims, k)[:k]
            top = top[sims[top] > self.floor]
            if len(top):  # mutual: cls is among each one's own nearest too (a hub near everything is no look-alike)
                theirs = self.unit[top] @ self.unit.T
                theirs[np.arange(len(top)), top] = -1.0
                top = top[(theirs > theirs[:, [cls]]).sum(axis=1) < k]
            self._near[cls] = (top, ((sims[top] - self.floor) / (1 - self.floor)).astype(np.float32))
        return self._near[cls]


def lend_to_look_alikes(log: torch.Tensor, probs: torch.Tensor, looks: LookAlikes,
                        weight: float = LOOK_ALIKE_WEIGHT, sources: int = LOOK_ALIKE_SOURCES,
                        gate: float = LOOK_ALIKE_GATE, answered: np.ndarray | None = None) -> torch.Tensor:
    """Ranking log-scores (N, classes) over the model's folded probabilities ``probs`` -> the same with each row's
    first ``sources`` readings (in the log-scores' order) lending weight · doubt · p(reading) · closeness to the
    characters that look like them, where doubt = 1 − p(the first reading), as a share of all the model read where
    ``answered`` (N,) gives the share of its probability the script answers (a clean 口 is □ at 0.98 to the network,
    a symbol the simplified script does not answer: 口 is first only as what is left). log p becomes log(p + lent). A
    lifted character stays below the row's first, which is never displaced, and below every reading among the first
    KEPT of the first's kind (a character under a character): it takes the places of symbols only, which go after
    it."""
    if weight <= 0 or sources < 1:
        return log
    # a row lends only when its first reading is doubtful and a character (a symbol first, a - that may be 一, lends
    # nothing: characters under it keep their places); most rows are sure of themselves and cost nothing more
    # the first readings as the row ranks them (the usage prior included: a clean 口 is 0 to the model once its □ is
    # left out, and 口 first only with the prior)
    rows = probs.numpy()
    order = (log.numpy().argmax(axis=1)[:, None] if sources == 1
             else log.topk(min(sources, log.shape[1]), dim=1).indices.numpy())
    first = order[:, 0]
    first_p = rows[np.arange(len(rows)), first] * (1.0 if answered is None else np.asarray(answered, np.float32))
    lends = (first_p < 1) & (first_p <= gate)
    if looks.kinds is not None:
        lends &= looks.kinds[first] == 0
    if not lends.any():
        return log
    lent = torch.zeros_like(probs)
    for r in np.flatnonzero(lends).tolist():
        for cls in order[r].tolist():
            idx, w = looks.near(cls)
            if len(idx):
                share = weight * float(1 - first_p[r]) * float(rows[r, cls])
                lent[r, torch.from_numpy(idx)] += share * torch.from_numpy(w)
    if not bool((lent > 0).any()):  # the doubtful first readings have no look-alikes: nothing moves
        return log
    raised = log + torch.log1p(lent / probs.clamp_min(1e-12))
    # a look-alike is lifted past what the row offers that is of no use (symbols under a character) and never past a
    # reading of the first's kind among the first ``KEPT``: a right answer there, rare characters too, stays where
    # it was (passing characters unknown to the language table cost casia and tegaki a top-10 sample each)
    ceiling = log.max(dim=1, keepdim=True).values.clone()
    useless = torch.zeros_like(log, dtype=torch.bool)
    if looks.kinds is not None:
        order = log.topk(min(KEPT, log.shape[1]), dim=1).indices
        for r in range(len(log)):
            if not bool((lent[r] > 0).any()):
                continue
            first = int(order[r, 0])
            same = torch.from_numpy(looks.kinds == looks.kinds[first])
            kept = [int(j) for j in order[r] if same[j]]
            ceiling[r] = log[r, kept].min()
            useless[r] = ~same
    ceiling = ceiling - 1e-4 * ceiling.abs().clamp_min(1.0)
    out = torch.where(lent > 0, torch.minimum(raised, ceiling).maximum(log), log)
    # what is of no use goes after the look-alikes (never above where it was)
    lowest = torch.where(lent > 0, out, torch.full_like(out, float("inf"))).min(dim=1, keepdim=True).values
    floor = lowest - 1e-4 * lowest.abs().clamp_min(1.0)
    return torch.where(useless & torch.isfinite(floor), torch.minimum(out, floor), out)


# A stroke drawn alone (issue 38 item 5): the network met 丿 in few drawings and reads a lone one as the symbols it
# resembles, ) ノ / J, so it was offered nowhere (Make Me a Hanzi's 丿: ")" 0.78 by the model, 丿 below the first 200).
# In a Chinese pad a writer may mean either: the stroke is offered at half the likeliest of them, below a symbol the
# network is sure of (")" stays first) and above the characters the shape only half resembles.
STROKE_SYMBOLS = {"丿": ")）/／ノ"}
STROKE_SHARE = 0.5


def raise_strokes(folded: torch.Tensor, probs: torch.Tensor, strokes: list[tuple[int, np.ndarray]]) -> torch.Tensor:
    """Folded probabilities (N, classes) on the CPU, changed in place and returned, with each stroke's column raised
    to STROKE_SHARE of its symbols' likeliest in the model's own ``probs`` (the symbols may be unanswered in the
    script); ``strokes`` are (stroke, symbols) columns. Unchanged where a stroke reads likelier as itself."""
    rows, model = folded.numpy(), probs.numpy()  # a few columns: numpy's small-array speed
    for stroke, symbols in strokes:
        np.maximum(rows[:, stroke], STROKE_SHARE * model[:, symbols].max(axis=1), out=rows[:, stroke])
    return folded


# A tap (a pen put down and lifted where it was) is drawn as a disc and squared up to fill the box like any ink, so
# the network saw 口 O 0 in it; what a writer taps is a dot: these come first, in the network's order among them.
DOTS = "、。丶·．.，,"


def dots_first(scores: torch.Tensor, taps: np.ndarray, dots: torch.Tensor) -> torch.Tensor:
    """Scores (N, classes) with each tap row's ``dots`` (classes,) bool lifted above everything else (their order
    among themselves kept), renormalized; the other rows as they were."""
    rows = torch.from_numpy(np.asarray(taps, bool))
    if not bool(rows.any()) or not bool(dots.any()):
        return scores
    lifted = torch.where(dots, scores + 1.0, scores)
    lifted = lifted / lifted.sum(dim=1, keepdim=True)
    return torch.where(rows[:, None], lifted, scores)


class Ranker:
    """The ranking terms over one codec's labels, with the per-script tables built once and kept."""

    def __init__(self, codec: LabelCodec, values: RankingValues):
        self.codec = codec
        self.labels = list(codec.labels)
        self.values = values
        self.symbols = torch.tensor([not is_han(ch) for ch in self.labels])  # digits, Latin, punctuation, kana, …
        self._symbol_list = self.symbols.tolist()  # the offer's floor reads a few dozen labels as Python values
        self._foldings: dict[tuple[str, bool], Folding] = {}
        self._log_priors: dict[str, np.ndarray] = {}
        self._keys: dict[str, list[str]] = {}
        self.look_alikes: LookAlikes | None = None  # from the network's head (the Recognizer sets it)
        index = codec.index
        self._strokes = [(index[stroke], np.array([index[c] for c in symbols if c in index]))
                         for stroke, symbols in STROKE_SYMBOLS.items()
                         if stroke in index and any(c in index for c in symbols)]
        self._answered_strokes: dict[str, list[tuple[int, np.ndarray]]] = {}
        self._weighted_priors: dict[tuple[str, float], torch.Tensor] = {}
        self._unanswered_add: dict[str, torch.Tensor] = {}

    # --- the script and the language side ----------------------------------------------------------------------------
    def folding(self, script: str, by_usage: bool = False) -> Folding:
        """Which labels answer in ``script`` and where the others' probability goes; ``by_usage``: a label with
        several forms splits by their usage (for lines, see Folding)."""
        key = (script, by_usage)
        if key not in self._foldings:
            usage = np.exp(self.usage_log_prior("", script)) if by_usage and script != "both" else None
            self._foldings[key] = Folding(self.labels, script, usage)
        return self._foldings[key]

    @staticmethod
    def language(script: str):
        """The language side in ``script`` (hwime.language: "both" reads the simplified table)."""
        from .language import load_language

        return load_language(script=script)

    def language_keys(self, script: str) -> list[str]:
        """Each label as the language table of ``script`` knows it: itself, or in "both" its simplified form."""
        if script != "both":
            return self.labels
        if "both" not in self._keys:
            self._keys["both"] = [forms(c, "simplified")[0] for c in self.labels]
        return self._keys["both"]

    def usage_log_prior(self, context: str, script: str) -> np.ndarray:
        """log p_usage(c | context) for every label in ``script`` (hwime.language)."""
        script = check_script(script)
        if not context and script in self._log_priors:  # every reading with nothing written before
            return self._log_priors[script]
        language = self.language(script)
        if script == "both":
            context = convert(context, "simplified")  # "both" reads the simplified table
        if not context:
            self._log_priors[script] = language.log_prior(self.language_keys(script))
            return self._log_priors[script]
        return language.log_context(self.language_keys(script), context, self.values.context_mix)

    # --- the terms ---------------------------------------------------------------------------------------------------
    def scores(self, probs: torch.Tensor | np.ndarray, options: RankingOptions, features: np.ndarray | None = None,
               personal: PersonalTerm | None = None) -> torch.Tensor:
        """Model probabilities (N, classes) -> the combined, renormalized scores (N, classes) on the CPU, folded
        into the script (a label not answered there scores 0); ``features`` (the same pass's) bring in ``personal``."""
        folded, log = self._terms(probs, options, features, personal)
        return folded if log is None else torch.softmax(log, dim=1)

    def _terms(self, probs: torch.Tensor | np.ndarray, options: RankingOptions, features: np.ndarray | None,
               personal: PersonalTerm | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(the model's probabilities folded into the script, the terms' combined log-scores before renormalizing,
        -inf where the script does not answer); the log-scores are None where no term but the model's applies."""
        script = check_script(options.script)
        folding = self.folding(script)
        probs = torch.as_tensor(probs, dtype=torch.float32).cpu()
        scores = folding.fold(probs, normalize=False)
        answered = scores.sum(dim=1, keepdim=True)  # the share of the model's reading the script answers
        scores = scores / answered.clamp_min(1e-30)
        if options.look_alikes:  # what the single box offers; a search decodes the network's own readings
            if script not in self._answered_strokes:
                self._answered_strokes[script] = [(t, f) for t, f in self._strokes
                                                  if folding.answered is None or folding.answered[t]]
            scores = raise_strokes(scores, probs, self._answered_strokes[script])
        lam = self.values.prior_weight if options.weight is None else options.weight
        log = None
        if options.prior and lam > 0:
            log = torch.log(scores.clamp_min(1e-12)) + self._weighted_prior(options.context, script, lam)
        if features is not None and personal is not None and len(personal):
            base = log if log is not None else torch.log(scores.clamp_min(1e-12))
            bonus = folding.fold_bonus(torch.from_numpy(personal.bonus(features)))
            bonus = within_first(base, bonus)
            doubtful = folding.fold_bonus(torch.from_numpy(personal.doubtful()[None].astype(np.float32)))[0] > 0
            log = base + doubted_bonus(base, bonus, doubtful)
        if options.look_alikes and self.look_alikes is not None:
            if self.look_alikes.kinds is None:
                # a character known to the language table (either script) may be lent to; a symbol always
                usage = self.usage_log_prior("", "both")
                symbols = self.symbols.numpy()
                self.look_alikes.restrict(symbols.astype(np.int8), (usage > usage.min()) | symbols)
            log = lend_to_look_alikes(log if log is not None else torch.log(scores.clamp_min(1e-12)), scores,
                                      self.look_alikes, answered=answered[:, 0].numpy())
        if log is not None and not folding.identity:  # what the script does not answer stays at 0, whatever the
            log = log + self._unanswered(script)  # prior says
        return scores, log

    def _weighted_prior(self, context: str, script: str, lam: float) -> torch.Tensor:
        """λ · log p_usage(c | context) as a tensor; with nothing written before, made once per script and λ."""
        if context:
            return lam * torch.from_numpy(self.usage_log_prior(context, script))
        key = (script, lam)
        if key not in self._weighted_priors:
            self._weighted_priors[key] = lam * torch.from_numpy(self.usage_log_prior("", script))
        return self._weighted_priors[key]

    def _unanswered(self, script: str) -> torch.Tensor:
        """(classes,) 0 where ``script`` answers, -inf elsewhere: added to log-scores (finite), it sets what the
        script does not answer to -inf and leaves the rest exactly as they were."""
        if script not in self._unanswered_add:
            answered = self.folding(script).answered
            self._unanswered_add[script] = torch.from_numpy(np.where(answered, np.float32(0), np.float32(-np.inf)))
        return self._unanswered_add[script]

    def dots(self, script: str) -> torch.Tensor:
        """(classes,) bool: the dot-like labels (DOTS) the script answers."""
        answered = self.folding(script).answered
        mask = np.zeros(len(self.labels), bool)
        for ch in DOTS:
            i = self.codec.index.get(ch)
            if i is not None and (answered is None or answered[i]):
                mask[i] = True
        return torch.from_numpy(mask)

    def offered(self, scores: torch.Tensor, floor: float | None = None) -> torch.Tensor:
        """Ranking scores (N, classes) with each symbol below ``floor`` (default the bundle's) times its row's first
        score moved below every character (-1), so it is offered only once the characters run out. Where a symbol is
        first, symbols are being written (l, 1, I, 丨 look alike): the row is left as it is."""
        floor = self.values.symbol_floor if floor is None else float(floor)
        if floor <= 0:
            return scores
        first, where = scores.max(dim=1, keepdim=True)
        unlikely = self.symbols & (scores < floor * first) & ~self.symbols[where]
        return scores.masked_fill(unlikely, -1.0)

    def calibrated(self, scores: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """Ranking scores (N, classes) -> the probabilities candidates report: softmax(log score / T) with the
        bundle's T (or ``temperature``). Monotone in the score, so the order stays the ranking's; a label the
        script does not answer (0) stays 0."""
        t = self.values.score_temperature if temperature is None else float(temperature)
        if t == 1.0:
            return scores
        # float64: at T > 1 a runner-up's share comes from log-scores far below the first's
        return torch.softmax(torch.log(scores.double()) / t, dim=1).float()

    def rank(self, probs: torch.Tensor | np.ndarray, top: int, options: RankingOptions,
             features: np.ndarray | None = None, personal: PersonalTerm | None = None,
             taps: np.ndarray | None = None) -> list[list[Candidate]]:
        """Model probabilities (N, classes) -> the ``top`` candidates of each row, best first; ``taps`` (N,) bool:
        the rows that are a tap of the pen, read as a dot (dots_first)."""
        if top < 1:
            raise ValueError(f"top must be at least 1, got {top}")
        folded, log = self._terms(probs, options, features, personal)
        top = min(top, len(self.labels))
        if log is not None and (taps is None or not np.any(taps)):
            picked = self._top_from_log(log, top)
            if picked is not None:
                return self._candidates(*picked)
        scores = folded if log is None else torch.softmax(log, dim=1)
        if taps is not None:
            scores = dots_first(scores, taps, self.dots(options.script))
        # the order is the ranking scores' own; only what each candidate reports is calibrated
        indices = self.offered(scores).topk(top, dim=1).indices
        return self._candidates(self.calibrated(scores).gather(1, indices), indices)

    def _top_from_log(self, log: torch.Tensor, top: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """What ``rank`` offers, read from the terms' log-scores (N, classes) without renormalizing every class
        twice: the order of softmax(log) is log's own, a symbol's floor is a difference of logs, and the calibrated
        softmax(log softmax(log) / T) is softmax(log / T), so only the offered labels' values are taken out of it.
        The floor is applied to the first few dozen readings only, which hold the offer unless faint symbols crowd
        them out; then, and where the offer runs into labels the script does not answer, None: rank's plain path."""
        values, indices = log.topk(min(top + OFFER_SLACK, log.shape[1]), dim=1)
        firsts = values[:, :1].numpy()
        floor = self.values.symbol_floor
        # a few dozen readings per row, as Python numbers: right after the pass, numpy's and torch's calls on so few
        # cost more than the work
        limits = (firsts + np.log(floor)).ravel().tolist() if floor > 0 else [None] * len(firsts)
        symbols = self._symbol_list
        chosen = []
        for row_v, row_i, limit in zip(values.tolist(), indices.tolist(), limits):
            kept = list(zip(row_v, row_i))
            # below the floor, a symbol goes after every character, unless a symbol is first (symbols are written)
            if limit is not None and not symbols[row_i[0]]:
                kept = [(v, j) for v, j in kept if not (symbols[j] and v < limit)]
                if len(kept) < top:
                    return None
            if not all(math.isfinite(v) for v, _ in kept[:top]):
                return None
            chosen.append([j for _, j in kept[:top]])
        indices = np.array(chosen, dtype=np.int64).reshape(len(chosen), top)
        rows = log.numpy()
        t = self.values.score_temperature
        scaled = rows - firsts
        if t != 1.0:
            scaled /= t
        # the offered labels' exponents apart: numpy's exponent of a short array can differ in the last bit from a
        # long one's, and the scores people see stay as they were
        numerators = np.exp(np.take_along_axis(scaled, indices, axis=1))
        shares = numerators / np.exp(scaled, out=scaled).sum(axis=1, keepdims=True)
        return torch.from_numpy(shares), torch.from_numpy(indices)

    def _candidates(self, values: torch.Tensor, indices: torch.Tensor) -> list[list[Candidate]]:
        return [[Candidate(self.labels[j], float(v)) for v, j in zip(row_v, row_i)]
                for row_v, row_i in zip(values.tolist(), indices.tolist())]
