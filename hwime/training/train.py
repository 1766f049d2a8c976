"""`train`: fit a model on a packed data set, with exact resume, best-by-val, early stopping and DDP.

Launch plainly for one process, or with `torchrun --nproc_per_node N` for distributed data parallel
(gloo on CPU, nccl on GPU). Checkpoints are written atomically every `checkpoint_every` steps and hold
everything needed to continue bit-for-bit: model, optimizer, scheduler, RNG states and the data position.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from .. import charset
from ..bundle import CTC_BLANK
from ..model import build_model
from ..raster import RasterSpec, normalize
from ..network import pick_device
from . import checkpoint
from .augment import augment_batch, binarize, seed_augment_batch
from .progress import progress
from .recipe import Recipe, TrainConfig
from .runs import clear_temporaries, output_folder, restore, stop_signals


class PackedImages:
    """The uint8 image arrays of one or more prepared folders, memory-mapped (never read whole, and shared by
    every DDP process through the page cache); ``take(indices)`` gathers a batch in the given order."""

    def __init__(self, arrays: list[np.ndarray]):
        self.arrays = arrays
        self.starts = np.cumsum([0] + [len(a) for a in arrays])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def take(self, indices: np.ndarray) -> torch.Tensor:
        indices = np.asarray(indices)
        if len(self.arrays) == 1:
            return torch.from_numpy(np.ascontiguousarray(self.arrays[0][indices]))
        part = np.searchsorted(self.starts, indices, side="right") - 1
        out = np.empty((len(indices), *self.arrays[0].shape[1:]), np.uint8)
        for k in np.unique(part):
            mask = part == k
            out[mask] = self.arrays[k][indices[mask] - self.starts[k]]
        return torch.from_numpy(out)

    def __getitem__(self, item: slice) -> torch.Tensor:
        return self.take(np.arange(len(self))[item])

    def __getstate__(self) -> dict:
        """Memory-mapped arrays travel to loader processes as their file names, not their contents."""
        if all(isinstance(a, np.memmap) for a in self.arrays):
            return {"files": [a.filename for a in self.arrays], "starts": self.starts}
        return {"arrays": self.arrays, "starts": self.starts}

    def __setstate__(self, state: dict) -> None:
        self.starts = state["starts"]
        self.arrays = state.get("arrays") or [np.load(f, mmap_mode="r") for f in state["files"]]


def _load_split(data_dir: Path, split: str) -> tuple[np.ndarray, torch.Tensor] | None:
    images = data_dir / f"{split}-images.npy"
    if not images.exists():
        return None
    return np.load(images, mmap_mode="r"), torch.from_numpy(np.load(data_dir / f"{split}-labels.npy")).long()


def default_threads() -> int:
    """Half the cores: a second busy thread on a loaded 2-core machine made each step many times slower."""
    return max(1, (os.cpu_count() or 2) // 2)


def data_spec(dirs: list[Path], recipe: Recipe) -> RasterSpec:
    """The raster spec the data was prepared with (stats.json); a recipe that says otherwise is an error."""
    wanted = recipe.data.raster
    for d in dirs:
        stats_path = d / "stats.json"
        if not stats_path.exists():
            continue
        made = RasterSpec.from_dict(json.loads(stats_path.read_text(encoding="utf-8"))["raster"])
        if made != wanted:
            diff = ", ".join(f"data.{k}: prepared {v}, recipe {getattr(wanted, k)}" for k, v in made.to_dict().items()
                             if getattr(wanted, k) != v)
            raise ValueError(f"{d} was prepared with another raster spec ({diff}); prepare again or fix the recipe")
        return made
    return wanted


def default_workers(device: torch.device) -> int:
    """DataLoader processes when the recipe says -1: enough to feed a GPU, none beside a CPU run (whose cores
    are all needed by the training thread on small machines)."""
    return min(8, max(0, (os.cpu_count() or 1) - 1)) if device.type == "cuda" else 0


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.decay_all:  # seeds decay every parameter; decaying norms fights the normalization
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "weight_decay": cfg.weight_decay}]
    else:
        decay = [p for p in model.parameters() if p.ndim > 1 and p.requires_grad]
        no_decay = [p for p in model.parameters() if p.ndim <= 1 and p.requires_grad]  # biases and norms
        groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    if cfg.optimizer == "adam":  # weight decay as an L2 term in the gradient, as torch.optim.Adam does it
        return torch.optim.Adam(groups, lr=cfg.lr)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; use adamw, adam or sgd")


STEP_SCHEDULES, EPOCH_SCHEDULES = ("onecycle", "cosine"), ("cosine_epoch", "plateau")


def batch_loss(logits: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy for a classifier's (N, classes); for a CTC recognizer's (N, T, classes + 1) the CTC loss of
    the one-character transcription (class k is output k + 1, the blank 0)."""
    if logits.ndim == 2:
        return F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing if reduction == "mean" else 0.0,
                               reduction=reduction)
    n, t = logits.shape[:2]
    log_probs = logits.float().log_softmax(2).transpose(0, 1)
    lengths = torch.full((n,), t, dtype=torch.long)
    outputs = y + CTC_BLANK + 1  # a CTC head's outputs: the blank, then the classes (hwime.bundle.LabelCodec)
    return F.ctc_loss(log_probs, outputs.view(n, 1), lengths, torch.ones(n, dtype=torch.long), blank=CTC_BLANK,
                      reduction=reduction, zero_infinity=True)


