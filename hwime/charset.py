"""Class sets (which characters a model can answer) and label files (one character per line, UTF-8)."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Callable, Iterable

from .files import read_text

DIGITS = string.digits
LATIN = string.ascii_letters
# full-width punctuation a Chinese writer puts in text
PUNCTUATION = "，。、？！：；“”（）"
MAX_LABELS_BYTES = 16 << 20  # a labels file of every Unicode character would be ~5 MB


def _gb2312_rows(first: int, last: int) -> list[str]:
    out = []
    for hi in range(first, last + 1):
        for lo in range(0xA1, 0xFF):
            try:
                out.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass  # the five unassigned cells at the end of row 0xD7
    return out


def gb2312_level1() -> list[str]:
    """The 3,755 common characters (GB2312 rows 16-55, by pinyin), HWDB1.1's class set."""
    return _gb2312_rows(0xB0, 0xD7)


def gb2312_level2() -> list[str]:
    """The 3,008 less common characters (rows 56-87, by radical)."""
    return _gb2312_rows(0xD8, 0xF7)


def is_label_character(ch: str) -> bool:
    """What may be a class: one printable character that is not white space (a label is typed, never a command)."""
    return len(ch) == 1 and ch.isprintable() and not ch.isspace()


def every_class(dictionary: Iterable[str]) -> list[str]:
    """``all``: the pad's GB2312 set (gb2312+digits+latin+punct) and then every other printable character of a
    recognizer's dictionary (PP-OCRv6 small's: traditional and rare characters, kana, symbols), in its order."""
    out = dict.fromkeys(named_set("gb2312+digits+latin+punct"))
    out.update(dict.fromkeys(c for c in dictionary if is_label_character(c)))
    return list(out)


def named_set(name: str, dictionary: Callable[[], list[str]] | None = None) -> list[str]:
    """A class set by name: gb1, gb2, gb2312 (both levels), digits, latin, punct; join with '+'. ``all`` is
    every_class of a recognizer's ``dictionary`` (training passes PP-OCRv6 small's: hwime.training.ppocr_import)."""
    if name == "all":
        if dictionary is None:
            raise ValueError("the class set all needs a recognizer's dictionary (python -m hwime.training)")
        return every_class(dictionary())
    parts = {
        "gb1": gb2312_level1,
        "gb2": gb2312_level2,
        "gb2312": lambda: gb2312_level1() + gb2312_level2(),
        "digits": lambda: list(DIGITS),
        "latin": lambda: list(LATIN),
        "punct": lambda: list(PUNCTUATION),
    }
    out: dict[str, None] = {}  # an ordered set
    for part in name.split("+"):
        if part not in parts:
            raise ValueError(f"unknown class set {part!r}; choose all, or from {', '.join(parts)} joined by '+'")
        out.update(dict.fromkeys(parts[part]()))
    return list(out)


def write_labels(path: str | Path, labels: Iterable[str]) -> None:
    Path(path).write_text("".join(f"{c}\n" for c in labels), encoding="utf-8")


def read_labels(path: str | Path) -> list[str]:
    labels = read_text(path, MAX_LABELS_BYTES).splitlines()  # a non-UTF-8 file: a ValueError naming it
    bad = [i + 1 for i, c in enumerate(labels) if len(c) != 1]
    if bad:
        raise ValueError(f"{path}: line {bad[0]} is not exactly one character")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{path}: duplicate labels")
    return labels


def class_set(spec: str, dictionary: Callable[[], list[str]] | None = None) -> list[str]:
    """A recipe's or a command's classes: a labels file (one character per line) when ``spec`` names one, else a
    named set (named_set; ``all`` from ``dictionary``)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        raise ValueError(f"{spec}: a folder, not a labels file (one character per line) or a class set's name")
    return read_labels(path) if path.is_file() else named_set(spec, dictionary)
