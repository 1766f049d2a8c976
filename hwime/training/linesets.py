"""Labelled written lines for evaluation, and the line metrics: CER, line accuracy, top-5 line accuracy, each for
greedy, beam and beam + the language side, and for images also re-read character by character (with and without
the language side).

Sources: an ink ``.jsonl`` with ``"text"`` per line (../shared/data/lines-dev/online.jsonl); a ``.tsv`` of
``file<TAB>text`` beside its images (lines-dev/casia.tsv: image paths relative to the .tsv's folder, or to its
``casia/`` folder as that set writes them); a CASIA-HWDB2.x ``.dgrl`` page or a CASIA-OLHWDB2.x ``.ptts`` /
``.wptt`` page (hwime.training.casia); or an IAM-style folder of line images, each with its text in a ``.txt`` of
the same stem.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..decode import edit_distance
from ..ink import Ink, iter_jsonl
from ..raster import load_image

# by the frames alone (how ink is read), then, for images, each character re-read on its own (recognize_line's default)
DECODINGS = {"greedy": {"decode": "greedy", "reread": False},
             "beam": {"decode": "beam", "language": False, "reread": False},
             "beam+lm": {"decode": "beam", "language": True, "reread": False},
             "re-read": {"decode": "beam", "language": False, "reread": True},
             "re-read+lm": {"decode": "beam", "language": True, "reread": True}}


@dataclass
class LineSet:
    name: str
    samples: list  # Ink or grayscale image per line
    texts: list[str]


def load_lines(path: str | Path, limit: int | None = None) -> LineSet:
    path = Path(path)
    pairs = ((sample, text) for sample, text in _line_pairs(path) if text)
    kept = list(itertools.islice(pairs, limit or None))  # a .tsv or a folder loads no image beyond the limit
    if not kept:
        raise ValueError(f"{path}: no labelled lines")
    return LineSet(path.stem, [sample for sample, _ in kept], [text for _, text in kept])


def _line_pairs(path: Path) -> Iterator[tuple]:
    """(ink or grayscale image, text) for each line the file or folder holds, unlabelled ones included."""
    if path.suffix == ".jsonl":
        for _, ink, text in iter_jsonl(path, "text"):
            if isinstance(ink, Ink):
                yield ink, text
    elif path.suffix == ".tsv":
        for row in path.read_text(encoding="utf-8").splitlines():
            name, _, text = row.partition("\t")
            if name and text:
                image = path.parent / name
                yield load_image(image if image.exists() else path.parent / path.stem / name), text
    elif path.suffix == ".dgrl":
        from .casia import iter_dgrl

        for text, image in iter_dgrl(path):
            yield np.array(image), text
    elif path.suffix in (".ptts", ".wptt"):
        from .casia import iter_online_page

        for text, ink in iter_online_page(path):
            if not ink.is_empty:
                yield ink, text
    elif path.is_dir():  # IAM-style: 0001.png beside 0001.txt
        from ..raster import IMAGE_SUFFIXES

        for image in sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            label = image.with_suffix(".txt")
            if label.exists() and (text := label.read_text(encoding="utf-8").strip()):
                yield load_image(image), text
    else:
        raise ValueError(f"{path}: a line set is an ink .jsonl with \"text\", a .tsv of file<TAB>text, a .dgrl, "
                         ".ptts or .wptt page or a folder of line images with .txt texts")


def score_lines(rec, data: LineSet, decodings: dict = DECODINGS, top: int = 5) -> dict:
    """Per decoding: CER (edit distance / reference characters), line accuracy, top-5 line accuracy, ms per line."""
    out = {"name": data.name, "lines": len(data.texts), "chars": sum(map(len, data.texts))}
    images = not any(isinstance(sample, Ink) for sample in data.samples)
    for label, options in decodings.items():
        if options.get("reread") and not images:
            continue
        errors, exact, in_top, seconds = 0, 0, 0, 0.0
        for sample, text in zip(data.samples, data.texts):
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
                       weights=(0.0, 0.1, 0.2, 0.3, 0.5, 0.8), bonuses=(0.0, 0.5, 1.0, 2.0, 3.0)) -> tuple[dict, list[dict]]:
    """The line decoder's (lm weight, bonus) with the lowest mean CER over ``sets`` among those that raise no
    ``guards`` set's CER more than ``max_rise`` above the decoder without a language side (lines of random
    characters, where the language can only mislead, must stay readable). The frames of each line are computed once.
    Returns the best and every grid point's figures."""
    from .. import decode

    lm, first = rec.line_language_model("")
    everything = list(sets) + [g for g in guards if g not in sets]
    frames = [[rec.line_log_probs(s) for s in data.samples] for data in everything]
    table = []
    for w in weights:
        for b in bonuses:
            row = {"line_lm_weight": w, "line_bonus": b}
            for data, lps in zip(everything, frames):
                errors = 0
                for lp, text in zip(lps, data.texts):
                    found = decode.beam_search(lp, 10, lm, w, b) if len(lp) else []
                    best = "".join(rec.labels[c] for c in found[0].labels) if found else ""
                    errors += edit_distance(best, text)
                row[data.name] = errors / sum(map(len, data.texts))
            row["mean_cer"] = float(np.mean([row[d.name] for d in sets]))
            table.append(row)
    plain = table[0]  # weight 0, bonus 0: the beam alone
    for row in table:
        row["allowed"] = all(row[g.name] <= plain[g.name] + max_rise for g in guards)
    best = min((r for r in table if r["allowed"]), key=lambda r: (r["mean_cer"], r["line_lm_weight"]))
    return best, table