def predictions(logits: torch.Tensor) -> torch.Tensor:
    """The top class of each sample: a CTC recognizer's by its best frame, as the Recognizer ranks."""
    if logits.ndim == 2:
        return logits.argmax(1)
    return logits.softmax(2)[..., CTC_BLANK + 1:].amax(1).argmax(1)


def start_from(model_arch: str, labels: list[str], init: str, trainable: str) -> tuple[torch.nn.Module, bool]:
    """(the model with the init checkpoint's weights and the rest frozen per ``trainable``, whether it is fused)."""
    path = checkpoint.init_path(init)
    if not path.exists():
        hint = f": run `python -m hwime.training import-ppocr {init.split('-')[1]}` first" if init.startswith("ppocrv6-") else ""
        raise FileNotFoundError(f"model.init {init!r}: {path} does not exist{hint}")
    ckpt = checkpoint.load_start(path)
    if list(ckpt["labels"]) != labels:
        raise ValueError(f"model.init {path}: its {len(ckpt['labels'])} classes are not the data's {len(labels)}; "
                         "import with --classes set to the data's labels.txt")
    fused = bool(ckpt.get("fused"))
    model = build_model(model_arch, len(labels), fused=fused)
    model.load_state_dict(ckpt["model"])
    freeze(model, trainable, ckpt.get("class_rows"))
    return model, fused


def freeze(model: torch.nn.Module, trainable: str, class_rows: list[int] | None = None) -> None:
    """Leave only ``trainable`` (all, neck+head, head, new_rows) to the optimizer."""
    if trainable == "all":
        return
    keep = {"neck+head": ("neck.", "head_mid.", "head."), "head": ("head_mid.", "head."), "new_rows": ("head.",)}[trainable]
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(keep))
    if trainable == "new_rows":
        if class_rows is None:
            raise ValueError("model.trainable = \"new_rows\" needs a model.init from import-ppocr (it knows the new rows)")
        mask = torch.tensor([0.0] + [1.0 if r < 0 else 0.0 for r in class_rows])
        head = model.head
        head.weight.register_hook(lambda g: g * mask.to(g.device)[:, None])
        head.bias.register_hook(lambda g: g * mask.to(g.device))


