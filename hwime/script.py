"""The writer's script — simplified (简体), traditional (繁體) or both — as a ranking concern.

A bundle's classes hold both scripts (PP-OCRv6's dictionary reads 这 and 這 alike). In one script a candidate of
the other is folded into its form in the writer's script and their probabilities added: the writer of 这 in
simplified gets 这 whether the network preferred 這 or 这. Where a form has several counterparts (发 → 發/髮,
后 → 後/后, 干 → 乾/幹/干) each is offered and the language side of that script ranks them (the usage prior and the
context before: 頭 then 髮). Kana and symbols of the dictionary are answered only in ``both``: in a Chinese script
they must not crowd out characters (一 is not ー, 口 is not ロ); digits, Latin letters and the Chinese punctuation the
pad always had stay in every script.

In simplified, the simplified standards' own characters stay what they are: GB2312's (乾, 後, 於 among them) and
those of the 通用规范汉字表 of 2013 (8,105 characters, assets/general-standard-chars.txt), which restored 昇, 陞, 祕
and a few more for names and set uses and added the name characters 喆, 堃 (OpenCC folds 昇 into 升).

Japanese-only forms (図, 円) are folded into the Chinese characters they stand for in either Chinese script.

The tables are OpenCC's (the character tables STCharacters, TSCharacters, TWVariants, JPVariants and its phrase
conversion),
read from the opencc-python-reimplemented package, which ships them as text; no table is written here.
No Qt, no torch at import (the Folding's torch use is in its method).
"""

from __future__ import annotations

import locale
import os
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .bundled import asset_gone, asset_path
from .charset import DIGITS, LATIN, PUNCTUATION

SCRIPTS = ("simplified", "traditional", "both")
TRADITIONAL_REGIONS = ("TW", "HK", "MO")
ALWAYS_ANSWERED = frozenset(DIGITS + LATIN + PUNCTUATION)  # the non-Han classes the pad had in every script
GENERAL_STANDARD_FILE = "general-standard-chars.txt"


class ScriptError(ValueError):
    """An unknown script name; the message says what may be chosen."""


def check_script(value: object) -> str:
    if value not in SCRIPTS:
        raise ScriptError(f"unknown script {str(value)[:40]!r}: choose {', '.join(SCRIPTS[:-1])} or {SCRIPTS[-1]}")
    return value  # type: ignore[return-value]


