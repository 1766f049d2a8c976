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
import threading
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from .. import charset
from ..model import build_model
from ..raster import normalize
from . import checkpoint
from .augment import augment_batch
from .dataset import spec_from_recipe
from .progress import progress


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


def _load_split(data_dir: Path, split: str) -> tuple[np.ndarray, torch.Tensor] | None:
    images = data_dir / f"{split}-images.npy"
    if not images.exists():
        return None
    return np.load(images, mmap_mode="r"), torch.from_numpy(np.load(data_dir / f"{split}-labels.npy")).long()


def default_threads() -> int:
    """Half the cores: a second busy thread on a loaded 2-core machine made each step many times slower."""
    return max(1, (os.cpu_count() or 2) // 2)


def data_spec(dirs: list[Path], recipe: dict):
    """The raster spec the data was prepared with (stats.json); a recipe that says otherwise is an error."""
    from ..raster import RasterSpec

    wanted = spec_from_recipe(recipe)
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


class StopRequested(Exception):
    """Ctrl-C or SIGTERM arrived: the step in flight finishes, a checkpoint is written, training returns."""


def _schedule(opt: torch.optim.Optimizer, cfg: dict, total_steps: int, steps_per_epoch: int):
    warmup = max(2, int(cfg["warmup_epochs"] * steps_per_epoch))  # OneCycleLR needs two warm-up steps
    if cfg["schedule"] == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg["lr"], total_steps=total_steps, pct_start=min(0.5, warmup / total_steps),
            div_factor=25, final_div_factor=1e3)
    if cfg["schedule"] == "cosine":
        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total_steps - warmup))))
        return torch.optim.lr_scheduler.LambdaLR(opt, factor)
    raise ValueError(f"unknown schedule {cfg['schedule']!r}; use onecycle or cosine")


def _optimizer(model: torch.nn.Module, cfg: dict) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]  # biases and norms
    groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg["optimizer"] == "adamw":
        return torch.optim.AdamW(groups, lr=cfg["lr"])
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"], nesterov=True)
    raise ValueError(f"unknown optimizer {cfg['optimizer']!r}; use adamw or sgd")