def build_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int, steps_per_epoch: int):
    """onecycle and cosine (with warm-up) step every batch; cosine_epoch (torch's CosineAnnealingLR, T_max in
    epochs) and plateau (ReduceLROnPlateau on the validation loss) step once an epoch."""
    warmup = max(2, int(cfg.warmup_epochs * steps_per_epoch))  # OneCycleLR needs two warm-up steps
    if cfg.schedule == "onecycle":
        # a 2-step run makes OneCycleLR's warm-up end where it starts (a ZeroDivisionError in its first step): the
        # shortest cycle it runs is 3 steps, of which a 1- or 2-step run takes the first
        total_steps = max(3, total_steps)
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, total_steps=total_steps, pct_start=min(0.5, warmup / total_steps),
            div_factor=25, final_div_factor=1e3)
    if cfg.schedule == "cosine":
        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total_steps - warmup))))
        return torch.optim.lr_scheduler.LambdaLR(opt, factor)
    if cfg.schedule == "cosine_epoch":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.t_max or cfg.epochs)
    if cfg.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", patience=cfg.plateau_patience,
                                                          factor=cfg.plateau_factor)
    raise ValueError(f"unknown schedule {cfg.schedule!r}; use {', '.join(STEP_SCHEDULES + EPOCH_SCHEDULES)}")


def epoch_order(n: int, seed: int, epoch: int, rank: int, world: int) -> np.ndarray:
    """This rank's sample order for an epoch: a shuffle fixed by (seed, epoch), split evenly across ranks."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    per_rank = n // world
    return perm[rank * per_rank : (rank + 1) * per_rank]


def step_generator(seed: int, rank: int, step: int) -> torch.Generator:
    """The augmentation draws of one batch, fixed by (seed, rank, step): any loader process can make any batch,
    and a resumed run makes the same ones without carrying generator state."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0]))


def augment_step(images: torch.Tensor, step: int, cfg: TrainConfig, spec: RasterSpec, rank: int) -> torch.Tensor:
    """A uint8 batch (on any device) -> the normalized, augmented float batch of training step ``step``."""
    if cfg.binarize:
        images = binarize(images, cfg.binarize)
    style = seed_augment_batch if cfg.augment_style == "torchvision" else augment_batch
    return style(images, spec, cfg.augment, step_generator(cfg.seed, rank, step))


class EpochBatches(torch.utils.data.Dataset):
    """The batches of one epoch from ``state["step_in_epoch"]`` on, one item per step: (images, labels). With
    ``augment`` the images come out augmented and normalized; without, as uint8 for the device to augment.
    Small to pickle (the images travel as file names), so loader processes start quickly however they start."""

    def __init__(self, run: "Run", augment: bool):
        self.train_x, self.train_y, self.spec, self.rank = run.train_x, run.train_y, run.spec, run.rank
        self.cfg = run.cfg
        self.first_step = run.state["step_in_epoch"]
        self.epoch_start = run.state["global_step"] - run.state["step_in_epoch"]
        self.steps, self.augment = run.steps_per_epoch, augment
        self.order = epoch_order(len(run.train_x), run.cfg.seed, run.state["epoch"], run.rank, run.world)

    def __len__(self) -> int:
        return self.steps - self.first_step

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        size, step = self.cfg.batch_size, self.first_step + item
        idx = self.order[step * size : (step + 1) * size]
        images = self.train_x.take(idx)
        labels = self.train_y[torch.from_numpy(idx)]
        if self.augment:
            images = augment_step(images, self.epoch_start + step, self.cfg, self.spec, self.rank)
        return images, labels


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # each loader process augments on one core
    # Ctrl-C reaches the whole process group: the trainer checkpoints and stops its loader; a loader process that
    # died of the signal first would fail the step in flight instead
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


