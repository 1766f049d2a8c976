"""Recipes: one TOML file per reproducible run (data, arch, schedule), with `--set section.key=value` overrides."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

from .fonts import DEFAULT_FONTS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULTS: dict = {
    "name": "run",
    "data": {
        "classes": "gb2312",  # a charset.named_set name, "found" (every label the data has), or a labels .txt file
        "size": 64,
        "threshold": 200,
        "mean": 0.95,
        "std": 0.2,
        "margin": 0.06,
        "square": "pad",  # or "stretch" (the glyph fills the square whatever its aspect)
        "gnt": [],  # globs of CASIA-HWDB .gnt files for training
        "pot": [],  # globs of CASIA-OLHWDB .pot files for training
        "val_gnt": [],
        "val_pot": [],
        "synthetic_per_class": 0,  # synthetic samples per class added to training
        "synthetic_val_per_class": 0,
        "font_share": 0.5,
        "cursive_components": 0.0,  # share of stroke samples writing 宀 扌 氵 讠 joined, as fast writers do
        "fonts": list(DEFAULT_FONTS),  # names from hwime.training.fonts, or font file paths
        "seed": 1,
        "synthetic_seeds": [],  # one block of synthetic_per_class samples per seed; empty = [seed]
    },
    "model": {
        "arch": "hwnet",
        "in_channels": 1,  # 3: a three-channel first layer fed copies of the gray image (RGB-trained seeds)
        "channel_mean": [],  # per input channel, after data.mean/std (ImageNet: [0.485, 0.456, 0.406])
        "channel_std": [],
    },
    "train": {
        "epochs": 10,
        "batch_size": 256,
        "optimizer": "adamw",  # adamw, adam or sgd
        "lr": 3e-3,
        "momentum": 0.9,
        "nesterov": True,  # sgd only
        "weight_decay": 5e-4,
        "decay_all": False,  # weight decay on biases and norm weights too (the seeds' plain optimizers)
        "schedule": "onecycle",  # per step: onecycle, cosine (warm-up, then cosine); per epoch: cosine_epoch, plateau
        "warmup_epochs": 0.3,
        "t_max": 0,  # cosine_epoch's period in epochs; 0 = epochs
        "plateau_patience": 2,  # plateau: epochs without a lower val loss before the rate is cut
        "plateau_factor": 0.5,
        "label_smoothing": 0.1,
        "augment": 1.0,  # strength of the tensor-level augmentation, 0 = off
        "augment_style": "hwime",  # or "torchvision": the seeds' rotation 15°, perspective p=0.1, blur
        "binarize": 0,  # > 0: training images (not validation) become 0 below it and 255 at or above it
        "amp": True,  # mixed precision on CUDA (a CPU run is always fp32)
        "checkpoint_every": 500,  # steps
        "early_stop_on": "val_top1",  # or val_loss: what best.pt and patience watch
        "patience": 0,  # epochs without a better early_stop_on before stopping; 0 = never stop early
        "seed": 0,
        "threads": 0,  # torch CPU threads, 0 = half the cores
        "workers": -1,  # DataLoader processes that gather and augment batches; -1 = 8 on CUDA, 0 on CPU
    },
}


CHOICES = {
    "data.square": ("pad", "stretch"),
    "model.in_channels": (1, 3),
    "train.optimizer": ("adamw", "adam", "sgd"),
    "train.schedule": ("onecycle", "cosine", "cosine_epoch", "plateau"),
    "train.augment_style": ("hwime", "torchvision"),
    "train.early_stop_on": ("val_top1", "val_loss"),
}


class RecipeError(ValueError):
    """A recipe key that does not exist or a value of the wrong type; the message names the key."""


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number" if isinstance(value, float) else "an integer"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "a table"


def _fits(value, default) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def check_recipe(recipe: dict, schema: dict = DEFAULTS, where: str = "") -> None:
    """Refuse keys DEFAULTS does not have and values of another type (nanoGPT's configurator does the same)."""
    for key, value in recipe.items():
        name = f"{where}{key}"
        if key not in schema:
            raise RecipeError(f"unknown recipe key {name!r}; {where.rstrip('.') or 'the top level'} has "
                              f"{', '.join(sorted(schema))}")
        default = schema[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise RecipeError(f"recipe key {name!r} must be a table, got {_kind(value)}")
            check_recipe(value, default, f"{name}.")
        elif not _fits(value, default):
            raise RecipeError(f"recipe key {name!r} must be {_kind(default)}, got {value!r}")
        elif name in CHOICES and value not in CHOICES[name]:
            raise RecipeError(f"recipe key {name!r} must be one of {', '.join(map(repr, CHOICES[name]))}, got {value!r}")


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def load_recipe(path: str | Path | None, overrides: list[str] = ()) -> dict:
    """The recipe at ``path`` over DEFAULTS, then each ``section.key=value`` (value parsed as JSON when it can be)."""
    recipe = copy.deepcopy(DEFAULTS)
    if path:
        with open(path, "rb") as fh:
            try:
                given = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise RecipeError(f"{path}: not valid TOML ({exc})") from None
        try:
            check_recipe(given)
        except RecipeError as exc:
            raise RecipeError(f"{path}: {exc}") from None
        recipe = _merge(recipe, given)
        recipe.setdefault("name", Path(path).stem)
        if recipe["name"] == "run":
            recipe["name"] = Path(path).stem
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set wants section.key=value, got {item!r}")
        *sections, leaf = key.split(".")
        node = recipe
        for s in sections:
            node = node.get(s) if isinstance(node.get(s), dict) else {}
        if leaf not in node:
            known = ", ".join(sorted(node)) or "no keys"
            raise RecipeError(f"unknown recipe key {key!r} in --set; {'.'.join(sections) or 'the top level'} has {known}")
        node[leaf] = _parse_value(value)
    check_recipe(recipe)
    return recipe
