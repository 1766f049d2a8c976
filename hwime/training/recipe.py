"""Recipes: one TOML file per reproducible run (data, arch, schedule), with `--set section.key=value` overrides."""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..raster import RasterError, RasterSpec
from .fonts import DEFAULT_FONTS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RASTER_KEYS = ("size", "threshold", "mean", "std", "margin", "square", "layout", "width")  # data.* keys that make the RasterSpec


@dataclass
class DataConfig:
    """What to learn from. In TOML the raster's keys sit in [data] beside the rest (data.size, data.threshold …)."""

    raster: RasterSpec = field(default_factory=RasterSpec)  # size 64, threshold 200, mean .95, std .2, margin .06, pad
    classes: str = "gb2312"  # a charset.named_set name, "found" (every label the data has), or a labels .txt file
    gnt: list = field(default_factory=list)  # globs of CASIA-HWDB .gnt files for training
    pot: list = field(default_factory=list)  # globs of CASIA-OLHWDB .pot files for training
    val_gnt: list = field(default_factory=list)
    val_pot: list = field(default_factory=list)
    synthetic_per_class: int = 0  # synthetic samples per class added to training
    synthetic_val_per_class: int = 0
    font_share: float = 0.5
    cursive_components: float = 0.0  # share of stroke samples writing 宀 扌 氵 讠 joined, as fast writers do
    fonts: list = field(default_factory=lambda: list(DEFAULT_FONTS))  # names from hwime.training.fonts, or font files
    seed: int = 1
    synthetic_seeds: list = field(default_factory=list)  # one block of synthetic_per_class samples per seed; [] = [seed]

    def to_dict(self) -> dict:
        out = self.raster.to_dict()
        out.update({f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self) if f.name != "raster"})
        return out


@dataclass
class ModelConfig:
    arch: str = "hwnet"
    in_channels: int = 1  # 3: a three-channel first layer fed copies of the gray image (RGB-trained seeds)
    channel_mean: list = field(default_factory=list)  # per input channel, after data.mean/std (ImageNet: .485 .456 .406)
    channel_std: list = field(default_factory=list)
    # start from these weights: a checkpoint path, a model bundle (e.g. assets/hwime-all.pt, the shipped model),
    # or "ppocrv6-tiny" / "ppocrv6-small" for what `import-ppocr` wrote (runs/ppocrv6-<tier>/imported.pt);
    # "" = from scratch
    init: str = ""
    # what fine-tuning may change: all; neck+head; head; new_rows (only the head rows of classes the imported
    # dictionary lacked: what the imported weights learned from real data stays exactly as it was)
    trainable: str = "all"

    def options(self) -> dict:
        """build_model's keyword arguments besides arch and the class count."""
        return {"in_channels": self.in_channels, "channel_mean": list(self.channel_mean), "channel_std": list(self.channel_std)}

    def to_dict(self) -> dict:
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 256
    optimizer: str = "adamw"  # adamw, adam or sgd
    lr: float = 3e-3
    momentum: float = 0.9
    nesterov: bool = True  # sgd only
    weight_decay: float = 5e-4
    decay_all: bool = False  # weight decay on biases and norm weights too (the seeds' plain optimizers)
    schedule: str = "onecycle"  # per step: onecycle, cosine (warm-up, then cosine); per epoch: cosine_epoch, plateau
    warmup_epochs: float = 0.3
    t_max: int = 0  # cosine_epoch's period in epochs; 0 = epochs
    plateau_patience: int = 2  # plateau: epochs without a lower val loss before the rate is cut
    plateau_factor: float = 0.5
    label_smoothing: float = 0.1
    augment: float = 1.0  # strength of the tensor-level augmentation, 0 = off
    augment_style: str = "hwime"  # or "torchvision": the seeds' rotation 15°, perspective p=0.1, blur
    binarize: int = 0  # > 0: training images (not validation) become 0 below it and 255 at or above it
    amp: bool = True  # mixed precision on CUDA (a CPU run is always fp32)
    checkpoint_every: int = 500  # steps
    early_stop_on: str = "val_top1"  # or val_loss: what best.pt and patience watch
    patience: int = 0  # epochs without a better early_stop_on before stopping; 0 = never stop early
    seed: int = 0
    threads: int = 0  # torch CPU threads, 0 = half the cores
    workers: int = -1  # DataLoader processes that gather and augment batches; -1 = 8 on CUDA, 0 on CPU

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class LinesConfig:
    """What `train-lines` learns from: real line sets and composed lines (hwime.training.linecompose)."""

    train: list = field(default_factory=list)  # line sets: ink .jsonl with "text", .tsv, .dgrl / .ptts / .wptt pages (globs), IAM folders
    val: list = field(default_factory=list)
    synthetic: int = 0  # composed lines for training
    synthetic_val: int = 0
    max_chars: int = 12
    name_share: float = 0.15  # composed strings: names (surname + given name)
    rare_share: float = 0.2  # composed strings: runs of random characters, the rarest classes first
    symbol_share: float = 0.15  # composed strings: a word with digits, Latin letters or punctuation beside it

    def to_dict(self) -> dict:
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}


