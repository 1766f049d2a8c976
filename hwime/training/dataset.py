"""`prepare`: sources (.gnt, .pot, synthetic) -> packed uint8 arrays the trainer maps into memory.

<out>/train-images.npy (N, S, S) uint8, train-labels.npy (N,) int32, the same for val-, labels.txt, stats.json.
Every image is made by hwime.raster.prepare_image, the pad's own preprocessing.
"""

from __future__ import annotations

import glob
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .. import charset
from ..raster import RasterSpec, ink_to_image, prepare_image
from ..files import atomic_write
from .casia import CasiaFormatError, iter_gnt, iter_pot
from .ppocr_import import ppocrv6_dictionary
from .progress import progress, warn
from .recipe import Recipe


def _expand(patterns: list[str]) -> list[str]:
    files: list[str] = []
    for p in patterns:
        hits = sorted(glob.glob(os.path.expanduser(p)))
        if not hits:
            raise FileNotFoundError(f"no files match {p!r}")
        files += hits
    return files


def index_casia(files: list[str], skip_bad: bool) -> tuple[list[tuple[str, list[str]]], list[dict]]:
    """The labels of every usable record, file by file, without preparing any image (the first of two passes,
    so the output can be allocated once). A corrupt record raises unless skip_bad; then the file's records before
    it are kept (a truncated file loses only its tail) and the damage is reported."""
    indexed: list[tuple[str, list[str]]] = []
    damaged: list[dict] = []
    for f in progress(files, desc="indexing CASIA files", unit="file"):
        reader = iter_gnt if f.lower().endswith(".gnt") else iter_pot
        labels: list[str] = []
        try:
            for label, _ in reader(f):
                labels.append(label)
        except CasiaFormatError as exc:
            if not skip_bad:
                raise
            warn(f"skipping the rest of {exc}")
            damaged.append({"file": f, "offset": exc.offset, "problem": str(exc)})
        indexed.append((f, labels))
    if damaged:
        warn(f"{len(damaged)} of {len(files)} files are damaged: their records from the damage on were skipped")
    return indexed, damaged


def write_casia(indexed: list[tuple[str, list[str]]], spec: RasterSpec, index: dict[str, int],
                images: "NpyWriter", targets: np.ndarray) -> int:
    """Prepare the indexed records whose label is in ``index``, appending images and filling targets from 0;
    returns the count."""
    at = 0
    for f, labels in progress(indexed, desc="reading CASIA files", unit="file"):
        reader = iter_gnt if f.lower().endswith(".gnt") else iter_pot
        for _, (label, item) in zip(labels, reader(f)):  # labels first: stops where the index stopped, before a damaged tail
            if label not in index:
                continue
            # a .gnt record is a segmented character, a tight crop by construction, like render_ink's output
            images.append(prepare_image(item, spec, crop=False) if reader is iter_gnt else ink_to_image(item, spec))
            targets[at] = index[label]
            at += 1
    return at


_WORKER: dict = {}


def _init_worker(labels: list[str], spec: RasterSpec, seed: int, font_share: float, fonts: list[str],
                 cursive_components: float = 0.0) -> None:
    from .synthetic import StrokeStyle, SyntheticSource

    _WORKER["source"] = SyntheticSource(labels, spec, seed, font_share=font_share, fonts=fonts,
                                        style=StrokeStyle(cursive_components=cursive_components))


def recipe_fonts(recipe: Recipe) -> list[str]:
    """Paths of the recipe's fonts; none when it draws no font samples. Raises FontError when one is missing."""
    from .fonts import resolve

    d = recipe.data
    return resolve(d.fonts) if d.font_share > 0 and d.fonts else []


def _synth_chunk(job: tuple[list[int], int, int]) -> np.ndarray:
    classes, first, count = job
    src = _WORKER["source"]
    return np.stack([src.sample(c, first + i) for c in classes for i in range(count)])


def synthesize(labels: list[str], spec: RasterSpec, per_class: int, seed: int, font_share: float,
               fonts: list[str] = (), first_index: int = 0, workers: int | None = None,
               sink: "NpyWriter | None" = None, cursive_components: float = 0.0) -> tuple[np.ndarray | None, np.ndarray]:
    """per_class samples of every class, in class order: appended to ``sink`` as they come (the array returned is
    then None), or returned as one array; identical for any number of workers."""
    workers = workers or os.cpu_count() or 1
    chunk = 16
    jobs = [(list(range(c, min(c + chunk, len(labels)))), first_index, per_class) for c in range(0, len(labels), chunk)]
    images = None if sink is not None else np.empty((len(labels) * per_class, spec.size, spec.size), np.uint8)
    at = 0
    bar = progress(total=len(labels) * per_class, desc=f"synthesizing seed {seed}", unit="img")
    if workers == 1:
        _init_worker(labels, spec, seed, font_share, list(fonts), cursive_components)
        results = map(_synth_chunk, jobs)
        pool = None
    else:
        pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(labels, spec, seed, font_share, list(fonts),
                                                                                  cursive_components))
        results = pool.map(_synth_chunk, jobs)
    for block in results:
        if sink is not None:
            sink.append(block)
        else:
            images[at : at + len(block)] = block
        at += len(block)
        bar.update(len(block))
    bar.close()
    if pool:
        pool.shutdown()
    targets = np.repeat(np.arange(len(labels), dtype=np.int32), per_class)
    return images, targets