class RunLog:
    """log.csv (and TensorBoard when installed): one row per logged step and per validation."""

    FIELDS = ["epoch", "step", "lr", "train_loss", "train_top1", "val_top1", "val_loss", "img_per_s", "seconds"]

    def __init__(self, run_dir: Path, main: bool, resume_step: int | None):
        self.path, self.main = run_dir / "log.csv", main
        self.tb = None
        if not main:
            return
        if not self.path.exists():
            self._rewrite([])
        elif resume_step is not None:  # rows written after the checkpoint will be written again: drop them
            rows = list(csv.DictReader(open(self.path, newline="")))
            self._rewrite([r for r in rows if int(r["step"]) <= resume_step])
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(run_dir / "tensorboard")
        except ImportError:  # TensorBoard is optional
            pass

    def _rewrite(self, rows: list[dict]) -> None:
        with open(self.path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(self.FIELDS)
            for r in rows:
                w.writerow([r.get(k, "") for k in self.FIELDS])

    def write(self, row: dict) -> None:
        if not self.main:
            return
        with open(self.path, "a", newline="") as fh:
            csv.writer(fh).writerow([row.get(k, "") for k in self.FIELDS])
        if self.tb:
            for k, v in row.items():
                if k not in ("epoch", "step") and v != "":
                    self.tb.add_scalar(k, v, row["step"])

    def close(self) -> None:
        if self.tb:
            self.tb.close()


@dataclass
class Run:
    """Everything `setup` builds once: data, model, optimizer, schedule, progress state and the log."""

    recipe: Recipe
    cfg: TrainConfig
    rank: int
    world: int
    distributed: bool
    device: torch.device
    spec: RasterSpec
    labels: list[str]
    train_x: PackedImages
    train_y: torch.Tensor
    val: tuple[PackedImages, torch.Tensor] | None
    steps_per_epoch: int
    model: torch.nn.Module
    net: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: object
    scaler: torch.amp.GradScaler
    use_amp: bool
    workers: int
    state: dict
    run_dir: Path
    log: RunLog

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(recipe: Recipe, data_dirs: list[Path], run_dir: Path, resume: bool, device: str) -> Run:
    """Process group, data (memory-mapped), model, optimizer, schedule; restored from the checkpoint on resume."""
    cfg = recipe.train
    distributed = "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1
    chosen, unmet = pick_device(device)
    if unmet:  # a run asked for a GPU: days on the CPU instead would be a silent surprise
        raise ValueError(f"--device {device}: CUDA is not available here; train with --device cpu or auto")
    device = chosen.type
    if distributed:
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        if device == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    else:
        rank, world = 0, 1
    dev = torch.device(device)
    torch.set_num_threads(int(cfg.threads) or default_threads())
    if rank == 0:
        output_folder(run_dir, "--run-dir")
        clear_temporaries(run_dir)

    spec = data_spec(data_dirs, recipe)
    labels = charset.read_labels(data_dirs[0] / "labels.txt")
    for d in data_dirs[1:]:
        if charset.read_labels(d / "labels.txt") != labels:
            raise ValueError(f"{d}/labels.txt differs from {data_dirs[0]}/labels.txt: prepared folders must share one class set")
    parts = [p for p in (_load_split(d, "train") for d in data_dirs) if p is not None]
    if not parts:
        raise FileNotFoundError(f"no train-images.npy in {', '.join(map(str, data_dirs))}: run prepare first")
    train_x = PackedImages([x for x, _ in parts])
    train_y = torch.cat([y for _, y in parts]) if len(parts) > 1 else parts[0][1]
    val = next((v for v in (_load_split(d, "val") for d in data_dirs) if v is not None), None)
    if val is not None:
        val = (PackedImages([val[0]]), val[1])
    steps_per_epoch = len(train_x) // world // cfg.batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"{len(train_x)} training samples are fewer than one batch of {cfg.batch_size} per process")

    torch.manual_seed(cfg.seed)
    fused = False
    if recipe.model.init:
        model, fused = start_from(recipe.model.arch, labels, recipe.model.init, recipe.model.trainable)
    else:
        model = build_model(recipe.model.arch, len(labels), **recipe.model.options())
    model.hwime_fused = fused  # checkpoints say which form of the network they hold
    model = model.to(dev, memory_format=torch.channels_last)
    opt = build_optimizer(model, cfg)
    sched = build_schedule(opt, cfg, steps_per_epoch * cfg.epochs, steps_per_epoch)
    use_amp = dev.type == "cuda" and cfg.amp
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best_top1": -1.0, "best_loss": math.inf,
             "bad_epochs": 0, "seconds": 0.0}
    ckpt_path = run_dir / "checkpoint.pt"
    if resume:
        ckpt = restore(ckpt_path, recipe, model, opt, sched, state)
        if dev.type == "cuda" and "cuda_rng" in ckpt:
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
        if use_amp and "scaler" in ckpt:
            scaler.load_state_dict(ckpt["scaler"])
        if rank == 0:
            print(f"resumed {ckpt_path} at epoch {state['epoch']} step {state['step_in_epoch']}", flush=True)
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    workers = default_workers(dev) if cfg.workers < 0 else cfg.workers
    return Run(recipe, cfg, rank, world, distributed, dev, spec, labels, train_x, train_y, val, steps_per_epoch,
               model, net, opt, sched, scaler, use_amp, workers, state, run_dir,
               RunLog(run_dir, rank == 0, state["global_step"] if resume else None))


