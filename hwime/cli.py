"""`hwime` starts the pad; `hwime recognize [--top K] [--json] PATH...` classifies images and ink files.

A thin layer over hwime.Recognizer: one process, the model loaded once, samples batched.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterator

import numpy as np

from .ink import Ink, InkError, iter_jsonl
from .raster import IMAGE_SUFFIXES, RasterError, load_image

INK_SUFFIXES = {".json", ".jsonl"}


def _expand(paths: list[str]) -> Iterator[Path | str]:
    """Files to read, in order; a string is an error message for a path that cannot be used."""
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES | INK_SUFFIXES)
            if not found:
                yield f"{p}: no images or ink files in this folder"
            yield from found
        elif not p.exists():
            yield f"{p}: no such file"
        elif p.suffix.lower() not in IMAGE_SUFFIXES | INK_SUFFIXES:
            yield f"{p}: not an image (png/jpg/bmp) or ink (.json/.jsonl) file"
        else:
            yield p


def _samples(paths: list[str]) -> Iterator[tuple[str, np.ndarray | Ink | None, str | None, str | None]]:
    """(input name, image or ink, label, error message)."""
    for f in _expand(paths):
        if isinstance(f, str):
            yield f, None, None, f
        elif f.suffix.lower() in IMAGE_SUFFIXES:
            try:
                yield str(f), load_image(f), None, None
            except RasterError as exc:
                yield str(f), None, None, str(exc)
        elif f.suffix.lower() == ".json":
            try:
                obj = json.loads(f.read_text(encoding="utf-8"))
                label = obj.get("char") if isinstance(obj, dict) else None
                yield str(f), Ink.from_json(obj), label if isinstance(label, str) else None, None
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, InkError) as exc:
                yield str(f), None, None, f"{f}: {exc}"
        else:
            try:
                for number, ink, label in iter_jsonl(f):
                    name = f"{f}:{number}"
                    if isinstance(ink, InkError):
                        yield name, None, None, str(ink)
                    else:
                        yield name, ink, label, None
            except (OSError, UnicodeDecodeError) as exc:
                yield str(f), None, None, f"{f}: {exc}"


def cmd_recognize(args: argparse.Namespace) -> int:
    from .recognizer import ModelError, Recognizer

    try:
        rec = Recognizer.load(args.model, args.device)
    except ModelError as exc:
        print(f"hwime: {exc}", file=sys.stderr)
        return 2
    failures = 0
    batch: list[tuple[str, np.ndarray | Ink, str | None]] = []

    def flush() -> None:
        images = [i for i, (_, s, _) in enumerate(batch) if isinstance(s, np.ndarray)]
        inks = [i for i, (_, s, _) in enumerate(batch) if isinstance(s, Ink)]
        results: list = [None] * len(batch)
        for i, c in zip(images, rec.recognize_images([batch[i][1] for i in images], args.top)):
            results[i] = c
        for i, c in zip(inks, rec.recognize_inks([batch[i][1] for i in inks], args.top)):
            results[i] = c
        for (name, _, label), cands in zip(batch, results):
            if args.json:
                print(json.dumps({"input": name, "label": label,
                                  "candidates": [{"char": c.char, "score": round(c.score, 4)} for c in cands]},
                                 ensure_ascii=False))
            else:
                shown = "  ".join(f"{c.char} {c.score:.2f}" for c in cands) or "(empty drawing)"
                print(f"{name}\t{shown}" + (f"\t[label {label}]" if label else ""))
        batch.clear()

    for name, sample, label, error in _samples(args.paths):
        if error:
            failures += 1
            print(f"hwime: {error}", file=sys.stderr)
            continue
        batch.append((name, sample, label))
        if len(batch) >= 512:
            flush()
    flush()
    if failures:
        print(f"hwime: {failures} input(s) could not be recognized", file=sys.stderr)
    return 1 if failures else 0


def cmd_pad(args: argparse.Namespace) -> int:
    from .ui.app import run_pad

    return run_pad(model=args.model, device=args.device)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hwime", description="Handwriting input pad for Chinese.")
    parser.add_argument("--model", help="model bundle (default: the bundled model, or the settings' choice)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the model runs (default: settings, auto)")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("pad", help="open the writing pad (the default)")
    p.set_defaults(func=cmd_pad)
    p = sub.add_parser("recognize", help="print ranked candidates for images and ink files")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image (png/jpg/bmp), ink .json, ink .jsonl, or a folder of these")
    p.add_argument("--top", type=int, default=10, help="candidates per sample (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object per sample (DESIGN.md contract)")
    p.add_argument("--model", dest="model", default=argparse.SUPPRESS, help="model bundle")
    p.add_argument("--device", dest="device", choices=["auto", "cpu", "cuda"], default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_recognize)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "recognize" and args.device is None:
        args.device = "auto"
    return (args.func if args.command else cmd_pad)(args)


if __name__ == "__main__":
    sys.exit(main())
