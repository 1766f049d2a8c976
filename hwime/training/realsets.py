"""Labelled evaluation sets: image folders <char>/*.png (CASIA-style) and ink .jsonl files with "char".

Both become uint8 images through hwime.raster exactly as the pad would make them. Bad input costs only itself, with
one line on stderr: a FIFO, device or socket among the images is skipped before it is opened (it would block the
run for ever), as is an image that cannot be read; a .jsonl line that is no ink (a list, a string, bad JSON) is
skipped (ink.iter_jsonl); a .jsonl that is no regular file is an OSError naming it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..cli import text_cell
from ..files import check_regular
from ..ink import Ink, InkError, iter_jsonl_objects
from ..raster import RasterError, RasterSpec, ink_to_image, load_image, prepare_image
from ..samples import char_folder
from .progress import progress


@dataclass
class LabelledSet:
    name: str
    images: np.ndarray  # uint8 (N, S, S), prepared
    labels: list[str]
    groups: list[str] = field(default_factory=list)  # a subgroup per sample (e.g. writer), may be empty


MAX_IMAGE_BYTES = 64 << 20  # one character's scan; a larger file in a dev set is not one
MAX_SKIPS_SHOWN = 10  # skipped inputs named one line each; the rest are counted in one line


class _Skips:
    """What a set left out, said on stderr: the first MAX_SKIPS_SHOWN one line each, then one line for the rest."""

    def __init__(self, name: str):
        self.name, self.count = name, 0

    def __call__(self, message: str) -> None:
        self.count += 1
        if self.count <= MAX_SKIPS_SHOWN:
            print(f"{text_cell(self.name)}: skipped {text_cell(message)}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.count > MAX_SKIPS_SHOWN:
            print(f"{text_cell(self.name)}: {self.count:,} inputs skipped in all", file=sys.stderr, flush=True)


def load_image_folder(root: str | Path, spec: RasterSpec, name: str | None = None) -> LabelledSet:
    root = Path(root)
    images, labels = [], []
    skip = _Skips(root.name)
    for label, f in progress(char_folder(root), desc=f"reading {root.name}", unit="image"):
        try:
            check_regular(f, MAX_IMAGE_BYTES)  # a FIFO named 1.png would block PIL's open for ever
            images.append(prepare_image(load_image(f), spec))
        except (OSError, RasterError) as exc:
            skip(f"{f.parent.name}/{f.name}: {exc}" if str(f) not in str(exc) else str(exc))
            continue
        labels.append(label)
    skip.close()
    if not images:
        raise ValueError(f"{root}: no <char>/*.png images")
    return LabelledSet(name or root.name, np.stack(images), labels)


def load_ink_jsonl(path: str | Path, spec: RasterSpec, name: str | None = None) -> LabelledSet:
    """Every line with a "char"; the group is the line's "source" with its session suffix dropped. A line that is no
    ink is skipped with a line on stderr; a path that is no regular file is an OSError (iter_jsonl)."""
    path = Path(path)
    check_regular(path, 1 << 40)  # before the progress bar starts: a FIFO or /dev/zero is one line, no bar
    images, labels, groups = [], [], []
    skip = _Skips(path.name)
    for number, obj in progress(iter_jsonl_objects(path), desc=f"reading {path.name}", unit="line"):
        try:
            if isinstance(obj, InkError):
                raise obj
            if not isinstance(obj, dict):
                raise InkError(f"{path}:{number}: not an ink object (a {type(obj).__name__})")
            if not isinstance(obj.get("char"), str):
                continue
            images.append(ink_to_image(Ink.from_json(obj), spec))
        except (RasterError, InkError, ValueError, MemoryError) as exc:
            message = str(exc)
            skip(message if message.startswith(str(path)) else f"{path}:{number}: {message}")
            continue
        labels.append(obj["char"])
        source = str(obj.get("source", ""))
        groups.append(source.rsplit("/", 1)[0] if "/" in source else source)
    skip.close()
    if not images:
        raise ValueError(f"{path}: no labelled ink")
    return LabelledSet(name or path.stem, np.stack(images), labels, groups)


def load_any(path: str | Path, spec: RasterSpec) -> LabelledSet:
    path = Path(path)
    return load_image_folder(path, spec) if path.is_dir() else load_ink_jsonl(path, spec)


def every_nth(data: LabelledSet, every: int, offset: int = 0) -> LabelledSet:
    """Samples offset, offset + every, …: a quick measure on part of a set, or a held-out check on the others."""
    if every < 1 or not 0 <= offset < every:
        raise ValueError(f"--every must be 1 or more and --offset from 0 to every - 1, not {every} and {offset}")
    keep = slice(offset, None, every)
    return LabelledSet(data.name, data.images[keep], data.labels[keep], data.groups[keep])