def save_checkpoint(run: Run) -> None:
    if run.main:
        extra = {"cuda_rng": torch.cuda.get_rng_state_all(), "scaler": run.scaler.state_dict()} if run.use_amp else {}
        checkpoint.save({"model": run.model.state_dict(), "optimizer": run.opt.state_dict(),
                         "scheduler": run.sched.state_dict(), "state": dict(run.state), "torch_rng": torch.get_rng_state(),
                         "recipe": json.dumps(run.recipe.to_dict()), "labels": run.labels,
                         "fused": run.model.hwime_fused, **extra}, run.run_dir / "checkpoint.pt")


def _batches(run: Run):
    """This epoch's remaining batches as (x on the device, normalized; y on the device). Loader processes gather
    (and on a CPU run augment) them while the training thread works; on a GPU the device augments."""
    on_device = run.device.type == "cuda"
    data = EpochBatches(run, augment=not on_device)
    if run.workers:
        # a private generator for the worker seeds: drawing them from the global one (dropout's) would make a run
        # with loader processes differ from the same run without them
        loader = torch.utils.data.DataLoader(data, batch_size=None, shuffle=False, num_workers=run.workers,
                                             pin_memory=on_device, worker_init_fn=_worker_init, prefetch_factor=4,
                                             generator=torch.Generator())
    else:
        loader = (data[i] for i in range(len(data)))
    step = run.state["global_step"]
    for images, labels in loader:
        images = images.to(run.device, non_blocking=True)
        if on_device:
            images = augment_step(images, step, run.cfg, run.spec, run.rank)
        step += 1
        yield images.contiguous(memory_format=torch.channels_last), labels.to(run.device, non_blocking=True)


def train_one_epoch(run: Run, stop: dict, max_steps: int | None, log_every: int) -> dict | None:
    """Train to the end of the epoch; returns an interruption summary when max_steps or a signal stops it (with
    a checkpoint written between steps, so the resumed run is the same run), else None."""
    cfg, state = run.cfg, run.state
    run.net.train()
    bar = progress(total=run.steps_per_epoch, initial=state["step_in_epoch"], desc=f"epoch {state['epoch'] + 1}/{cfg.epochs}",
                   disable=not run.main, unit="step")
    run_loss, run_correct, run_seen, t0 = 0.0, 0, 0, time.time()
    batches = _batches(run)
    try:
        for x, y in batches:
            if (max_steps is not None and state["global_step"] >= max_steps) or stop["signal"]:
                save_checkpoint(run)
                out = {"interrupted_at": state["global_step"]}
                return {**out, "signal": stop["signal"]} if stop["signal"] else out
            with torch.autocast(run.device.type, enabled=run.use_amp):
                logits = run.net(x)
                loss = batch_loss(logits, y, cfg)
            run.opt.zero_grad(set_to_none=True)
            run.scaler.scale(loss).backward()
            run.scaler.step(run.opt)
            run.scaler.update()
            if cfg.schedule in STEP_SCHEDULES:
                run.sched.step()
            state["step_in_epoch"] += 1
            state["global_step"] += 1
            run_loss += float(loss.detach()) * len(y)
            run_correct += int((predictions(logits.detach()) == y).sum())
            run_seen += len(y)
            bar.update(1)
            if state["global_step"] % log_every == 0:
                elapsed = time.time() - t0
                state["seconds"] += elapsed
                run.log.write({"epoch": state["epoch"] + 1, "step": state["global_step"], "lr": run.opt.param_groups[0]["lr"],
                               "train_loss": run_loss / run_seen, "train_top1": run_correct / run_seen,
                               "img_per_s": run_seen * run.world / elapsed, "seconds": round(state["seconds"], 1)})
                bar.set_postfix(loss=f"{run_loss / run_seen:.3f}", top1=f"{run_correct / run_seen:.3f}")
                run_loss, run_correct, run_seen, t0 = 0.0, 0, 0, time.time()
            if state["global_step"] % cfg.checkpoint_every == 0:
                save_checkpoint(run)
    finally:
        batches.close()  # stops the loader processes
        bar.close()
    state["seconds"] += time.time() - t0
    return None


