"""python -m hwime.training.bench — throughput of the training data path.

1. .gnt reading: hwime's reader vs a per-pixel struct loop (the way seed 000 read HWDB), same file;
2. synthetic samples per second, one process;
3. training images/s of one full step (index, augment, forward, backward, update) vs a bare
   forward+backward+update of the same network on a fixed batch: the data path's share of the time;
4. (--loader) train() itself with and without a DataLoader process making the batches.
"""

from __future__ import annotations

import argparse
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..raster import RasterSpec
from .augment import augment_batch
from .casia import iter_gnt, write_gnt


def read_gnt_per_pixel(path: str | Path) -> list[tuple[str, np.ndarray]]:
    """The baseline: struct-unpack every header field and every pixel, as many HWDB scripts do."""
    out = []
    with open(path, "rb") as fh:
        while True:
            header = fh.read(10)
            if len(header) < 10:
                break
            size, tag, width, height = struct.unpack("<I2sHH", header)
            image = np.zeros((height, width), np.uint8)
            for y in range(height):
                for x in range(width):
                    image[y, x] = struct.unpack("B", fh.read(1))[0]
            out.append((tag.decode("gbk"), image))
    return out


def bench_gnt(records: int = 400) -> dict:
    rng = np.random.default_rng(0)
    samples = [("中", rng.integers(0, 256, (int(rng.integers(45, 90)), int(rng.integers(45, 90))), dtype=np.uint8))
               for _ in range(records)]
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "bench.gnt"
        write_gnt(f, samples)
        t = time.perf_counter()
        ours = list(iter_gnt(f))
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        slow = read_gnt_per_pixel(f)
        t_slow = time.perf_counter() - t
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(ours, slow))
    return {"records": records, "ours_records_per_s": records / t_ours, "per_pixel_records_per_s": records / t_slow,
            "speedup": t_slow / t_ours}


def bench_synthetic(count: int = 600) -> dict:
    from .. import charset
    from .fonts import DEFAULT_FONTS, resolve
    from .synthetic import SyntheticSource

    labels = charset.named_set("gb2312")
    src = SyntheticSource(labels, RasterSpec(), seed=1, fonts=resolve(DEFAULT_FONTS))
    classes = np.random.default_rng(0).integers(0, len(labels), count)
    t = time.perf_counter()
    for i, c in enumerate(classes):
        src.sample(int(c), i)
    return {"samples": count, "samples_per_s_one_process": count / (time.perf_counter() - t)}


def bench_training_step(arch: str = "hwnet", classes: int = 6836, batch: int = 256, steps: int = 20) -> dict:
    from ..model import build_model

    spec = RasterSpec()
    model = build_model(arch, classes).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (batch * 8, 64, 64), dtype=np.uint8))
    targets = torch.randint(0, classes, (batch * 8,))
    gen = torch.Generator().manual_seed(0)
    fixed = augment_batch(data[:batch], spec, 0.0, gen).contiguous(memory_format=torch.channels_last)

    def step(x, y):
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def timed(full: bool) -> float:
        for i in range(3):  # warm-up
            step(fixed, targets[:batch])
        t = time.perf_counter()
        for i in range(steps):
            if full:
                idx = torch.randint(0, len(data), (batch,), generator=gen)
                x = augment_batch(data[idx], spec, 1.0, gen).contiguous(memory_format=torch.channels_last)
                step(x, targets[idx])
            else:
                step(fixed, targets[:batch])
        return batch * steps / (time.perf_counter() - t)

    # alternate and keep the best of each, so warm-up and a noisy neighbour do not favour either side
    bare, full = 0.0, 0.0
    for _ in range(2):
        bare, full = max(bare, timed(False)), max(full, timed(True))
    return {"arch": arch, "batch": batch, "threads": torch.get_num_threads(), "bare_img_per_s": bare,
            "full_img_per_s": full, "data_path_share": 1 - full / bare}


