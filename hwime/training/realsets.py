"""Labelled evaluation sets: image folders <char>/*.png (CASIA-style) and ink .jsonl files with "char".

Both become uint8 images through hwime.raster exactly as the pad would make them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..ink import InkError, iter_jsonl_rows
from ..raster import RasterSpec, ink_to_image, load_image, prepare_image
from ..samples import char_folder
from .progress import progress, warn


@dataclass
class LabelledSet:
    name: str
    images: np.ndarray  # uint8 (N, S, S), prepared
    labels: list[str]
    groups: list[str] = field(default_factory=list)  # a subgroup per sample (e.g. writer), may be empty


def load_image_folder(root: str | Path, spec: RasterSpec, name: str | None = None) -> LabelledSet:
    root = Path(root)
    images, labels = [], []
    for label, f in progress(char_folder(root), desc=f"reading {root.name}", unit="image"):
        images.append(prepare_image(load_image(f), spec))
        labels.append(label)
    if not images:
        raise ValueError(f"{root}: no <char>/*.png images")
    return LabelledSet(name or root.name, np.stack(images), labels)


def load_ink_jsonl(path: str | Path, spec: RasterSpec, name: str | None = None) -> LabelledSet:
    """Every line with a "char"; the group is the line's "source" with its session suffix dropped."""
    path = Path(path)
    images, labels, groups = [], [], []
    for _, ink, obj in progress(iter_jsonl_rows(path), desc=f"reading {path.name}", unit="line"):
        if isinstance(ink, InkError):
            warn(str(ink))  # that line only: the others are read
            continue
        if obj is None or not isinstance(obj.get("char"), str):
            continue
        images.append(ink_to_image(ink, spec))
        labels.append(obj["char"])
        source = str(obj.get("source", ""))
        groups.append(source.rsplit("/", 1)[0] if "/" in source else source)
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
