"""The language side of ranking: how often people write a character, what follows what, and continuations.

One compact table in assets/ (``zh-words.tsv.gz``, built by ``python -m hwime.training wordlist`` from the word
list of the jieba package, MIT licence, JIEBA-LICENSE.txt beside it): a ``#chars`` section of character counts
(every occurrence in the word list, weighted by the word's frequency), a ``#words`` section of words of two or
more characters with their frequencies, and a ``#surnames`` section (how many of the word list's personal names,
jieba's ``nr`` tag, start with each character). From it:

- ``log_prior(labels)``: log p(c), the usage prior the Recognizer adds with the bundle's weight λ;
- ``log_context(labels, context)``: log of p(c) interpolated with p(c | the last character written), the bigram
  read inside words, so the prior follows what was just sent;
- ``continuations(context)``: words and characters that usually follow (联想), best first;
- ``name_start_log_ratio(ch, share)``: how much likelier a line starts with ``ch`` when it may be a name (forms,
  addresses, signatures) than when it is ordinary text.

The table is simplified Chinese; ``load_language(script="traditional")`` is the same table in traditional
characters (``Language.converted``: OpenCC's phrase conversion, hwime.script), so a traditional writer after 中 is
offered 國 and 頭 makes 髮 likely, and a character's usage is not zero because the word list is simplified.

No Qt, no torch: numpy and the standard library, loaded once and cached.
"""

from __future__ import annotations

import gzip
import math
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .bundled import asset_gone, asset_path

WORDS_FILE = "zh-words.tsv.gz"
FLOOR_COUNT = 0.5  # a label the table never saw (Latin letters, rare characters) counts as half an occurrence


class LanguageError(RuntimeError):
    """The language table is missing or unreadable; the message names the file."""


@dataclass(frozen=True)
class Suggestion:
    text: str  # what picking it sends: one character or a whole word
    score: float  # share of the continuations of this context, 0..1
    word: str = ""  # the whole word it completes (context + text), for display

    @property
    def char(self) -> str:  # the candidate bar shows choices by ``char``
        return self.text