def bench_prepare_memory(records: int = 1_000_000, size: int = 64, files: int = 100, workdir: str | None = None) -> dict:
    """Peak resident memory of `prepare` on ``records`` generated .gnt records (45-90 px, GB2312 level 1 labels),
    measured on a child process; the output's size beside it."""
    import resource
    import subprocess
    import sys
    import tempfile

    from .. import charset
    from .casia import write_gnt

    rng = np.random.default_rng(0)
    labels = charset.gb2312_level1()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp = Path(tmp)
        per_file = records // files
        for f in range(files):
            h, w = rng.integers(45, 90, 2)  # one size per file keeps generation fast; readers see every record anyway
            images = rng.integers(0, 256, (per_file, h, w), dtype=np.uint8)
            write_gnt(tmp / f"{f:03d}.gnt", [(labels[int(c)], im) for c, im in zip(rng.integers(0, len(labels), per_file), images)])
        gnt_bytes = sum(p.stat().st_size for p in tmp.glob("*.gnt"))
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t = time.perf_counter()
        recipe = Path(__file__).resolve().parents[2] / "training" / "synthetic-gb2312.toml"
        subprocess.run([sys.executable, "-m", "hwime.training", "prepare", str(recipe), "--data", str(tmp / "out"),
                        "--set", 'data.classes="found"', "--set", f"data.size={size}", "--set", "data.font_share=0",
                        "--set", f'data.gnt=["{tmp}/*.gnt"]', "--set", "data.synthetic_per_class=0",
                        "--set", "data.synthetic_val_per_class=0"],
                       check=True, stdout=subprocess.DEVNULL, env={**__import__("os").environ, "TQDM_DISABLE": "1"})
        seconds = time.perf_counter() - t
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        out_bytes = (tmp / "out" / "train-images.npy").stat().st_size
    return {"records": per_file * files, "size": size, "gnt_MB": gnt_bytes / 1e6, "output_MB": out_bytes / 1e6,
            "peak_rss_MB": peak_kb / 1024, "earlier_children_peak_MB": before / 1024, "seconds": seconds}


def bench_loader(workers: tuple[int, ...] = (0, 1), threads: int = 1, steps: int = 60, classes: int = 6836,
                 size: int = 64, device: str = "cpu") -> list[dict]:
    """`train` itself (hwnet, batch 256) on generated data for ``steps`` steps, once per loader-process count:
    what moving batch gathering and augmentation off the training thread buys on this machine."""
    import json
    import os

    from .. import charset
    from .recipe import load_recipe
    from .train import train

    rng = np.random.default_rng(0)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        n = 256 * (steps + 16)  # the timed steps end inside the epoch
        np.save(data / "train-images.npy", rng.integers(0, 256, (n, size, size), dtype=np.uint8))
        np.save(data / "train-labels.npy", rng.integers(0, classes, n).astype(np.int32))
        charset.write_labels(data / "labels.txt", [chr(0x4E00 + i) for i in range(classes)])
        (data / "stats.json").write_text(json.dumps({"raster": RasterSpec(size=size).to_dict()}))
        os.environ.setdefault("TQDM_DISABLE", "1")
        for w in workers:
            recipe = load_recipe(None, [f"data.size={size}", "train.epochs=1", f"train.threads={threads}",
                                        f"train.workers={w}", "train.checkpoint_every=100000"])
            run = Path(tmp) / f"run{w}"
            train(recipe, data, run, max_steps=8, device=device)  # warm-up, and the checkpoint to continue from
            t = time.perf_counter()
            train(recipe, data, run, resume=True, max_steps=8 + steps, device=device)
            out.append({"workers": w, "threads": threads, "img_per_s": 256 * steps / (time.perf_counter() - t)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hwime.training.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="hwnet,mobilenet_v2", help="networks to time in the training-step bench")
    parser.add_argument("--loader", action="store_true", help="only time train() with 0 and 1 loader processes")
    parser.add_argument("--prepare-memory", type=int, metavar="RECORDS",
                        help="only measure prepare's peak memory on this many generated .gnt records")
    args = parser.parse_args(argv)
    if args.prepare_memory:
        m = bench_prepare_memory(args.prepare_memory)
        print(f"prepare, {m['records']:,} generated .gnt records ({m['gnt_MB']:,.0f} MB) at {m['size']}x{m['size']}: "
              f"peak RSS {m['peak_rss_MB']:,.0f} MB for {m['output_MB']:,.0f} MB of output, {m['seconds']:,.0f} s")
        return 0
    if args.loader:
        for r in bench_loader():
            print(f"train(), hwnet 64x64, batch 256, {r['threads']} training thread(s), {r['workers']} loader "
                  f"process(es): {r['img_per_s']:,.0f} img/s")
        return 0
    g = bench_gnt()
    print(f".gnt reading, {g['records']} records of 45-90 px: ours {g['ours_records_per_s']:,.0f} records/s, "
          f"per-pixel struct loop {g['per_pixel_records_per_s']:,.0f} records/s ({g['speedup']:,.0f}x)")
    s = bench_synthetic()
    print(f"synthetic handwriting: {s['samples_per_s_one_process']:,.0f} samples/s in one process")
    for arch in args.archs.split(","):
        t = bench_training_step(arch)
        print(f"training step, {arch}, batch {t['batch']}, {t['threads']} threads: bare forward+backward "
              f"{t['bare_img_per_s']:,.0f} img/s, with the data path {t['full_img_per_s']:,.0f} img/s "
              f"(data path {t['data_path_share']:.0%} of the time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