class NpyWriter:
    """A uint8 .npy of known shape written front to back: images go to the file as they are made (through the
    page cache, not this process's memory); ``close`` checks the count and renames it into place."""

    def __init__(self, path: Path, shape: tuple[int, ...]):
        self.path, self.shape, self.written = path, shape, 0
        self.partial = path.with_name(path.name.replace(".npy", ".partial.npy"))
        self.fh = open(self.partial, "wb")
        np.lib.format.write_array_header_1_0(self.fh, {"descr": "|u1", "fortran_order": False, "shape": shape})
        self._buffer: list[np.ndarray] = []

    def append(self, images: np.ndarray) -> None:
        """One image (S, S) or a block (n, S, S)."""
        block = images[None] if images.ndim == 2 else images
        self._buffer.append(np.ascontiguousarray(block, np.uint8))
        self.written += len(block)
        if sum(len(b) for b in self._buffer) >= 1024:
            self._flush()

    def _flush(self) -> None:
        for b in self._buffer:
            self.fh.write(b.tobytes())
        self._buffer = []

    def close(self) -> None:
        self._flush()
        self.fh.close()
        if self.written != self.shape[0]:
            raise RuntimeError(f"{self.path}: wrote {self.written} images, expected {self.shape[0]}")
        os.replace(self.partial, self.path)


def prepare(recipe: Recipe, out: str | Path, skip_bad: bool = False, workers: int | None = None) -> dict:
    """Build the packed data set a recipe describes; returns the stats written to stats.json.

    Two passes over the CASIA files (labels first, then images) stream the images straight to the output file,
    so memory stays at one CASIA file plus one synthesis chunk however large the data set is."""
    d = recipe.data
    spec = recipe.data.raster
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    train_files, val_files = _expand(d.gnt + d.pot), _expand(d.val_gnt + d.val_pot)
    train_real, train_damage = index_casia(train_files, skip_bad) if train_files else ([], [])
    val_real, val_damage = index_casia(val_files, skip_bad) if val_files else ([], [])
    if d.classes == "found":
        labels = sorted({c for _, file_labels in train_real for c in file_labels})
        if not labels:
            raise ValueError('classes = "found" needs .gnt or .pot training files')
    else:  # a named set, or a labels file (an ablation's class subset)
        labels = charset.class_set(d.classes, ppocrv6_dictionary)
    index = {c: i for i, c in enumerate(labels)}

    fonts = recipe_fonts(recipe) if d.synthetic_per_class or d.synthetic_val_per_class else []
    seeds = d.synthetic_seeds or [d.seed]
    splits = {}
    for split, real, per_class, split_seeds in (
        ("train", train_real, d.synthetic_per_class, seeds),
        ("val", val_real, d.synthetic_val_per_class, [seeds[0] + 1000]),
    ):
        found = sum(len(file_labels) for _, file_labels in real)
        kept = sum(c in index for _, file_labels in real for c in file_labels)
        if found - kept:
            warn(f"{split}: {found - kept} CASIA samples have labels outside the class set and are left out")
        blocks = split_seeds if per_class else []
        count = kept + len(blocks) * len(labels) * per_class
        if count == 0:
            continue
        images = NpyWriter(out / f"{split}-images.npy", (count, spec.size, spec.size))
        targets = np.empty(count, np.int32)
        at = write_casia(real, spec, index, images, targets)
        for seed in blocks:
            _, y = synthesize(labels, spec, per_class, seed, d.font_share, fonts, workers=workers, sink=images,
                              cursive_components=d.cursive_components)
            targets[at : at + len(y)] = y
            at += len(y)
        images.close()
        atomic_write(out / f"{split}-labels.npy", lambda fh: np.save(fh, targets))
        splits[split] = {"samples": count, "casia_samples": kept, "synthetic_per_class": per_class,
                         "synthetic_seeds": blocks}
    if "train" not in splits:
        raise ValueError("the recipe gives no training data: set data.gnt, data.pot or data.synthetic_per_class")
    charset.write_labels(out / "labels.txt", labels)
    stats = {
        "recipe": recipe.name,
        "classes": len(labels),
        "raster": spec.to_dict(),
        "splits": splits,
        "train_files": train_files,
        "val_files": val_files,
        "damaged_files": train_damage + val_damage,  # read up to the damage; the records after it are not in the data
        "seconds": round(time.time() - started, 1),
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False), encoding="utf-8")
    return stats