@torch.no_grad()
def validate(model: torch.nn.Module, images, labels: torch.Tensor, spec, device: torch.device,
             batch_size: int = 512) -> dict:
    """Top-1 and mean cross-entropy on the validation images (never augmented, never binarized)."""
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(images), batch_size):
        x = normalize(images[i : i + batch_size], spec).to(device, memory_format=torch.channels_last)
        y = labels[i : i + batch_size].to(device)
        logits = model(x)
        correct += int((predictions(logits) == y).sum())
        loss += float(batch_loss(logits.float(), y, TrainConfig(), reduction="sum"))
    n = max(1, len(images))
    return {"val_top1": correct / n, "val_loss": loss / n}


def end_epoch(run: Run) -> bool:
    """Validate, keep best.pt, step an epoch schedule, checkpoint; True when early stopping says stop."""
    cfg, state = run.cfg, run.state
    state["epoch"] += 1
    state["step_in_epoch"] = 0
    if run.main:
        metrics = validate(run.model, *run.val, run.spec, run.device) if run.val else {"val_top1": math.nan, "val_loss": math.nan}
        run.log.write({"epoch": state["epoch"], "step": state["global_step"], **metrics, "seconds": round(state["seconds"], 1)})
        print(f"epoch {state['epoch']}: val top-1 {metrics['val_top1']:.4f}, loss {metrics['val_loss']:.4f}", flush=True)
        better = (metrics["val_loss"] < state["best_loss"] if cfg.early_stop_on == "val_loss"
                  else metrics["val_top1"] > state["best_top1"])
        if not run.val or better:
            state["best_top1"], state["best_loss"], state["bad_epochs"] = metrics["val_top1"], metrics["val_loss"], 0
            checkpoint.save_best(run.run_dir / "best.pt", run.model.state_dict(), run.labels, run.recipe, state["epoch"],
                                 metrics["val_top1"], fused=run.model.hwime_fused)
        else:
            state["bad_epochs"] += 1
        state["last_val_loss"] = metrics["val_loss"]
    if run.distributed:
        flags = [dict(state)]
        dist.broadcast_object_list(flags, src=0)
        state.update({k: flags[0][k] for k in ("best_top1", "best_loss", "bad_epochs", "last_val_loss")})
    if cfg.schedule == "plateau":
        if not run.val:
            raise ValueError("schedule = \"plateau\" watches the validation loss: the data has no validation split")
        run.sched.step(state["last_val_loss"])
    elif cfg.schedule in EPOCH_SCHEDULES:
        run.sched.step()
    save_checkpoint(run)
    return bool(cfg.patience) and state["bad_epochs"] >= cfg.patience


def train(recipe: Recipe, data_dirs: str | Path | list, run_dir: str | Path, resume: bool = False, max_steps: int | None = None,
          device: str = "auto", log_every: int = 50) -> dict:
    """Train per recipe.train on one or more prepared folders (same labels.txt), concatenated.

    Returns a summary; max_steps stops early with a checkpoint, as an interruption would.
    """
    dirs = [Path(d) for d in (data_dirs if isinstance(data_dirs, (list, tuple)) else [data_dirs])]
    run = setup(recipe, dirs, Path(run_dir), resume, device)
    stopped_early = False
    try:
        with stop_signals() as stop:
            while run.state["epoch"] < run.cfg.epochs:
                interrupted = train_one_epoch(run, stop, max_steps, log_every)
                if interrupted:
                    return interrupted
                if end_epoch(run):
                    stopped_early = True
                    break
    finally:
        run.log.close()
    if run.distributed:
        dist.barrier()
        dist.destroy_process_group()
    state = run.state
    return {"epochs": state["epoch"], "steps": state["global_step"], "best_val_top1": state["best_top1"],
            "seconds": round(state["seconds"], 1), "stopped_early": stopped_early, "world_size": run.world}