def default_script(locale_name: str | None = None) -> str:
    """traditional for zh_TW, zh_HK, zh_MO (and zh_Hant); otherwise simplified. Without ``locale_name`` the
    process's locale (LC_ALL, LC_MESSAGES, LANG, then the C library's)."""
    if locale_name is None:
        locale_name = next((os.environ[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if os.environ.get(k)), "")
        if not locale_name:
            try:
                locale_name = locale.getlocale()[0] or ""
            except ValueError:
                locale_name = ""
    name = locale_name.replace("-", "_").split(".")[0].split("@")[0]
    parts = name.split("_")
    if parts[0].lower() == "zh" and any(p.upper() in TRADITIONAL_REGIONS or p.lower() == "hant" for p in parts[1:]):
        return "traditional"
    return "simplified"


def is_han(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def encodes(ch: str, codec: str) -> bool:
    """Whether a standard's character set has ``ch``: gb2312 (the simplified standard), big5 (the traditional one)."""
    try:
        ch.encode(codec)
        return True
    except UnicodeEncodeError:
        return False


def _opencc_dir() -> Path:
    try:
        import opencc
    except ImportError:
        opencc = None
    folder = Path(opencc.__file__).parent if opencc is not None and opencc.__file__ else None
    if folder is None or not (folder / "dictionary" / "STCharacters.txt").is_file():
        # the official OpenCC package uses the same import name but keeps its tables in a binary form
        raise ScriptError("the script tables need the opencc-python-reimplemented package "
                          "(pip install opencc-python-reimplemented; it cannot share a venv with OpenCC's own)")
    return folder


@lru_cache(maxsize=None)
def character_table(name: str) -> dict[str, tuple[str, ...]]:
    """One of OpenCC's character tables (STCharacters, TSCharacters, TWVariants): source -> its forms, the usual
    one first."""
    path = _opencc_dir() / "dictionary" / f"{name}.txt"
    table: dict[str, tuple[str, ...]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:  # _opencc_dir found the folder a moment ago: the package went away under us
        raise asset_gone(f"OpenCC's {path.name}") from None
    for line in text.splitlines():
        source, _, targets = line.partition("\t")
        if len(source) == 1 and targets.split():
            table[source] = tuple(targets.split())
    return table


@lru_cache(maxsize=None)
def general_standard() -> frozenset[str]:
    """The 8,105 characters of the 通用规范汉字表 (2013), the standard simplified text is written in today."""
    try:
        text = asset_path(GENERAL_STANDARD_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise asset_gone(GENERAL_STANDARD_FILE) from None
    return frozenset("".join(line for line in text.splitlines() if not line.startswith("#")))


def simplified_standard(ch: str) -> bool:
    """Whether a simplified writer writes ``ch`` as it is: GB2312 or the 通用规范汉字表 has it."""
    return encodes(ch, "gb2312") or ch in general_standard()


@lru_cache(maxsize=None)
def japanese_forms() -> dict[str, tuple[str, ...]]:
    """Japanese-only character forms (図, 円, 帰: in neither GB2312 nor Big5) -> the traditional forms they stand for,
    from OpenCC's JPVariants table read backwards."""
    out: dict[str, list[str]] = {}
    for traditional, japanese in character_table("JPVariants").items():
        for j in japanese:
            if not encodes(j, "gb2312") and not encodes(j, "big5"):
                out.setdefault(j, []).append(traditional)
    return {j: tuple(t) for j, t in out.items()}


def forms(ch: str, script: str) -> tuple[str, ...]:
    """What ``ch`` is in ``script``: its counterparts there, the usual one first (itself when it already is).
    A Japanese-only form (図) is what it stands for in Chinese (圖, 图)."""
    if script == "both" or not is_han(ch):
        return (ch,)
    if ch in japanese_forms():
        return tuple(dict.fromkeys(f for t in japanese_forms()[ch] for f in forms(t, script)))
    if script == "simplified":
        if simplified_standard(ch):  # 乾, 後, 於 (GB2312), 昇, 祕 (the 2013 table) stay what they are
            return (ch,)
        return character_table("TSCharacters").get(ch, (ch,))
    found = character_table("STCharacters").get(ch, (ch,))
    variants = character_table("TWVariants")  # Taiwan's standard forms (為 beside OpenCC's 爲, 裡 beside 裏)
    return tuple(dict.fromkeys(f for form in found for f in (form, *variants.get(form, ()))))


@lru_cache(maxsize=8)
def _converter(config: str):
    from opencc import OpenCC

    _opencc_dir()
    try:
        return OpenCC(config)
    except FileNotFoundError as exc:  # its config or a phrase table went away with a reinstall
        raise asset_gone(f"OpenCC's {Path(exc.filename or config).name}") from None


WARM_TABLE_NAMES = ("STCharacters", "TSCharacters", "TWVariants", "JPVariants")


def warm() -> None:
    """Read now every table the ranking reads on first use in any script (the 通用规范汉字表, OpenCC's character
    tables and both phrase converters). The language table's first read calls this (hwime.language; the pad's
    worker reads it right after its model loads), so a stroke written after hwime was reinstalled under the pad
    (the files it would read gone) still reads from memory. Raises what a first use would
    (ScriptError without opencc-python-reimplemented, AssetGoneError)."""
    general_standard()
    for name in WARM_TABLE_NAMES:
        character_table(name)
    japanese_forms()
    _converter("s2tw")
    _converter("t2s")


def convert(text: str, script: str) -> str:
    """Text in the given script by OpenCC's phrase conversion (s2tw / t2s); unchanged for ``both``."""
    if script == "both" or not text:
        return text
    return _converter("s2tw" if script == "traditional" else "t2s").convert(text)


class Folding:
    """For one label list and one script: which labels are answered, and where each label's probability goes."""

    def __init__(self, labels: Sequence[str], script: str, usage: np.ndarray | None = None):
        """``usage`` (each label's usage probability in ``script``): a label with several forms splits its
        probability among them by how often each is written (合 -> 合 far more than 閤), for a reader with no
        language side of its own to rank them (the line decoder); without it, evenly (the single box's usage prior
        and context rank them)."""
        self.script = check_script(script)
        index = {c: i for i, c in enumerate(labels)}
        usage = None if usage is None else np.asarray(usage, np.float64)
        sources, targets, shares = [], [], []
        for i, ch in enumerate(labels):
            if script != "both" and not is_han(ch) and ch not in ALWAYS_ANSWERED:
                continue  # kana and symbols: only in both
            into = [index[f] for f in forms(ch, script) if f in index] or [i]
            sources += [i] * len(into)
            targets += into
            if usage is not None and len(into) > 1:
                weight = usage[into] + 1e-9  # a form never seen in use keeps a sliver
                shares += (weight / weight.sum()).tolist()
            else:
                shares += [1.0 / len(into)] * len(into)
        sources, targets = np.array(sources, np.int64), np.array(targets, np.int64)
        shares = np.array(shares, np.float32)
        stay = sources == targets
        self.keep = np.zeros(len(labels), np.float32)  # the share of its own probability a label keeps
        self.keep[sources[stay]] = shares[stay]
        # the probability that moves to a counterpart
        self.sources, self.targets, self.shares = sources[~stay], targets[~stay], shares[~stay]
        self.answered = self.keep > 0
        self.answered[self.targets] = True
        self.identity = bool((self.keep == 1).all()) and not len(self.sources)
        self._made: dict = {}

    def fold(self, probs, normalize: bool = True):
        """(N, labels) probabilities -> (N, labels) in the script: each answered label holds its own probability
        and its counterparts'; a label not answered holds 0. Rows sum to 1 again (unless ``normalize=False``)."""
        if self.identity:
            return probs
        keep, src, dst, share = self._tensors(probs.device, probs.dtype)
        out = probs * keep
        if len(self.sources):
            out.index_add_(1, dst, probs.index_select(1, src) * share)
        return out / out.sum(dim=1, keepdim=True).clamp_min(1e-30) if normalize else out

    def _tensors(self, device, dtype) -> tuple:
        """(keep, sources, targets, shares) as torch tensors on ``device``, made once each (the single box folds
        every reading)."""
        import torch

        key = (device, dtype)
        if key not in self._made:
            self._made[key] = (torch.from_numpy(self.keep).to(device, dtype), torch.from_numpy(self.sources).to(device),
                               torch.from_numpy(self.targets).to(device),
                               torch.from_numpy(self.shares).to(device, dtype))
        return self._made[key]

    def fold_bonus(self, bonus):
        """(N, labels) log-score bonuses (what was learned from the writer) carried to each label's forms in the
        script, the larger where several meet: a 國 taught in traditional helps 国 in simplified."""
        if self.identity or not len(self.sources):
            return bonus
        _, src, dst, _ = self._tensors(bonus.device, bonus.dtype)
        return bonus.scatter_reduce(1, dst.expand(len(bonus), -1), bonus.index_select(1, src), reduce="amax")

    def fold_frames(self, probs: np.ndarray) -> np.ndarray:
        """(T, 1 + labels) CTC frame probabilities (blank first) folded the same way, for the line decoder."""
        import torch

        if self.identity:
            return probs
        frames = torch.from_numpy(np.ascontiguousarray(probs))
        out = torch.cat([frames[:, :1], self.fold(frames[:, 1:], normalize=False)], dim=1)
        return (out / out.sum(dim=1, keepdim=True).clamp_min(1e-30)).numpy()
