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
from .casia import CasiaFormatError, iter_gnt, iter_pot
from .progress import progress, warn


def spec_from_recipe(recipe: dict) -> RasterSpec:
    return RasterSpec.from_dict(recipe["data"])


def _expand(patterns: list[str]) -> list[str]:
    files: list[str] = []
    for p in patterns:
        hits = sorted(glob.glob(os.path.expanduser(p)))
        if not hits:
            raise FileNotFoundError(f"no files match {p!r}")
        files += hits
    return files


def read_casia(files: list[str], spec: RasterSpec, skip_bad: bool) -> tuple[list[str], list[np.ndarray], list[dict]]:
    """All samples of .gnt/.pot files as (labels, prepared images, damage report). A corrupt record raises unless
    skip_bad; then the file's records before it are kept (a truncated file loses only its tail) and it is reported."""
    labels: list[str] = []
    images: list[np.ndarray] = []
    damaged: list[dict] = []
    for f in progress(files, desc="reading CASIA files", unit="file"):
        reader = iter_gnt if f.lower().endswith(".gnt") else iter_pot
        try:
            for label, item in reader(f):
                labels.append(label)
                # a .gnt record is a segmented character, a tight crop by construction, like render_ink's output
                images.append(prepare_image(item, spec, crop=False) if reader is iter_gnt else ink_to_image(item, spec))
        except CasiaFormatError as exc:
            if not skip_bad:
                raise
            warn(f"skipping the rest of {exc}")
            damaged.append({"file": f, "offset": exc.offset, "problem": str(exc)})
    if damaged:
        warn(f"{len(damaged)} of {len(files)} files are damaged: their records from the damage on were skipped")
    return labels, images, damaged


_WORKER: dict = {}


def _init_worker(labels: list[str], spec: RasterSpec, seed: int, font_share: float, fonts: list[str]) -> None:
    from .synthetic import SyntheticSource

    _WORKER["source"] = SyntheticSource(labels, spec, seed, font_share=font_share, fonts=fonts)


def recipe_fonts(recipe: dict) -> list[str]:
    """Paths of the recipe's fonts; none when it draws no font samples. Raises FontError when one is missing."""
    from .fonts import resolve

    d = recipe["data"]
    return resolve(d["fonts"]) if d["font_share"] > 0 and d["fonts"] else []


def _synth_chunk(job: tuple[list[int], int, int]) -> np.ndarray:
    classes, first, count = job
    src = _WORKER["source"]
    return np.stack([src.sample(c, first + i) for c in classes for i in range(count)])


def synthesize(labels: list[str], spec: RasterSpec, per_class: int, seed: int, font_share: float,
               fonts: list[str] = (), first_index: int = 0, workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """per_class samples of every class, in class order; identical for any number of workers."""
    workers = workers or os.cpu_count() or 1
    chunk = 16
    jobs = [(list(range(c, min(c + chunk, len(labels)))), first_index, per_class) for c in range(0, len(labels), chunk)]
    images = np.empty((len(labels) * per_class, spec.size, spec.size), np.uint8)
    at = 0
    bar = progress(total=len(images), desc=f"synthesizing seed {seed}", unit="img")
    if workers == 1:
        _init_worker(labels, spec, seed, font_share, list(fonts))
        results = map(_synth_chunk, jobs)
        pool = None
    else:
        pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(labels, spec, seed, font_share, list(fonts)))
        results = pool.map(_synth_chunk, jobs)
    for block in results:
        images[at : at + len(block)] = block
        at += len(block)
        bar.update(len(block))
    bar.close()
    if pool:
        pool.shutdown()
    targets = np.repeat(np.arange(len(labels), dtype=np.int32), per_class)
    return images, targets


def _save_split(out: Path, split: str, images: np.ndarray, targets: np.ndarray) -> None:
    for name, arr in (("images", images), ("labels", targets)):
        tmp = out / f"{split}-{name}.tmp.npy"
        np.save(tmp, arr)
        os.replace(tmp, out / f"{split}-{name}.npy")


def prepare(recipe: dict, out: str | Path, skip_bad: bool = False, workers: int | None = None) -> dict:
    """Build the packed data set a recipe describes; returns the stats written to stats.json."""
    d = recipe["data"]
    spec = spec_from_recipe(recipe)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    train_files, val_files = _expand(d["gnt"] + d["pot"]), _expand(d["val_gnt"] + d["val_pot"])
    train_real = read_casia(train_files, spec, skip_bad) if train_files else ([], [], [])
    val_real = read_casia(val_files, spec, skip_bad) if val_files else ([], [], [])
    damaged = train_real[2] + val_real[2]
    if d["classes"] == "found":
        labels = sorted(set(train_real[0]))
        if not labels:
            raise ValueError('classes = "found" needs .gnt or .pot training files')
    else:
        labels = charset.named_set(d["classes"])
    index = {c: i for i, c in enumerate(labels)}

    fonts = recipe_fonts(recipe) if d["synthetic_per_class"] or d["synthetic_val_per_class"] else []
    seeds = d.get("synthetic_seeds") or [d["seed"]]
    splits = {}
    for split, (real_labels, real_images, _), per_class, split_seeds in (
        ("train", train_real, d["synthetic_per_class"], seeds),
        ("val", val_real, d["synthetic_val_per_class"], [seeds[0] + 1000]),
    ):
        keep = [i for i, c in enumerate(real_labels) if c in index]
        dropped = len(real_labels) - len(keep)
        if dropped:
            warn(f"{split}: {dropped} CASIA samples have labels outside the class set and are left out")
        parts_x = [np.stack([real_images[i] for i in keep])] if keep else []
        parts_y = [np.array([index[real_labels[i]] for i in keep], np.int32)] if keep else []
        for seed in split_seeds if per_class else []:
            x, y = synthesize(labels, spec, per_class, seed, d["font_share"], fonts, workers=workers)
            parts_x.append(x)
            parts_y.append(y)
        if not parts_x:
            continue
        images = np.concatenate(parts_x)
        targets = np.concatenate(parts_y)
        _save_split(out, split, images, targets)
        splits[split] = {"samples": int(len(images)), "casia_samples": len(keep), "synthetic_per_class": per_class,
                         "synthetic_seeds": split_seeds if per_class else []}
    if "train" not in splits:
        raise ValueError("the recipe gives no training data: set data.gnt, data.pot or data.synthetic_per_class")
    charset.write_labels(out / "labels.txt", labels)
    stats = {
        "recipe": recipe["name"],
        "classes": len(labels),
        "raster": spec.to_dict(),
        "splits": splits,
        "train_files": train_files,
        "val_files": val_files,
        "damaged_files": damaged,  # read up to the damage; the records from there on are not in the data
        "seconds": round(time.time() - started, 1),
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False), encoding="utf-8")
    return stats
