"""Overlapped writing (叠写) end to end in the real window under Xvfb, with xdotool mouse drags (issue 35).

Run as `.venv/bin/python tests/overlap_xvfb_check.py OUT_DIR` with `apt-get install xvfb xdotool imagemagick
fonts-noto-cjk` (not part of the suite: it starts the pad twice and writes at a pen's pace). What it does:
- Xvfb on :73, no window manager; a Qt line edit as the other program, given the keyboard focus (xdotool
  windowfocus); the pad (`.venv/bin/hwime`, a fresh config and profile: 叠写 on, Mode: type, simplified) at (0, 0);
- 我 then 们 on top of it, strokes synthesized from Make Me a Hanzi's medians (hwime.training.synthetic, seed 0),
  each a drag of mousedown, mousemoves 12 ms apart, mouseup; one click on the bar's first string;
- the pad again with *Send after a pause* at 1 s: 中, a rest of 2.5 s, 国, a rest; no click.
It clicks and draws at places read off the pad's default layout (532×506). Prints one JSON line with what the line
edit received; exits 1 unless it holds 我们 after the first part and 我们中国 after the second. Screenshots in
OUT_DIR, and the README's two pictures (OUT_DIR/screenshot-overlap.png, screenshot-overlap-pause.png).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DISPLAY = ":73"
BOX = (166, 79, 200)  # the square box on screen: left, top, side (the pad at (0, 0), default size; the buttons above it)
FIRST_STRING = (138, 313)  # the middle of the bar's first button
FIELD = r"""
import sys
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QVBoxLayout, QWidget
app = QApplication(sys.argv)
w = QWidget(); w.setWindowTitle("target")
lay = QVBoxLayout(w)
lay.addWidget(QLabel("another program (a Qt line edit):"))
edit = QLineEdit(); f = QFont("Noto Sans CJK SC"); f.setPixelSize(30); edit.setFont(f)
edit.textChanged.connect(lambda t: print("TEXT", t, flush=True))
lay.addWidget(edit)
w.resize(440, 100); w.show()
app.exec()
"""


def strokes(text: str, seed: int = 0) -> list[list[list[list[float]]]]:
    """Per character its strokes, synthesized as the recognizer's training data is, fitted to a 1000 box."""
    from hwime.training.strokedata import StrokeTable
    from hwime.training.synthetic import StrokeStyle, synth_strokes

    table, out = StrokeTable(), []
    for ch in text:
        ink, _ = synth_strokes(table.medians(ch), np.random.default_rng([seed, ord(ch)]), StrokeStyle(link_max=0.0))
        pts = np.concatenate([s[:, :2] for s in ink.strokes])
        low, high = pts.min(0), pts.max(0)
        k = 800.0 / float((high - low).max())
        out.append([((s[:, :2] - (low + high) / 2) * k + 500.0).tolist() for s in ink.strokes])
    return out


def xdo(*args: str) -> str:
    return subprocess.run(["xdotool", *args], check=True, capture_output=True, text=True).stdout.strip()


def drag(points: list[list[float]]) -> None:
    x0, y0, side = BOX
    xy = [(int(x0 + x / 1000 * side), int(y0 + y / 1000 * side)) for x, y in points]
    args = ["mousemove", str(xy[0][0]), str(xy[0][1]), "mousedown", "1"]
    for x, y in xy[1:]:  # a real mouse's pace: moves queued all at once are merged into one by Qt
        args += ["sleep", "0.012", "mousemove", str(x), str(y)]
    xdo(*args, "mouseup", "1")


def write(char: list[list[list[float]]]) -> None:
    for stroke in char:
        drag(stroke)
        time.sleep(0.3)


def window_of(pid: int, timeout: float = 120) -> str:
    end = time.time() + timeout
    while time.time() < end:
        try:
            found = xdo("search", "--pid", str(pid), "--onlyvisible").splitlines()
        except subprocess.CalledProcessError:
            found = []
        if found:
            return found[0]
        time.sleep(1)
    raise SystemExit(f"no window of process {pid} in {timeout:.0f} s")


def start_pad(home: Path, settings: dict, log: Path) -> subprocess.Popen:
    (home / "config" / "hwime").mkdir(parents=True, exist_ok=True)
    (home / "config" / "hwime" / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    env = dict(os.environ, DISPLAY=DISPLAY, XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    env.pop("QT_QPA_PLATFORM", None)
    pad = subprocess.Popen([str(ROOT / ".venv" / "bin" / "hwime")], env=env, stdout=log.open("w"),
                           stderr=subprocess.STDOUT)
    xdo("windowmove", window_of(pad.pid), "0", "0")
    end = time.time() + 180
    while "Ready" not in log.read_text(errors="replace") and time.time() < end:
        time.sleep(1)
    time.sleep(3)  # the language table and pypinyin are read after Ready
    return pad


def shot(path: Path) -> None:
    subprocess.run(["import", "-window", "root", "-crop", "532x640+0+0", "+repage", str(path)], check=True)


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    os.environ["DISPLAY"] = DISPLAY
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1000x760x24"], stderr=subprocess.DEVNULL)
    time.sleep(2)
    home = Path(tempfile.mkdtemp(prefix="hwime-overlap-"))
    field = subprocess.Popen([sys.executable, "-c", FIELD], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, DISPLAY=DISPLAY))
    got: list[str] = []
    pads: list[subprocess.Popen] = []
    try:
        target = window_of(field.pid)
        xdo("windowmove", target, "0", "540")
        base = {"overlap_mode": True, "output_mode": "type", "script": "simplified", "language": "en",
                "device": "cpu"}
        we, zg = strokes("我们"), strokes("中国")

        pads.append(start_pad(home, dict(base, send_after_pause=0), out / "pad-1.log"))
        xdo("windowfocus", target)
        for char in we:
            write(char)
        time.sleep(8)  # every stroke read on a busy machine
        shot(out / "overlap-1.png")
        xdo("mousemove", *map(str, FIRST_STRING), "click", "1")
        time.sleep(2.5)
        shot(out / "overlap-2.png")
        pads.pop().terminate()

        pads.append(start_pad(home, dict(base, send_after_pause=1), out / "pad-2.log"))
        xdo("windowfocus", target)
        write(zg[0])
        time.sleep(2.5)
        write(zg[1])
        shot(out / "overlap-3.png")
        time.sleep(2.5)
        shot(out / "overlap-4.png")
    finally:
        for pad in pads:
            pad.terminate()
        field.terminate()
        text = field.communicate(timeout=10)[0]
        xvfb.terminate()
    got = [line[5:] for line in text.splitlines() if line.startswith("TEXT ")]
    for name, (a, b) in {"screenshot-overlap.png": (1, 2), "screenshot-overlap-pause.png": (3, 4)}.items():
        subprocess.run(["convert", str(out / f"overlap-{a}.png"), str(out / f"overlap-{b}.png"), "-bordercolor",
                        "white", "-border", "6", "+append", "+repage", "-resize", "80%", "+repage", "+dither",
                        "-colors", "64", f"png8:{out / name}"], check=True)
    ok = "我们" in got and got[-1:] == ["我们中国"]
    print(json.dumps({"field_received": got, "ok": ok}, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "overlap-xvfb")))