def epoch_order(n: int, seed: int, epoch: int, rank: int, world: int) -> np.ndarray:
    """This rank's sample order for an epoch: a shuffle fixed by (seed, epoch), split evenly across ranks."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    per_rank = n // world
    return perm[rank * per_rank : (rank + 1) * per_rank]


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, spec, device: torch.device,
             batch_size: int = 512) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(images), batch_size):
        x = normalize(images[i : i + batch_size], spec).to(device, memory_format=torch.channels_last)
        correct += int((model(x).argmax(1).cpu() == labels[i : i + batch_size]).sum())
    return correct / max(1, len(images))


def train(recipe: dict, data_dirs: str | Path | list, run_dir: str | Path, resume: bool = False, max_steps: int | None = None,
          device: str = "auto", log_every: int = 50) -> dict:
    """Train per recipe["train"] on one or more prepared folders (same labels.txt), concatenated.

    Returns a summary; max_steps stops early with a checkpoint, as an interruption would.
    """
    cfg = recipe["train"]
    dirs = [Path(d) for d in (data_dirs if isinstance(data_dirs, (list, tuple)) else [data_dirs])]
    run_dir = Path(run_dir)
    distributed = "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if distributed:
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        if device == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    else:
        rank, world = 0, 1
    dev = torch.device(device)
    torch.set_num_threads(int(cfg["threads"]) or default_threads())
    main = rank == 0
    run_dir.mkdir(parents=True, exist_ok=True)

    spec = data_spec(dirs, recipe)
    labels = charset.read_labels(dirs[0] / "labels.txt")
    for d in dirs[1:]:
        if charset.read_labels(d / "labels.txt") != labels:
            raise ValueError(f"{d}/labels.txt differs from {dirs[0]}/labels.txt: prepared folders must share one class set")
    parts = [p for p in (_load_split(d, "train") for d in dirs) if p is not None]
    if not parts:
        raise FileNotFoundError(f"no train-images.npy in {', '.join(map(str, dirs))}: run prepare first")
    train_x = PackedImages([x for x, _ in parts])
    train_y = torch.cat([y for _, y in parts]) if len(parts) > 1 else parts[0][1]
    del parts
    val = next((v for v in (_load_split(d, "val") for d in dirs) if v is not None), None)
    if val is not None:
        val = (PackedImages([val[0]]), val[1])
    steps_per_epoch = len(train_x) // world // cfg["batch_size"]
    if steps_per_epoch == 0:
        raise ValueError(f"{len(train_x)} training samples are fewer than one batch of {cfg['batch_size']} per process")
    total_steps = steps_per_epoch * cfg["epochs"]

    torch.manual_seed(cfg["seed"])
    model = build_model(recipe["model"]["arch"], len(labels)).to(dev, memory_format=torch.channels_last)
    opt = _optimizer(model, cfg)
    sched = _schedule(opt, cfg, total_steps, steps_per_epoch)
    aug_gen = torch.Generator().manual_seed(cfg["seed"] * 1000 + rank)
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best_top1": -1.0, "bad_epochs": 0, "seconds": 0.0}
    ckpt_path, best_path = run_dir / "checkpoint.pt", run_dir / "best.pt"
    if resume and not ckpt_path.exists():
        raise FileNotFoundError(f"nothing to resume: {ckpt_path} does not exist (run without --resume to start)")
    if resume:
        ckpt = checkpoint.load(ckpt_path)
        stored = json.loads(ckpt["recipe"])
        changed = _recipe_changes(stored, recipe)
        if changed:
            raise ValueError(f"{ckpt_path} was trained with another recipe ({'; '.join(changed[:6])}); resume with the "
                             "same recipe and --set values, or start a new run folder")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        state = ckpt["state"]
        aug_gen.set_state(ckpt["aug_rng"][rank])
        torch.set_rng_state(ckpt["torch_rng"])
        if dev.type == "cuda" and "cuda_rng" in ckpt:
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
        if main:
            print(f"resumed {ckpt_path} at epoch {state['epoch']} step {state['step_in_epoch']}", flush=True)
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    use_amp = dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    if resume and "scaler" in ckpt and use_amp:
        scaler.load_state_dict(ckpt["scaler"])

    log_path = run_dir / "log.csv"
    fields = ["epoch", "step", "lr", "train_loss", "train_top1", "val_top1", "img_per_s", "seconds"]
    if main and not log_path.exists():
        with open(log_path, "w", newline="") as fh:
            csv.writer(fh).writerow(fields)
    elif main and resume:  # rows written after the checkpoint will be written again: drop them
        rows = list(csv.DictReader(open(log_path, newline="")))
        with open(log_path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(fields)
            for r in rows:
                if int(r["step"]) <= state["global_step"]:
                    w.writerow([r.get(k, "") for k in fields])
    try:
        from torch.utils.tensorboard import SummaryWriter
        tb = SummaryWriter(run_dir / "tensorboard") if main else None
    except ImportError:  # TensorBoard is optional
        tb = None

    def save_checkpoint() -> None:
        rng_states = [aug_gen.get_state()]
        if distributed:
            gathered = [None] * world
            dist.all_gather_object(gathered, aug_gen.get_state())
            rng_states = gathered
        if main:
            extra = {"cuda_rng": torch.cuda.get_rng_state_all(), "scaler": scaler.state_dict()} if use_amp else {}
            checkpoint.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                          "state": dict(state), "aug_rng": rng_states, "torch_rng": torch.get_rng_state(),
                          "recipe": json.dumps(recipe), "labels": labels, **extra}, ckpt_path)

    def log(row: dict) -> None:
        if not main:
            return
        with open(log_path, "a", newline="") as fh:
            csv.writer(fh).writerow([row.get(k, "") for k in fields])
        if tb:
            for k, v in row.items():
                if k not in ("epoch", "step") and v != "":
                    tb.add_scalar(k, v, row["step"])

    stopped_early = False
    stop = {"signal": None}
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda number, frame: stop.update(signal=signal.Signals(number).name))
    try:
        while state["epoch"] < cfg["epochs"]:
            order = epoch_order(len(train_x), cfg["seed"], state["epoch"], rank, world)
            net.train()
            bar = progress(total=steps_per_epoch, initial=state["step_in_epoch"], desc=f"epoch {state['epoch'] + 1}/{cfg['epochs']}",
                           disable=not main, unit="step")
            run_loss, run_correct, run_seen, t0 = 0.0, 0, 0, time.time()
            while state["step_in_epoch"] < steps_per_epoch:
                if max_steps is not None and state["global_step"] >= max_steps:
                    save_checkpoint()
                    bar.close()
                    return {"interrupted_at": state["global_step"]}
                if stop["signal"]:  # between steps, so the checkpoint resumes exactly
                    save_checkpoint()
                    bar.close()
                    return {"interrupted_at": state["global_step"], "signal": stop["signal"]}
                idx = order[state["step_in_epoch"] * cfg["batch_size"] : (state["step_in_epoch"] + 1) * cfg["batch_size"]]
                # the uint8 batch goes to the device first: on a GPU, augmentation runs there, not on this thread
                raw = train_x.take(idx).to(dev, non_blocking=True)
                x = augment_batch(raw, spec, cfg["augment"], aug_gen).contiguous(memory_format=torch.channels_last)
                y = train_y[torch.from_numpy(idx)].to(dev)
                with torch.autocast(dev.type, enabled=use_amp):
                    logits = net(x)
                    loss = F.cross_entropy(logits, y, label_smoothing=cfg["label_smoothing"])
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                sched.step()
                state["step_in_epoch"] += 1
                state["global_step"] += 1
                run_loss += float(loss.detach()) * len(y)
                run_correct += int((logits.argmax(1) == y).sum())
                run_seen += len(y)
                bar.update(1)
                if state["global_step"] % log_every == 0:
                    elapsed = time.time() - t0
                    state["seconds"] += elapsed
                    log({"epoch": state["epoch"] + 1, "step": state["global_step"], "lr": sched.get_last_lr()[0],
                         "train_loss": run_loss / run_seen, "train_top1": run_correct / run_seen,
                         "img_per_s": run_seen * world / elapsed, "seconds": round(state["seconds"], 1)})
                    bar.set_postfix(loss=f"{run_loss / run_seen:.3f}", top1=f"{run_correct / run_seen:.3f}")
                    run_loss, run_correct, run_seen, t0 = 0.0, 0, 0, time.time()
                if state["global_step"] % cfg["checkpoint_every"] == 0:
                    save_checkpoint()
            bar.close()
            state["seconds"] += time.time() - t0
            state["epoch"] += 1
            state["step_in_epoch"] = 0
            if main:
                top1 = accuracy(model, *val, spec, dev) if val else float("nan")
                log({"epoch": state["epoch"], "step": state["global_step"], "val_top1": top1, "seconds": round(state["seconds"], 1)})
                print(f"epoch {state['epoch']}: val top-1 {top1:.4f}", flush=True)
                if not val or top1 > state["best_top1"]:
                    state["best_top1"], state["bad_epochs"] = top1, 0
                    checkpoint.save_best(best_path, model.state_dict(), labels, recipe, state["epoch"], top1)
                else:
                    state["bad_epochs"] += 1
            if distributed:
                flags = [dict(state)]
                dist.broadcast_object_list(flags, src=0)
                state.update({k: flags[0][k] for k in ("best_top1", "bad_epochs")})
            save_checkpoint()
            if cfg["patience"] and state["bad_epochs"] >= cfg["patience"]:
                stopped_early = True
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if tb:
        tb.close()
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return {"epochs": state["epoch"], "steps": state["global_step"], "best_val_top1": state["best_top1"],
            "seconds": round(state["seconds"], 1), "stopped_early": stopped_early, "world_size": world}


def _recipe_changes(stored: dict, current: dict, where: str = "", defaults: dict | None = None) -> list[str]:
    """What differs between the checkpoint's recipe and this one; a key added to hwime since, at its default, is
    not a change."""
    from .recipe import DEFAULTS

    defaults = DEFAULTS if defaults is None else defaults
    out = []
    for key in sorted(set(stored) | set(current)):
        a, b = stored.get(key), current.get(key)
        d = defaults.get(key) if isinstance(defaults, dict) else None
        if isinstance(a, dict) and isinstance(b, dict):
            out += _recipe_changes(a, b, f"{where}{key}.", d if isinstance(d, dict) else {})
        elif key not in stored and b == d:
            continue
        elif f"{where}{key}" == "train.threads":  # how many cores a run uses is not what it learns
            continue
        elif a != b:
            out.append(f"{where}{key}: {a!r} then, {b!r} now")
    return out
