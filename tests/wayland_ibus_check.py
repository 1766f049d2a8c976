"""End to end on a real Wayland compositor: a pick on the pad reaches a Wayland text field through IBus.

Run as `dbus-run-session -- .venv/bin/python tests/wayland_ibus_check.py OUT_DIR` on Debian 12 with
`apt-get install mutter xwayland pipewire wireplumber gstreamer1.0-pipewire gstreamer1.0-tools
gstreamer1.0-plugins-base gstreamer1.0-plugins-good xdotool ibus gir1.2-ibus-1.0 fonts-wqy-microhei` and the
README's IBus extra (not part of the suite: mutter and PipeWire are
a desktop's worth of packages). What it does, as a desktop would:
- mutter 43 headless (`--headless --wayland --virtual-monitor`, Xwayland on), PipeWire + WirePlumber for its
  screen cast, an org.gnome.Mutter.RemoteDesktop session as the only keyboard and pointer;
- `hwime ibus install --prefix` and ibus-daemon reading that component (IBUS_COMPONENT_PATH);
- a Qt line edit as a *Wayland* client using IBus (QT_IM_MODULE=ibus), given the keyboard focus by a click;
- `ibus engine hwime`: ibus-daemon starts `python -m hwime ibus engine` from the component; the pad comes up under
  Xwayland (its focus refused);
- 中 drawn on the pad's canvas and its candidate clicked with the compositor's pointer (RemoteDesktop), so mutter
  sees real clicks on the pad; then the line edit must hold 中 and keep the focus, and the screen is captured.
Prints one JSON line with what it found (screenshots 01-05 in OUT_DIR, the logs in OUT_DIR/logs); exits 1 unless
the field received 中 and then the continuation, and never lost the focus.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIELD = r"""
import sys
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QApplication, QLineEdit
app = QApplication(sys.argv)
edit = QLineEdit()
edit.setFont(QFont("WenQuanYi Micro Hei", 40))
edit.setPlaceholderText("Wayland text field")
out = sys.argv[1]
edit.textChanged.connect(lambda text: open(out, "w", encoding="utf-8").write(text))
app.focusWindowChanged.connect(lambda w: open(out + ".focus", "a").write(("in" if w else "out") + "\n"))
edit.resize(560, 90)
edit.setWindowTitle("text field")
edit.show()
print(QGuiApplication.platformName(), flush=True)
app.exec()
"""
BTN_LEFT = 0x110


def call(proxy: Gio.DBusProxy, method: str, args: GLib.Variant | None = None) -> tuple:
    return proxy.call_sync(method, args, Gio.DBusCallFlags.NONE, 10000, None).unpack()


def proxy(bus, name: str, path: str, interface: str) -> Gio.DBusProxy:
    return Gio.DBusProxy.new_sync(bus, Gio.DBusProxyFlags.NONE, None, name, path, interface, None)


def spin(seconds: float) -> None:
    context = GLib.MainContext.default()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        context.iteration(False)
        time.sleep(0.01)


def wait_for(what, seconds: float, message: str):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = what()
        if value:
            return value
        spin(0.1)
    raise SystemExit(message)


class Desktop:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        runtime = tmp / "runtime"
        runtime.mkdir(mode=0o700)
        self.env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), XDG_CONFIG_HOME=str(tmp / "config"),
                        XDG_CACHE_HOME=str(tmp / "cache"), XDG_DATA_HOME=str(tmp / "data"),
                        WAYLAND_DISPLAY="wayland-hwime",
                        # the model's ONNX export is kept where the pad keeps it, not exported again per run
                        HWIME_CACHE_DIR=os.environ.get("HWIME_CACHE_DIR",
                                                       str(Path.home() / ".cache" / "hwime" / "onnx")))
        for key in ("DISPLAY", "QT_QPA_PLATFORM", "IBUS_ADDRESS", "QT_IM_MODULE", "GTK_IM_MODULE"):
            self.env.pop(key, None)
        os.environ.update(self.env)
        for key in ("DISPLAY", "QT_QPA_PLATFORM"):
            os.environ.pop(key, None)

    def start(self, cmd: list[str], name: str, env: dict | None = None, **kw) -> subprocess.Popen:
        p = subprocess.Popen(cmd, env=env or self.env, stdout=open(self.tmp / f"{name}.log", "w"),
                             stderr=subprocess.STDOUT, **kw)
        self.procs.append(p)
        return p

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()


def main() -> int:
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="hwime-wayland-"))
    d = Desktop(tmp)
    found: dict = {}
    try:
        d.start(["pipewire"], "pipewire")
        spin(0.5)
        d.start(["wireplumber"], "wireplumber")
        mutter = d.start(["mutter", "--headless", "--wayland", "--virtual-monitor", "1024x640", "--wayland-display",
                 d.env["WAYLAND_DISPLAY"]], "mutter")
        runtime = Path(d.env["XDG_RUNTIME_DIR"])
        wait_for(lambda: (runtime / d.env["WAYLAND_DISPLAY"]).exists(), 20, "mutter did not start")
        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        wait_for(lambda: bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", GLib.Variant("(s)", ("org.gnome.Mutter.RemoteDesktop",)),
                                       None, Gio.DBusCallFlags.NONE, 1000, None).unpack()[0], 20,
                 "mutter has no RemoteDesktop service")
        # the only input devices: a remote desktop session, with a screen cast of the monitor for absolute pointing
        rd = proxy(bus, "org.gnome.Mutter.RemoteDesktop", "/org/gnome/Mutter/RemoteDesktop",
                   "org.gnome.Mutter.RemoteDesktop")
        (rd_path,) = call(rd, "CreateSession")
        rds = proxy(bus, "org.gnome.Mutter.RemoteDesktop", rd_path, "org.gnome.Mutter.RemoteDesktop.Session")
        session_id = rds.get_cached_property("SessionId").unpack()
        sc = proxy(bus, "org.gnome.Mutter.ScreenCast", "/org/gnome/Mutter/ScreenCast", "org.gnome.Mutter.ScreenCast")
        (sc_path,) = call(sc, "CreateSession", GLib.Variant("(a{sv})", ({"remote-desktop-session-id":
                                                                          GLib.Variant("s", session_id)},)))
        scs = proxy(bus, "org.gnome.Mutter.ScreenCast", sc_path, "org.gnome.Mutter.ScreenCast.Session")
        (stream_path,) = call(scs, "RecordMonitor", GLib.Variant("(sa{sv})", ("Meta-0", {})))
        stream = proxy(bus, "org.gnome.Mutter.ScreenCast", stream_path, "org.gnome.Mutter.ScreenCast.Stream")
        node = {}
        stream.connect("g-signal", lambda p, sender, signal, params: node.setdefault("id", params.unpack()[0])
                       if signal == "PipeWireStreamAdded" else None)
        call(rds, "Start")
        wait_for(lambda: node.get("id"), 20, "no PipeWire stream from mutter")

        def move(x: float, y: float) -> None:
            call(rds, "NotifyPointerMotionAbsolute", GLib.Variant("(sdd)", (stream_path, x, y)))

        def button(down: bool) -> None:
            call(rds, "NotifyPointerButton", GLib.Variant("(ib)", (BTN_LEFT, down)))

        def click(x: float, y: float) -> None:
            move(x, y)
            spin(0.05)
            button(True)
            spin(0.05)
            button(False)
            spin(0.2)

        def shot(name: str) -> Path:
            path = out / name
            subprocess.run(["gst-launch-1.0", "-q", "pipewiresrc", f"path={node['id']}", "num-buffers=1", "!",
                            "videoconvert", "!", "pngenc", "!", "filesink", f"location={path}"], env=d.env,
                           timeout=30, check=True, capture_output=True)
            return path

        # Xwayland: mutter starts it with the first X11 client; its display and auth file are in the runtime folder
        xauth = wait_for(lambda: next(iter(runtime.glob(".mutter-Xwaylandauth.*")), None), 20, "no Xwayland auth")
        def xwayland_display() -> str | None:  # the display of the Xwayland our mutter started (its child)
            for task in Path(f"/proc/{mutter.pid}/task").glob("*"):
                for pid in (task / "children").read_text().split():
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                    if cmd[0].endswith(b"Xwayland"):
                        return next(a.decode() for a in cmd[1:] if a.startswith(b":"))
            return None

        display = wait_for(xwayland_display, 20, "mutter started no Xwayland")
        d.env.update(DISPLAY=display, XAUTHORITY=str(xauth))
        os.environ.update(DISPLAY=display, XAUTHORITY=str(xauth))
        found["xwayland"] = display

        # IBus reading only our component; started after WAYLAND_DISPLAY and DISPLAY are set (its address file and
        # the engine's environment depend on them)
        prefix = tmp / "usr"
        subprocess.run([sys.executable, "-m", "hwime", "ibus", "install", "--prefix", str(prefix)], env=d.env,
                       check=True, capture_output=True)
        d.env["IBUS_COMPONENT_PATH"] = str(prefix / "share" / "ibus" / "component")
        daemon = d.start(["ibus-daemon", "--panel=disable", "--emoji-extension=disable", "--config=disable",
                 "--cache=refresh", "-v"], "ibus-daemon")
        address = wait_for(lambda: subprocess.run(["ibus", "address"], env=d.env, capture_output=True,
                                                  text=True).stdout.strip().startswith("unix:") and
                           subprocess.run(["ibus", "address"], env=d.env, capture_output=True, text=True).stdout.strip(),
                           20, "ibus-daemon did not start")
        found["engines"] = subprocess.run(["ibus", "list-engine"], env=d.env, capture_output=True, text=True).stdout

        # the text field: a Wayland client that uses IBus
        received = tmp / "received.txt"
        field_env = dict(d.env, QT_QPA_PLATFORM="wayland", QT_IM_MODULE="ibus", IBUS_ADDRESS=address,
                         QT_WAYLAND_DISABLE_WINDOWDECORATION="1")
        field = d.start([sys.executable, "-c", FIELD, str(received)], "field", env=field_env)
        spin(3)
        if field.poll() is not None:
            raise SystemExit("the text field exited: " + (tmp / "field.log").read_text()[-2000:])
        shot("01-field.png")
        # mutter places the first window centred: click into it (a keyboard focus needs a pointer or key event)
        click(512, 320)
        spin(1)
        found["field_focus"] = (Path(str(received) + ".focus").read_text().split() if
                                Path(str(received) + ".focus").exists() else [])

        # the engine: ibus-daemon runs the component's command, the pad appears under Xwayland
        if daemon.poll() is not None:
            raise SystemExit(f"ibus-daemon exited ({daemon.returncode}): " + (tmp / "ibus-daemon.log").read_text()[-1500:])
        # `ibus engine hwime` answers 1 when the daemon's reply waits for a component that is still starting (here
        # the first time, ~1 s), though the engine is set: what counts is that the daemon says hwime afterwards
        subprocess.run(["ibus", "engine", "hwime"], env=d.env, capture_output=True, text=True, timeout=20)
        found["engine"] = wait_for(lambda: subprocess.run(["ibus", "engine"], env=d.env, capture_output=True,
                                                          text=True).stdout.strip() == "hwime" and "hwime", 30,
                                   "the global engine is not hwime")
        wid = wait_for(lambda: subprocess.run(["xdotool", "search", "--name", "hwime"], env=d.env,
                                              capture_output=True, text=True).stdout.split(), 60,
                       "the pad did not appear on Xwayland")[-1]
        spin(8)  # the model loads
        geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", wid], env=d.env, capture_output=True,
                                  text=True).stdout
        g = dict(line.split("=", 1) for line in geometry.split())
        found["pad_geometry"] = g
        shot("02-pad.png")
        # move the pad below the text field (mutter honours an X11 window's configure request), then write 中 on
        # its canvas with the compositor's pointer. Places inside the pad are offsets from its frame's top left at
        # the pad's default size (532x426, read off 02-pad.png): the canvas square and the candidate cells
        for _ in range(5):  # a request made while the window is still being mapped or laid out can be ignored
            subprocess.run(["xdotool", "windowmove", "--sync", wid, "470", "200"], env=d.env, timeout=5,
                           capture_output=True)
            spin(1)
            moved = dict(line.split("=", 1) for line in subprocess.run(
                ["xdotool", "getwindowgeometry", "--shell", wid], env=d.env, capture_output=True,
                text=True).stdout.split())
            if moved["X"] != g["X"]:
                break
        found["pad_moved_to"] = moved
        fx, fy = int(moved["X"]) - int(g["X"]), int(moved["Y"]) - int(g["Y"])  # the frame was at 0, 0 before
        canvas_x, canvas_y, size = fx + 150, fy + 51, 230
        from hwime.training.strokedata import StrokeTable

        medians = StrokeTable().medians("中")
        xs = [p[0] for m in medians for p in m]
        ys = [p[1] for m in medians for p in m]
        span = max(max(xs) - min(xs), max(ys) - min(ys))
        for m in medians:
            pts = [(canvas_x + size * (0.18 + 0.64 * (x - min(xs)) / span),
                    canvas_y + size * (0.18 + 0.64 * (y - min(ys)) / span)) for x, y in m]
            move(*pts[0])
            spin(0.03)
            button(True)
            for (ax, ay), (bx, by) in zip(pts, pts[1:]):
                for k in range(1, 9):
                    move(ax + (bx - ax) * k / 8, ay + (by - ay) * k / 8)
                    spin(0.01)
            button(False)
            spin(0.15)
        spin(3)
        shot("03-written.png")
        click(fx + 36, fy + 322)  # the first candidate cell
        wait_for(lambda: received.exists() and received.read_text(encoding="utf-8"), 10, "中 did not arrive")
        found["after_character"] = received.read_text(encoding="utf-8")
        spin(2)
        shot("04-picked.png")
        click(fx + 240, fy + 320)  # the fourth cell: a continuation of several characters (中 → 华人民共和国)
        spin(2)
        shot("05-continuation.png")
        found["received"] = received.read_text(encoding="utf-8") if received.exists() else ""
        found["field_focus_after"] = (Path(str(received) + ".focus").read_text().split() if
                                      Path(str(received) + ".focus").exists() else [])
        # the text field kept the keyboard focus through every click on the pad, and holds 中 and the continuation
        found["ok"] = (found["after_character"] == "中" and len(found["received"]) > 1
                       and found["received"].startswith("中") and found["field_focus_after"] == ["in"])
        print(json.dumps(found, ensure_ascii=False), flush=True)
        return 0 if found["ok"] else 1
    finally:
        d.stop()
        shutil.copytree(tmp, out / "logs", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("runtime", "usr", "cache", "*.pt", "*.onnx"))


if __name__ == "__main__":
    sys.exit(main())