@dataclass
class Recipe:
    """One reproducible run: recipe.data.raster is the one RasterSpec that prepare, train, export and the pad share."""

    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    lines: LinesConfig = field(default_factory=LinesConfig)

    def to_dict(self) -> dict:
        """The TOML shape: what checkpoints and bundles store, and what --resume compares."""
        return {"name": self.name, "data": self.data.to_dict(), "model": self.model.to_dict(), "train": self.train.to_dict(),
                "lines": self.lines.to_dict()}

    @classmethod
    def from_dict(cls, given: dict) -> "Recipe":
        """A recipe table (a checkpoint's, or a file's merged over the defaults): checked, missing keys at defaults."""
        check_recipe(given)
        d = _merge(DEFAULTS, given)
        raster = RasterSpec(**{k: d["data"][k] for k in RASTER_KEYS})
        data = DataConfig(raster=raster, **{k: v for k, v in d["data"].items() if k not in RASTER_KEYS})
        return cls(d["name"], data, ModelConfig(**d["model"]), TrainConfig(**d["train"]), LinesConfig(**d["lines"]))


DEFAULTS: dict = Recipe().to_dict()

CHOICES = {
    "data.square": ("pad", "stretch"),
    "data.layout": ("square", "line"),
    "model.in_channels": (1, 3),
    "model.trainable": ("all", "neck+head", "head", "new_rows"),
    "train.optimizer": ("adamw", "adam", "sgd"),
    "train.schedule": ("onecycle", "cosine", "cosine_epoch", "plateau"),
    "train.augment_style": ("hwime", "torchvision"),
    "train.early_stop_on": ("val_top1", "val_loss"),
}


# the least value a number may have: below it a run fails deep inside torch (a batch of 0, no epoch to schedule)
MINIMUM = {
    "train.epochs": 1,
    "train.batch_size": 1,
    "train.checkpoint_every": 1,
    "train.threads": 0,  # 0 = half the cores
    "train.workers": -1,  # -1 = chosen by device
    "train.lr": 0.0,
    "train.warmup_epochs": 0.0,
    "train.t_max": 0,
    "train.patience": 0,
    "data.synthetic_per_class": 0,
    "data.synthetic_val_per_class": 0,
    "lines.synthetic": 0,
    "lines.synthetic_val": 0,
    "lines.max_chars": 2,  # the composer's words have two characters at least
}
# lists whose items are file names, font names or globs
TEXT_LISTS = ("data.gnt", "data.pot", "data.val_gnt", "data.val_pot", "data.fonts", "lines.train", "lines.val")


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


def check_recipe(recipe: dict, schema: dict | None = None, where: str = "") -> None:
    """Refuse keys DEFAULTS does not have and values of another type (nanoGPT's configurator does the same)."""
    schema = DEFAULTS if schema is None else schema
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
        elif name in MINIMUM and not value >= MINIMUM[name]:  # `not >=`: NaN is refused too
            raise RecipeError(f"recipe key {name!r} must be at least {MINIMUM[name]}, got {value!r}")
        elif name in TEXT_LISTS and not all(isinstance(v, str) for v in value):
            bad = next(v for v in value if not isinstance(v, str))
            raise RecipeError(f"recipe key {name!r} must be a list of text (file names or globs), got {bad!r} in it")


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


def load_recipe(path: str | Path | None, overrides: list[str] = ()) -> Recipe:
    """The recipe at ``path`` over the defaults, then each ``section.key=value`` (value parsed as JSON when it can be)."""
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
    name = recipe.get("name")
    # a name is a folder under runs/: never a path that writes checkpoints and logs somewhere else
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise RecipeError(f"{path or 'recipe'}: name {str(name)[:60]!r} must be a plain name (no '/', '\\' or '..'): "
                          "runs go to runs/<name>/")
    try:
        return Recipe.from_dict(recipe)
    except RasterError as exc:
        raise RecipeError(f"{path or 'recipe'}: data.{exc}") from None
