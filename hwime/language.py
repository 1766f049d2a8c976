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
- ``start_log_prob(ch, share)``: what a line starts with, the usage prior mixed with the surnames: a line is most
  often a name (forms, addresses, signatures).

The table is simplified Chinese; ``load_language(script="traditional")`` is the same table in traditional
characters (``Language.converted``: OpenCC's phrase conversion, hwime.script), so a traditional writer after 中 is
offered 國 and 頭 makes 髮 likely, and a character's usage is not zero because the word list is simplified.

No Qt, no torch: numpy and the standard library, loaded once and cached.
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .bundled import asset_path

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
        self._starting: dict[str, list[tuple[str, float]]] = {}  # first char -> words, most frequent first
        for word, freq in words:  # the file lists words most frequent first
            for a, b in zip(word, word[1:]):
                row = self._following.setdefault(a, {})
                row[b] = row.get(b, 0.0) + freq
            self._starting.setdefault(word[0], []).append((word, freq))

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

    def start_log_prob(self, ch: str, share: float) -> float:
        """log((1 - share) p(ch) + share p(ch is a surname)): how likely a line is to start with ``ch`` when nothing
        was written before it (the line decoder's first character; a table without surnames gives the prior)."""
        prior = self.probability(ch)
        if share <= 0 or not self.surnames:
            return math.log(prior)
        return math.log((1 - share) * prior + share * self.surnames.get(ch, 0.0) / self._surname_total)

    # --- continuations ------------------------------------------------------------------------------------------
    def continuations(self, context: str, top: int = 10) -> list[Suggestion]:
        """What usually follows ``context`` (its last one or two characters), best first: the next characters,
        ranked by all the words they continue, and — in about a third of the places — whole words, which go out
        whole (中 offers 国, 心, 央 … and 华人民共和国)."""
        if not context or top < 1:
            return []
        chars: dict[str, float] = {}
        words: dict[str, float] = {}
        wholes: dict[str, str] = {}
        for k, weight in ((2, 4.0), (1, 1.0)):  # a match on two characters says more than one
            tail = context[-k:]
            if len(tail) < k:
                continue
            for word, freq in self._starting.get(tail[0], ()):
                if len(word) > k and word.startswith(tail):
                    rest = word[k:]
                    chars[rest[0]] = chars.get(rest[0], 0.0) + weight * freq
                    if len(rest) > 1:
                        words[rest] = words.get(rest, 0.0) + weight * freq
                        wholes.setdefault(rest, word)
        total = sum(chars.values())
        if not total:
            return []
        words = {w: v for w, v in words.items() if v >= 0.01 * total}  # no odd idioms on a thin thread
        n_words = min(len(words), top // 3)
        best_chars = sorted(chars.items(), key=lambda kv: (-kv[1], kv[0]))[: top - n_words]
        best_words = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:n_words]
        ranked = sorted(best_chars + best_words, key=lambda kv: (-kv[1], kv[0]))
        return [Suggestion(text, value / total, wholes.get(text, context[-1:] + text)) for text, value in ranked]


@lru_cache(maxsize=4)
def load_language(path: str | None = None, script: str = "simplified") -> Language:
    """The bundled table (or the one at ``path``) in ``script`` (simplified, traditional; "both" reads the
    simplified table), read and converted once per process."""
    from .script import check_script, convert

    check_script(script)
    if script == "traditional":
        return load_language(path).converted(lambda text: convert(text, "traditional"))
    return Language.read(path or asset_path(WORDS_FILE))


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
