"""Labelled written lines for evaluation, and the line metrics: CER, line accuracy, top-5 line accuracy, each for
greedy, beam and beam + the language side, and for images also re-read character by character (with and without
the language side).

Sources: an ink ``.jsonl`` with ``"text"`` per line (../shared/data/lines-dev/online.jsonl); a ``.tsv`` of
``file<TAB>text`` beside its images (lines-dev/casia.tsv: image paths relative to the .tsv's folder, or to its
``casia/`` folder as that set writes them; a leading byte order mark is accepted); a CASIA-HWDB2.x ``.dgrl`` page or
a CASIA-OLHWDB2.x ``.ptts`` / ``.wptt`` page (hwime.training.casia, with its caps on what a page may hold); or an
IAM-style folder of line images, each with its text in a ``.txt`` of the same stem.

A line set is read as a stream: one line's ink or image in memory at a time, read again from its source for each
pass over it, so a set's size costs time, not memory. Everything read must be a regular file (a FIFO or a device
would block or never end) within a cap far above any real input: MAX_TSV_BYTES for a .tsv, MAX_JSONL_BYTES for a
.jsonl, MAX_LABEL_BYTES for a .txt text, MAX_IMAGE_BYTES for an image, MAX_PAGE_BYTES (casia) for a page; and a
line's text has at most MAX_TEXT_CHARS characters. Anything else is a LineSetError (a ValueError) of one line naming
the file, and the line or byte offset within it.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..decode import edit_distance
from ..files import check_regular, read_text
from ..ink import Ink, InkError, iter_jsonl
from ..raster import IMAGE_SUFFIXES, load_image
from ..samples import tsv_image_places

# by the frames alone (how ink is read), then, for images, each character re-read on its own (recognize_line's default)
DECODINGS = {"greedy": {"decode": "greedy", "reread": False},
             "beam": {"decode": "beam", "language": False, "reread": False},
             "beam+lm": {"decode": "beam", "language": True, "reread": False},
             "re-read": {"decode": "beam", "language": False, "reread": True},
             "re-read+lm": {"decode": "beam", "language": True, "reread": True}}

# Caps: each far above a real line set (lines-dev's largest file is 0.8 MB, its texts at most a few dozen
# characters) and far below what exhausts memory or time: a 1 GB .txt was read whole into the label, and a 100 MB
# text ran edit_distance out of memory.
MAX_TSV_BYTES = 64 << 20  # a million rows of file<TAB>text
MAX_JSONL_BYTES = 2 << 30  # streamed a line at a time (ink.iter_jsonl caps each line), so only time is at stake
MAX_LABEL_BYTES = 64 << 10
MAX_IMAGE_BYTES = 64 << 20  # a scanned line is well under 1 MB
MAX_TEXT_CHARS = 1_000  # the line recognizer reads at most raster.MAX_LINE_CHARS heights of a line
MAX_SHOWN_NAME = 120  # characters of a file name shown in an error (a .tsv may name one of thousands)

FILE_SUFFIXES = (".jsonl", ".tsv", ".dgrl", ".ptts", ".wptt")


class LineSetError(ValueError):
    """A line set that cannot be read; the message is one line naming the file (and line or offset)."""


@dataclass
class LineSet:
    """A labelled line set: its texts, and ``pairs()``, which reads its (sample, text) pairs again from the source
    each time it is called (``samples`` the same for the samples alone): Ink, or grayscale images when ``images``."""

    name: str
    texts: list[str]
    pairs: Callable[[], Iterator[tuple]]
    images: bool = False

    @property
    def samples(self) -> Iterator:
        return (sample for sample, _ in self.pairs())


def load_lines(path: str | Path, limit: int | None = None) -> LineSet:
    """The labelled lines of ``path`` (see the module's docstring for the sources), the first ``limit`` of them
    (None or 0: all). Every line is read once here, so a bad one is a LineSetError now, not hours into scoring."""
    path = Path(path)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise LineSetError(f"{path}: a limit is a number of lines, 0 or more (0: all), not {limit!r}")

    texts, images = [], True
    # each sample dropped as soon as it is checked; a .tsv or a folder loads no image beyond the limit
    for sample, text in itertools.islice(_labelled(path), limit or None):
        texts.append(text)
        images = images and not isinstance(sample, Ink)
    if not texts:
        raise LineSetError(f"{path}: no labelled lines")
    return LineSet(path.stem, texts, lambda: itertools.islice(_labelled(path), len(texts)), images)


def _labelled(path: Path) -> Iterator[tuple]:
    """The (sample, text) pairs of the lines that have a text, each text checked; an OSError (a file that went,
    a name too long for the system) becomes a LineSetError naming the file."""
    try:
        for sample, text in _line_pairs(path):
            if text:
                if len(text) > MAX_TEXT_CHARS:
                    raise LineSetError(f"{path}: a line's text of {len(text):,} characters, more than "
                                       f"{MAX_TEXT_CHARS:,} ({text[:20]!r}…)")
                yield sample, text
    except OSError as exc:
        raise LineSetError(_os_message(path, exc)) from None


def _os_message(path: Path, exc: OSError) -> str:
    """One line for an OSError: read_regular's messages already name the file; the system's name it in quotes."""
    if exc.filename is None:
        return str(exc)
    return f"{_shown(exc.filename)}: {exc.strerror or exc}"


def _shown(name: object) -> str:
    name = str(name)
    return name if len(name) <= MAX_SHOWN_NAME else name[: MAX_SHOWN_NAME - 1] + "…"


def _line_pairs(path: Path) -> Iterator[tuple]:
    """(ink or grayscale image, text) for each line the file or folder holds, unlabelled ones included."""
    if not path.exists():
        raise LineSetError(f"{path}: " + ("a symbolic link that leads nowhere" if path.is_symlink()
                                          else "no such file or folder"))
    if path.suffix in FILE_SUFFIXES:
        if path.is_dir():
            raise LineSetError(f"{path}: a folder, not a {path.suffix} file")
        yield from _file_pairs(path)
    elif path.is_dir():
        yield from _folder_pairs(path)
    else:
        raise LineSetError(f"{path}: a line set is an ink .jsonl with \"text\", a .tsv of file<TAB>text, a .dgrl, "
                           ".ptts or .wptt page or a folder of line images with .txt texts")


def _file_pairs(path: Path) -> Iterator[tuple]:
    if path.suffix == ".jsonl":
        _check_file(path, MAX_JSONL_BYTES)  # iter_jsonl opens it: a FIFO would block there
        for _, ink, text in iter_jsonl(path, "text"):
            if isinstance(ink, InkError):  # a line left out would change the figures unseen
                raise LineSetError(str(ink))
            yield ink, text
    elif path.suffix == ".tsv":
        yield from _tsv_pairs(path)
    elif path.suffix == ".dgrl":
        from .casia import iter_dgrl

        for text, image in iter_dgrl(path):
            yield np.array(image), text  # a writable copy: the page's buffer is read-only
    else:
        from .casia import iter_online_page

        for text, ink in iter_online_page(path):
            if not ink.is_empty:
                yield ink, text


def _tsv_pairs(path: Path) -> Iterator[tuple]:
    for number, row in enumerate(_text(path, MAX_TSV_BYTES).splitlines(), start=1):
        name, _, text = row.partition("\t")
        if name and text:
            yield _tsv_image(path, number, name), text


def _tsv_image(path: Path, number: int, name: str) -> np.ndarray:
    """The image a .tsv row names, beside the .tsv or in its folder of the .tsv's stem; errors name the row and the
    name as the .tsv writes it."""
    where = f"{path}:{number}: {_shown(name)}"
    for candidate in tsv_image_places(path, name):
        try:
            candidate.stat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except (OSError, ValueError) as exc:  # a name too long for the system, a loop of links, a NUL byte
            raise LineSetError(f"{where}: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            return _image(candidate)
        except ValueError as exc:  # LineSetError, RasterError: they name the file found
            raise LineSetError(f"{path}:{number}: {exc}") from None
    raise LineSetError(f"{where}: no such image (beside the .tsv or in {path.stem}/)")


def _folder_pairs(path: Path) -> Iterator[tuple]:
    """IAM-style: 0001.png beside 0001.txt."""
    for image in sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        label = image.with_suffix(".txt")
        if os.path.lexists(label) and (text := _text(label, MAX_LABEL_BYTES).strip()):
            yield _image(image), text


def _image(path: Path) -> np.ndarray:
    """A line image from a regular file of at most MAX_IMAGE_BYTES (load_image's own caps on pixels after)."""
    _check_file(path, MAX_IMAGE_BYTES)
    return load_image(path)  # a RasterError (a ValueError) names the file


def _check_file(path: Path, limit: int) -> None:
    """LineSetError unless ``path`` is a regular file of at most ``limit`` bytes: checked before it is opened."""
    try:
        check_regular(path, limit)
    except OSError as exc:
        raise LineSetError(_os_message(path, exc)) from None


def _text(path: Path, limit: int) -> str:
    """A .tsv's or a .txt's text (files.read_text: a regular file within ``limit``, UTF-8, a BOM dropped)."""
    try:
        return read_text(path, limit)
    except OSError as exc:
        raise LineSetError(_os_message(path, exc)) from None
    except ValueError as exc:
        raise LineSetError(str(exc)) from None


def score_lines(rec, data: LineSet, decodings: dict = DECODINGS, top: int = 5) -> dict:
    """Per decoding: CER (edit distance / reference characters), line accuracy, top-5 line accuracy, ms per line."""
    out = {"name": data.name, "lines": len(data.texts), "chars": sum(map(len, data.texts))}
    for label, options in decodings.items():
        if options.get("reread") and not data.images:
            continue
        errors, exact, in_top, seconds = 0, 0, 0, 0.0
        for sample, text in data.pairs():  # read again for each decoding: one line in memory at a time
            t = time.perf_counter()
            found = rec.recognize_line(sample, top=top, **options)
            seconds += time.perf_counter() - t
            best = found[0].text if found else ""
            errors += edit_distance(best, text)
            exact += best == text
            in_top += any(c.text == text for c in found[:5])
        n = len(data.texts)
        out[label] = {"cer": errors / out["chars"], "line_accuracy": exact / n, "top5_line_accuracy": in_top / n,
                      "ms_per_line": 1000 * seconds / n}
    return out


def lines_table(results: list[dict]) -> str:
    """Markdown: one row per set and decoding."""
    rows = ["| set | decoding | CER | line accuracy | top-5 line accuracy | ms per line (one thread) |",
            "|---|---|---|---|---|---|"]
    for r in results:
        for label in DECODINGS:
            if label in r:
                m = r[label]
                rows.append(f"| {r['name']} ({r['lines']} lines) | {label} | {m['cer']:.2%} | {m['line_accuracy']:.1%} "
                            f"| {m['top5_line_accuracy']:.1%} | {m['ms_per_line']:.0f} |")
    return "\n".join(rows)


def tune_line_language(rec, sets: list[LineSet], guards: list[LineSet] = (), max_rise: float = 0.01,
                       weights=(0.0, 0.1, 0.2, 0.3, 0.5), bonuses=(0.0, 0.5, 1.0, 2.0),
                       starts=(0.0, 0.5, 1.0), shares=(0.1, 0.3, 0.5)) -> tuple[dict, list[dict]]:
    """The line decoder's (lm weight, bonus, a name's start weight and share) with the lowest mean CER over ``sets``
    among those that raise no ``guards`` set's CER more than ``max_rise`` above the decoder without a language side
    (lines of random characters, where the language can only mislead, must stay readable). Each line is read as the
    default path reads it (Recognizer.read_line: its frames, and an image's pieces where it is cut) once, then
    decoded at every grid point. Returns the best and every grid point's figures."""
    from ..readers import LineWeights

    everything = list(sets) + [g for g in guards if g not in sets]
    readings = [[rec.read_line(s) for s in data.samples] for data in everything]
    grid = [(w, b, start, share if start else 0.0) for w, b, start, share in
            itertools.product(weights, bonuses, starts, shares) if start or share == shares[0]]
    table = []
    for w, b, start, share in grid:
        row = {"line_lm_weight": w, "line_bonus": b, "line_start_weight": start, "line_name_share": share}
        for data, reads in zip(everything, readings):
            errors = 0
            for reading, text in zip(reads, data.texts):
                found = rec.decode_reading(reading.log_probs, reading.pieces, 10,
                                           weights=LineWeights(w, b, start, share)) if len(reading.log_probs) else []
                best = "".join(rec.labels[c] for c in found[0].labels) if found else ""
                errors += edit_distance(best, text)
            row[data.name] = errors / sum(map(len, data.texts))
        row["mean_cer"] = float(np.mean([row[d.name] for d in sets]))
        table.append(row)
    plain = table[0]  # all weights 0: the beam alone
    for row in table:
        row["allowed"] = all(row[g.name] <= plain[g.name] + max_rise for g in guards)
    best = min((r for r in table if r["allowed"]),
               key=lambda r: (r["mean_cer"], r["line_lm_weight"], r["line_start_weight"], r["line_name_share"]))
    return best, table
