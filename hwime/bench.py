"""python -m hwime.bench — the pad's speed, measured the way a person meets it.

1. model inference per character on one CPU thread (ink -> raster -> tensor -> logits -> top candidates); with
   --compare, other bundles in the same run, engines alternated character by character (so a busy moment of the
   machine costs each alike), and for a line recognizer each input width of --widths;
2. pen-up -> candidates painted, through the real widgets offscreen: mouse events draw each character (the last
   stroke given a hand's 100 ms), the clock starts before the last mouse release and stops when the candidate bar
   has repainted;
3. for a line recognizer: a line of 8 characters (real traces side by side) decoded with beam 10 and the language
   side, the decoding alone and the whole recognize_line;
4. for a line recognizer: real written names (lines-dev/names, grey scans) read one at a time on one thread as
   ``hwime recognize --line`` reads them (the image loaded, prepared, read and decoded): lines per second.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

DEFAULT_INKS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tegaki-online.jsonl"
DEFAULT_NAMES = DEFAULT_INKS.parent / "lines-dev" / "names.tsv"


def _inks(path: Path | None, count: int):
    from .ink import Ink, iter_jsonl

    if path and path.exists():
        inks = [ink for _, ink, _ in iter_jsonl(path) if isinstance(ink, Ink)]
        step = max(1, len(inks) // count)
        return inks[::step][:count], str(path)
    shi = Ink.from_strokes([[[60, 150], [240, 146]], [[150, 50], [152, 250]]])
    kou = Ink.from_strokes([[[70, 70], [72, 230]], [[70, 70], [230, 70], [228, 230]], [[72, 228], [228, 228]]])
    return [shi, kou] * (count // 2), "built-in 十 and 口"


def _stats(times: list[float]) -> dict:
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)), "n": len(times)}


def bench_engines(engines: dict, inks) -> dict:
    """Per-character time of each engine (name -> Recognizer), alternated ink by ink, one thread."""
    import torch

    torch.set_num_threads(1)
    for rec in engines.values():
        for ink in inks[:10]:
            rec.recognize_ink(ink)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in engines}
    for ink in inks:
        for name, rec in engines.items():
            t = time.perf_counter()
            rec.recognize_ink(ink, 10)
            times[name].append((time.perf_counter() - t) * 1000)
    return {name: _stats(t) for name, t in times.items()}


def line_of(inks, count: int = 8):
    """``count`` traces side by side as one written line (each scaled to a common height, small gaps)."""
    from .ink import Ink

    strokes, x = [], 0.0
    for ink in inks[:count]:
        x0, y0, x1, y1 = ink.bbox()
        f = 100.0 / max(y1 - y0, x1 - x0, 1e-6)
        for s in ink.strokes:
            pts = np.stack([(s[:, 0] - x0) * f + x, (s[:, 1] - y0) * f], axis=1)
            strokes.append(pts.tolist())
        x += (x1 - x0) * f + 15
    return Ink.from_strokes(strokes)


def bench_lines(rec, inks, runs: int = 40) -> dict:
    """A line of 8 characters: beam 10 with the language side, the decoding alone and the whole reading."""
    import torch


    torch.set_num_threads(1)
    lines = [line_of(inks[i * 8 :]) for i in range(max(1, min(runs, len(inks) // 8)))]
    frames = [rec.line_log_probs(line) for line in lines]
    beam, whole = [], []
    for lp in frames:
        t = time.perf_counter()
        rec.decode_line(lp, 10)  # the bundle's own weights, as recognize_line decodes
        beam.append((time.perf_counter() - t) * 1000)
    for line in lines:
        t = time.perf_counter()
        rec.recognize_line(line, top=5)
        whole.append((time.perf_counter() - t) * 1000)
    return {"beam10_decode": _stats(beam), "recognize_line": _stats(whole),
            "frames_mean": float(np.mean([len(f) for f in frames]))}


STROKE_MS = 100  # how long the last stroke of a character takes a hand, at least


def bench_line_images(rec, tsv: Path, count: int = 200) -> dict:
    """The first ``count`` line images of a ``file<TAB>text`` .tsv (read as evaluate-lines reads it), each read from
    disk to strings on one thread."""
    import torch

    from .training.linesets import load_lines

    torch.set_num_threads(1)
    samples = iter(load_lines(tsv, count).samples)
    times = []
    while True:  # the clock covers loading each image too, as `hwime recognize --line` meets it
        t = time.perf_counter()
        image = next(samples, None)
        if image is None:
            break
        rec.recognize_line(image, top=5)
        times.append((time.perf_counter() - t) * 1000)
    times = times[1:] or times  # the first warms the language table and the first allocations
    return {**_stats(times), "lines_per_second": 1000 * len(times) / sum(times)}


def bench_pen_up(model: str | None, inks, settings_dir: Path, instant: bool = False) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from .settings import Settings
    from .ui.window import PadWindow

    app = QApplication.instance() or QApplication([])
    window = PadWindow(Settings(model_path=model or "", device="cpu"), settings_dir / "settings.json")
    window.resize(400, 560)
    window.show()
    loop = QEventLoop()
    window.worker.modelLoaded.connect(loop.quit)
    window.worker.modelFailed.connect(loop.quit)
    loop.exec()
    if not window.model_ready:
        raise SystemExit(f"bench: {window.status.text()}")
    canvas = window.canvas
    times = []
    done = {"flag": False}

    def painted() -> None:
        window.bar.repaint()  # paint now, synchronously: the moment the user can see the candidates
        done["flag"] = True
        loop.quit()

    window.bar.shown.connect(painted)
    for ink in inks:
        canvas.clear()
        app.processEvents()
        x0, y0, x1, y1 = ink.bbox()
        scale = (canvas.width() - 40) / max(x1 - x0, y1 - y0, 1)
        for i, stroke in enumerate(ink.strokes):
            pts = [QPoint(int((x - x0) * scale) + 20, int((y - y0) * scale) + 20) for x, y in stroke[:, :2]]
            QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
            for p in pts[1:]:
                QTest.mouseMove(canvas, p)
            last = i == len(ink.strokes) - 1
            if last:
                # the last stroke takes a hand ~100 ms or more; QTest draws it in no time. Give it its duration, so
                # the previous stroke's recognition finishes as it would while a person writes (without this the
                # clock also counts waiting for that job: --instant-strokes measures that way)
                deadline = time.perf_counter() + (0 if instant else STROKE_MS / 1000)
                while time.perf_counter() < deadline:
                    app.processEvents()
                app.processEvents()  # let any mid-stroke request be taken, as it would be while writing
                done["flag"] = False
                t = time.perf_counter()
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])
            if last:
                deadline = time.perf_counter() + 10
                while not done["flag"] and time.perf_counter() < deadline:
                    QTimer.singleShot(1000, loop.quit)  # painted() ends the wait at once; this only guards a hang
                    loop.exec()
                if not done["flag"]:
                    raise SystemExit("bench: no candidates within 10 s of pen-up")
                times.append((time.perf_counter() - t) * 1000)
    window.close()
    return _stats(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hwime.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model bundle (default: the bundled model)")
    parser.add_argument("--compare", action="append", default=[], metavar="BUNDLE",
                        help="another bundle timed in the same run, alternated with the first (repeatable)")
    parser.add_argument("--widths", default="", help="line recognizers: input widths to time, e.g. 48,96,160")
    parser.add_argument("--inks", type=Path, default=DEFAULT_INKS, help="ink .jsonl to write (default: ../shared/data tegaki set)")
    parser.add_argument("--count", type=int, default=200, help="characters to write")
    parser.add_argument("--names", type=Path, default=DEFAULT_NAMES,
                        help="line images to read, a file<TAB>text .tsv (default: ../shared/data lines-dev/names.tsv)")
    parser.add_argument("--no-pad", dest="pad", action="store_false", help="skip the pen-up measurement")
    parser.add_argument("--instant-strokes", action="store_true",
                        help="pen-up: draw the last stroke in no time (the clock then also counts the previous "
                             "stroke's recognition still running), instead of a hand's 100 ms")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import dataclasses
    import tempfile

    import torch

    from .recognizer import Recognizer

    inks, source = _inks(args.inks, args.count)
    rec = Recognizer.load(args.model, "cpu")
    engines = {Path(str(rec.path)).name: rec}
    for other in args.compare:
        engines[Path(other).name] = Recognizer.load(other, "cpu")
    for name, r in list(engines.items()):
        if r.ctc and args.widths:
            for w in (int(v) for v in args.widths.split(",")):
                engines[f"{name} @48x{w}"] = Recognizer(r.model, r.labels, dataclasses.replace(r.spec, width=w),
                                                        r.device, r.path, r.metadata)
    inference = bench_engines(engines, inks)
    result = {"model": str(rec.path), "inks": source, "torch": torch.__version__, "inference_one_thread": inference}
    if rec.ctc:
        result["line_of_8"] = bench_lines(rec, inks)
        if args.names and args.names.exists():
            result["line_images"] = {"set": str(args.names), **bench_line_images(rec, args.names)}
    if args.pad:
        with tempfile.TemporaryDirectory() as d:
            result["pen_up_to_candidates_painted"] = bench_pen_up(args.model, inks[: max(20, len(inks) // 2)], Path(d),
                                                                  args.instant_strokes)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"model {rec.path} ({len(rec.labels)} classes); inks: {source}; torch {torch.__version__}")
    for name, st in inference.items():
        print(f"inference, one CPU thread, {name}: p50 {st['p50_ms']:.2f} ms  p95 {st['p95_ms']:.2f} ms (n={st['n']})")
    if "line_of_8" in result:
        lines = result["line_of_8"]
        print(f"line of 8 characters ({lines['frames_mean']:.0f} frames): beam 10 + language decode p50 "
              f"{lines['beam10_decode']['p50_ms']:.2f} ms p95 {lines['beam10_decode']['p95_ms']:.2f} ms; whole "
              f"recognize_line p50 {lines['recognize_line']['p50_ms']:.2f} ms (n={lines['recognize_line']['n']})")
    if "line_images" in result:
        images = result["line_images"]
        print(f"line images ({images['set']}), read one at a time on one thread: {images['lines_per_second']:.1f} "
              f"lines/s, p50 {images['p50_ms']:.1f} ms p95 {images['p95_ms']:.1f} ms (n={images['n']})")
    if args.pad:
        pen_up = result["pen_up_to_candidates_painted"]
        print(f"pen-up -> candidates painted: p50 {pen_up['p50_ms']:.2f} ms  p95 {pen_up['p95_ms']:.2f} ms  "
              f"(n={pen_up['n']}; target <= 30 ms p95)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