class Language:
    def __init__(self, char_counts: dict[str, float], words: list[tuple[str, float]],
                 surnames: dict[str, float] | None = None):
        self.char_counts = char_counts
        self.surnames = dict(surnames or {})
        self._surname_total = float(sum(self.surnames.values())) or 1.0
        self.total = float(sum(char_counts.values())) or 1.0
        self.words = words
        self._following: dict[str, dict[str, float]] = {}  # prev char -> next char -> weight
        for word, freq in words:  # the file lists words most frequent first
            for a, b in zip(word, word[1:]):
                row = self._following.setdefault(a, {})
                row[b] = row.get(b, 0.0) + freq

    # --- loading -------------------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | Path) -> "Language":
        path = Path(path)
        chars: dict[str, float] = {}
        words: list[tuple[str, float]] = []
        surnames: dict[str, float] = {}
        section = None
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                for number, line in enumerate(fh, start=1):
                    line = line.rstrip("\n")
                    if line.startswith("#"):
                        section = line
                        continue
                    text, _, count = line.partition("\t")
                    if not text or not count:
                        continue
                    value = float(count)
                    if not math.isfinite(value) or value < 0:
                        raise ValueError(f"line {number}: bad count {count!r}")
                    if section == "#chars" and len(text) == 1:
                        chars[text] = value
                    elif section == "#words" and len(text) >= 2:
                        words.append((text, value))
                    elif section == "#surnames" and len(text) == 1:
                        surnames[text] = value
        except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
            raise LanguageError(f"{path}: unreadable language table ({exc})") from None
        if not chars:
            raise LanguageError(f"{path}: no #chars section")
        return cls(chars, words, surnames)

    def converted(self, convert: Callable[[str], str]) -> "Language":
        """The same table in another script: each word converted as a phrase (头发 → 頭髮, 发展 → 發展), and each
        character's count shared among its forms as the converted words share it (发 → 發 mostly, 髮 in 头发)."""
        converted = convert("\n".join(w for w, _ in self.words)).split("\n")
        if len(converted) != len(self.words):  # a conversion that joined or split lines: word by word instead
            converted = [convert(w) for w in self.words]
        words: dict[str, float] = {}
        split: dict[str, dict[str, float]] = {}
        for (word, freq), other in zip(self.words, converted):
            if len(other) != len(word):
                other = "".join(convert(c) or c for c in word)
            words[other] = words.get(other, 0.0) + freq
            for a, b in zip(word, other):
                row = split.setdefault(a, {})
                row[b] = row.get(b, 0.0) + freq
        chars: dict[str, float] = {}
        for c, n in self.char_counts.items():
            shares = split.get(c) or {(convert(c) or c)[0]: 1.0}
            total = sum(shares.values())
            for form, weight in shares.items():
                chars[form] = chars.get(form, 0.0) + n * weight / total
        surnames: dict[str, float] = {}
        for c, n in self.surnames.items():  # a surname is a name: 张 is 張, never another reading
            form = (convert(c) or c)[0]
            surnames[form] = surnames.get(form, 0.0) + n
        return Language(chars, sorted(words.items(), key=lambda kv: (-kv[1], kv[0])), surnames)

    # --- the usage prior and context ----------------------------------------------------------------------------
    def probability(self, ch: str) -> float:
        return max(self.char_counts.get(ch, 0.0), FLOOR_COUNT) / self.total

    def _for_labels(self, labels: Sequence[str]) -> tuple[np.ndarray, dict[str, int]]:
        key = tuple(labels)
        if getattr(self, "_cached_key", None) != key:
            self._cached_key = key
            self._cached = (np.array([self.probability(c) for c in labels], np.float64), {c: i for i, c in enumerate(labels)})
        return self._cached

    def log_prior(self, labels: Sequence[str]) -> np.ndarray:
        """log p(c) for each label, float32; labels the table lacks get a floor, not minus infinity."""
        return np.log(self._for_labels(labels)[0]).astype(np.float32)

    def log_context(self, labels: Sequence[str], context: str, mix: float) -> np.ndarray:
        """log((1 - mix) p(c) + mix p(c | last character of context)); the plain prior without a usable context."""
        prior, index = self._for_labels(labels)
        row = self._following.get(context[-1:]) if context else None
        if not row or mix <= 0:
            return np.log(prior).astype(np.float32)
        total = sum(row.values())
        bigram = np.zeros(len(prior))
        for c, weight in row.items():
            if c in index:
                bigram[index[c]] = weight / total
        return np.log((1 - mix) * prior + mix * bigram).astype(np.float32)

    def next_log_prob(self, prev: str, ch: str, mix: float) -> float:
        """log((1 - mix) p(ch) + mix p(ch | prev)) for one pair: the line decoder's language model (the same back-off
        as log_context, without building the vector over every label)."""
        prior = self.probability(ch)
        row = self._following.get(prev) if prev else None
        if not row or mix <= 0:
            return math.log(prior)
        totals = self.__dict__.setdefault("_row_totals", {})
        if prev not in totals:
            totals[prev] = sum(row.values())
        return math.log((1 - mix) * prior + mix * row.get(ch, 0.0) / totals[prev])

    def name_start_log_ratio(self, ch: str, share: float) -> float:
        """log((1 - share) + share · p(ch starts a name) / p(ch)): a line's first character, when the line is a name
        with probability ``share``, against the same line read as ordinary text (0 with no surnames or share 0).
        Bounded below by log(1 - share), the same for every character that starts no name, so a line of rare
        characters that is no name keeps the network's order (the mixture of the prior and the surnames this
        replaces took up to 10 nats from a rare first character: lines-dev casia 17.6% → 19.2% CER)."""
        if share <= 0 or not self.surnames:
            return 0.0
        if not 0 <= share < 1:
            raise ValueError(f"share must be from 0 to below 1, got {share}")
        return math.log((1 - share) + share * self.surnames.get(ch, 0.0) / self._surname_total / self.probability(ch))

    # --- continuations ------------------------------------------------------------------------------------------
    def _units(self) -> tuple[list[str], np.ndarray, dict[str, float], list[str]]:
        """What a writer writes one at a time, sorted for prefix look-ups: the table's words, and single characters
        used as words (a character's count less its occurrences inside the listed words: 了, 是, 的 …); the
        cumulative counts give the mass of every unit starting with a prefix in two bisections. Built on the first
        continuation (about 0.1 s), not at load."""
        cached = self.__dict__.get("_unit_index")
        if cached is not None:
            return cached
        units = dict(self.words)
        inside: dict[str, float] = {}
        for word, freq in self.words:
            for c in word:
                inside[c] = inside.get(c, 0.0) + freq
        for c, n in self.char_counts.items():
            alone = n - inside.get(c, 0.0)
            if alone > 0.01 * n:  # a character that is (almost) only ever part of words is no unit of its own
                units[c] = units.get(c, 0.0) + alone
        keys = sorted(units)
        cumulative = np.concatenate([[0.0], np.cumsum([units[k] for k in keys])])
        common = [k for k, _ in sorted(units.items(), key=lambda kv: (-kv[1], kv[0]))[:COMMON_UNITS]]
        self._unit_index = (keys, cumulative, units, common)
        return self._unit_index

    def _range(self, prefix: str) -> tuple[int, int]:
        keys = self._units()[0]
        return bisect_left(keys, prefix), bisect_left(keys, prefix + "\U0010ffff")

    def _mass(self, prefix: str) -> float:
        """How often what is written next starts with ``prefix`` (summed unit counts)."""
        lo, hi = self._range(prefix)
        cumulative = self._units()[1]
        return float(cumulative[hi] - cumulative[lo])

    def _context_weights(self, context: str) -> tuple[list[tuple[str, float]], float]:
        """The back-off over the context's tails: [(tail, weight per count)] and the weight of a new unit.

        The longest tail the table knows as the start of a unit (up to MAX_TAIL characters) is the word being
        written; with probability (its count as a whole unit) / (all units it starts) that word is complete and a
        new unit follows. A share β = distinct units / (distinct units + their count) (Witten-Bell) backs off to
        the next shorter tail, and past the shortest to a new unit: after 今天 it is 今天下午 or a new word, seldom
        天安门; 们 starts nothing, so 们 is followed by a new unit. The weights sum to 1, so do the probabilities."""
        _, cumulative, units, _ = self._units()
        levels: list[tuple[str, float]] = []
        fresh = 0.0
        remaining = 1.0
        for k in range(min(MAX_TAIL, len(context)), 0, -1):
            tail = context[-k:]
            lo, hi = self._range(tail)
            if hi <= lo:
                continue
            count = float(cumulative[hi] - cumulative[lo])
            beta = (hi - lo) / ((hi - lo) + count)
            weight = remaining * (1 - beta)
            levels.append((tail, weight / count))
            fresh += weight * units.get(tail, 0.0) / count
            remaining *= beta
        return levels, fresh + remaining

    def continuation_probability(self, context: str, text: str) -> float:
        """P(what is written after ``context`` starts with ``text``), in the back-off of ``continuations``."""
        if not context or not text:
            return 0.0
        return self._probability(self._context_weights(context), text)

    def _probability(self, weights: tuple[list[tuple[str, float]], float], text: str) -> float:
        levels, fresh = weights
        total = float(self._units()[1][-1]) or 1.0
        return sum(w * self._mass(tail + text) for tail, w in levels) + fresh * self._mass(text) / total

    def continuations(self, context: str, top: int = 10) -> list[Suggestion]:
        """What usually comes after ``context``, best first: next characters and — in up to a third of the places —
        the rest of a word, which goes out whole (中 offers 国, 心, 央 … and 华人民共和国).

        Continued from the longest tail of ``context`` the table knows (see ``_context_weights``): 今天 → 今天下午's
        下午 or the words that commonly come next, 我们 → a new word. A suggestion's score is the share of what is
        written next that it would be picked for: each possible continuation counts for the longest suggestion it
        starts with, so the scores are disjoint and sum to at most 1 (国 after 中 counts 中国家 … but not
        中华人民共和国, which 华人民共和国 takes)."""
        if not context or top < 1:
            return []
        keys, _, units, common = self._units()
        weights = self._context_weights(context)
        levels = weights[0]
        probability: dict[str, float] = {}

        def p(text: str) -> float:
            if text not in probability:
                probability[text] = self._probability(weights, text)
            return probability[text]

        chars: set[str] = set()
        wholes: dict[str, str] = {}  # a word's rest -> the whole word, for display
        for tail, _ in levels:  # each tail's likeliest next characters and word rests: only these are scored
            lo, hi = self._range(tail)
            scanned = keys[lo:hi] if hi - lo <= MAX_SCANNED else sorted(keys[lo:hi], key=lambda k: -units[k])[:MAX_SCANNED]
            starts: dict[str, float] = {}
            rests: list[tuple[float, str, str]] = []
            for key in scanned:
                rest = key[len(tail):]
                if rest:
                    starts[rest[0]] = starts.get(rest[0], 0.0) + units[key]
                    if len(rest) > 1:
                        rests.append((units[key], rest, key))
            chars.update(sorted(starts, key=lambda c: -starts[c])[: top + 5])
            for _, rest, key in sorted(rests, reverse=True)[:top]:
                wholes.setdefault(rest, key)
        for unit in common:  # a new unit
            chars.add(unit[0])
            if len(unit) > 1:
                wholes.setdefault(unit, unit)
        best_chars = sorted(chars, key=lambda c: (-p(c), c))[:top]
        words = [w for w in wholes if units.get(wholes[w], 0.0) > 0 and p(w) >= WORD_SHARE]
        best_words = sorted(words, key=lambda w: (-p(w), w))[: top // 3]
        pool = list(dict.fromkeys(best_words + best_chars))
        chosen = sorted(pool, key=lambda t: (-_share(t, pool, p), t))[:top]
        scored = sorted(((t, _share(t, chosen, p)) for t in chosen), key=lambda ts: (-ts[1], ts[0]))
        return [Suggestion(text, score, wholes.get(text, context[-1:] + text)) for text, score in scored if score > 0]


MAX_TAIL = 4  # characters of context that can be the start of the word being written
MAX_SCANNED = 3000  # units looked at per tail (中 starts about 1,300 of the table's; 一 more)
COMMON_UNITS = 60  # the most common units, looked at for what starts a new one
WORD_SHARE = 0.01  # a word's rest is offered whole when at least this share of what follows starts with it


def _share(text: str, chosen: Sequence[str], p: Callable[[str], float]) -> float:
    """P(text) less what longer suggestions in ``chosen`` take: each continuation counts for its longest
    suggestion."""
    longer = [t for t in chosen if len(t) > len(text) and t.startswith(text)]
    maximal = [t for t in longer if not any(len(u) < len(t) and t.startswith(u) for u in longer)]
    return max(0.0, p(text) - sum(p(t) for t in maximal))


def load_language(path: str | None = None, script: str = "simplified") -> Language:
    """The bundled table (or the one at ``path``) in ``script`` (simplified, traditional; "both" reads the
    simplified table), read and converted once per process."""
    from .script import check_script

    return _table(path, "traditional" if check_script(script) == "traditional" else "simplified")


@lru_cache(maxsize=4)
def _table(path: str | None, script: str) -> Language:
    from .script import convert

    if script == "traditional":
        return _table(path, "simplified").converted(lambda text: convert(text, "traditional"))
    if path is None and not asset_path(WORDS_FILE).is_file():  # the bundled table went away under a running pad
        raise asset_gone(WORDS_FILE)
    table = Language.read(path or asset_path(WORDS_FILE))
    _warm_script_tables()
    return table


def _warm_script_tables() -> None:
    """With the language table, the script's tables (hwime.script.warm): every file the ranking reads on first use,
    in every script, is then in memory. The pad's worker loads the language table right after its model (after
    Ready, in its own thread), so a stroke written after hwime was reinstalled under the pad (pip install -e takes
    the old package's files away) reads nothing from disk. Without opencc-python-reimplemented (or with a table gone)
    the tables are left to their first use, which says what is wrong as before: the language table still works."""
    from .script import ScriptError, warm

    try:
        warm()
    except (ScriptError, OSError):
        pass


load_language.cache_clear = _table.cache_clear  # a test or a bench that swaps the table file reads it afresh


def build_table(dict_lines: Iterable[str], out: str | Path, alphabet: set[str], max_words: int = 80_000) -> dict:
    """Write the compact table from jieba's dict.txt lines (``word freq pos``), keeping words whose characters are
    all in ``alphabet``, and each character's count as the first of a two- or three-character personal name (``nr``);
    returns counts for the record."""
    chars: dict[str, float] = {}
    words: dict[str, float] = {}
    surnames: dict[str, float] = {}
    for line in dict_lines:
        parts = line.split()
        if len(parts) < 2:
            continue
        word, freq = parts[0], float(parts[1])
        if not all(c in alphabet for c in word):
            continue
        for c in word:
            chars[c] = chars.get(c, 0.0) + freq
        if len(word) >= 2:
            words[word] = words.get(word, 0.0) + freq
        if len(parts) >= 3 and parts[2] == "nr" and 2 <= len(word) <= 3:  # counted per name: a name's frequency
            surnames[word[0]] = surnames.get(word[0], 0.0) + 1  # in prose says how famous, not how common its surname
    kept = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:max_words]
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    with gzip.open(partial, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write("# hwime language table: character counts, words with frequencies and surnames, from jieba's "
                 "dict.txt (MIT)\n")
        fh.write("#chars\n")
        for c, n in sorted(chars.items(), key=lambda kv: (-kv[1], kv[0])):
            fh.write(f"{c}\t{n:g}\n")
        fh.write("#words\n")
        for w, n in kept:
            fh.write(f"{w}\t{n:g}\n")
        fh.write("#surnames\n")
        for c, n in sorted(surnames.items(), key=lambda kv: (-kv[1], kv[0])):
            fh.write(f"{c}\t{n:g}\n")
    partial.replace(out)
    return {"chars": len(chars), "words": len(kept), "surnames": len(surnames), "bytes": out.stat().st_size}


READING_STYLES = ("pinyin", "zhuyin")


def reading(ch: str, most: int = 2, style: str = "pinyin") -> str:
    """The reading of a Chinese character: pinyin with tone marks, or zhuyin (bopomofo, what Taiwan's writers read);
    its first ``most`` readings, '/'-joined; '' for anything else. pypinyin is imported on first use (about 0.3 s),
    which the pad does in its worker thread."""
    if style not in READING_STYLES:
        raise ValueError(f"reading style must be pinyin or zhuyin, not {style!r}")
    if len(ch) != 1 or not ("\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0003134f"):
        return ""
    from pypinyin import Style, pinyin

    readings = pinyin(ch, style=Style.TONE if style == "pinyin" else Style.BOPOMOFO, heteronym=True)[0]
    return "/".join(r for r in readings[:most] if r != ch)
