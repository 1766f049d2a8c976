"""hwime as an IBus engine, against a real ibus-daemon on a private D-Bus session (dbus-run-session).

The daemon reads only the component `hwime ibus install --prefix` wrote (IBUS_COMPONENT_PATH replaces its default
folder), with its registry cache and address file in the test's own folders. The engine is served by this process,
as `hwime ibus engine` serves it (EngineHost + attach_pad around a real PadWindow); an input context is created by a
separate client process (tests/ibus_client.py), which prints what it receives. Needs ibus, gir1.2-ibus-1.0, dbus and
PyGObject (the README's test command installs them); skips, saying which, only where they are absent.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from conftest import line_ink, medians_ink, shown_pad
from hwime.session import BarState
from hwime.ibus_install import LONG_NAME, Layout, component_xml, desktop_entry, engine_command, install, uninstall
from hwime.settings import Settings

HERE = Path(__file__).resolve().parent


def _ibus_missing() -> str:
    for exe in ("dbus-run-session", "ibus-daemon", "ibus"):
        if shutil.which(exe) is None:
            return f"needs {exe} (apt-get install ibus dbus)"
    from hwime.ibus_engine import IBusUnavailable, load_ibus

    try:
        load_ibus()
    except IBusUnavailable as exc:
        return str(exc)
    return ""


needs_ibus = pytest.mark.skipif(bool(_ibus_missing()), reason=_ibus_missing() or "ibus is here")


class Daemon:
    """ibus-daemon in a D-Bus session of its own; its environment is this process's while the test runs."""

    def __init__(self, root: Path, env: dict):
        self.root, self.env = root, env
        self.proc: subprocess.Popen | None = None
        self.pid = 0

    def start(self) -> None:
        pidfile = self.root / "daemon.pid"
        pidfile.unlink(missing_ok=True)
        # the shell writes its pid and becomes the daemon, so the test can kill the daemon alone, mid-session;
        # --cache=refresh: the registry is read from the component folder, never from an earlier run's cache
        self.proc = subprocess.Popen(
            ["dbus-run-session", "--", "sh", "-c", f"echo $$ > '{pidfile}'; exec ibus-daemon --panel=disable "
             "--emoji-extension=disable --config=disable --cache=refresh"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=open(self.root / "daemon.log", "a"))
        deadline = time.monotonic() + 15
        while True:
            r = subprocess.run(["ibus", "address"], env=self.env, capture_output=True, text=True)
            if r.returncode == 0 and r.stdout.startswith("unix:") and pidfile.exists():
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ibus-daemon did not start: {(self.root / 'daemon.log').read_text()[-2000:]}")
            time.sleep(0.05)
        self.pid = int(pidfile.read_text())

    def kill_daemon(self) -> None:
        os.kill(self.pid, 9)

    def children(self) -> list[int]:
        """What the daemon started (an engine process it spawned)."""
        found = []
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            try:
                found += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                pass
        return found

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, 15)
            except ProcessLookupError:
                pass
            self.proc.terminate()  # dbus-run-session ends its bus when the daemon has gone
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="session")
def ibus_config(tmp_path_factory) -> Path:
    """Where the daemon writes its address file, the same for every test: IBus keeps one bus object per process,
    which watches the address file it first read (a new daemon there is connected to by itself)."""
    return tmp_path_factory.mktemp("ibus-config")


@pytest.fixture
def ibus(tmp_path, monkeypatch, ibus_config):
    """A running private ibus-daemon that knows the engine from the component `hwime ibus install` wrote."""
    if _ibus_missing():
        pytest.skip(_ibus_missing())
    status, lines = install(tmp_path / "usr")
    assert status == 0, lines
    # IBus's own keyboard engine beside ours, so a client can switch from hwime to another input source
    shutil.copy("/usr/share/ibus/component/simple.xml", Layout(tmp_path / "usr").component.parent)
    env = {"IBUS_COMPONENT_PATH": str(Layout(tmp_path / "usr").component.parent),
           "XDG_CONFIG_HOME": str(ibus_config),  # the daemon's address file: found by clients there
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("IBUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    daemon = Daemon(tmp_path, dict(os.environ))
    daemon.start()
    yield daemon
    daemon.stop()


class Client:
    """tests/ibus_client.py: an input context with an engine set; ``events`` is what it printed so far."""

    def __init__(self, engine: str = "hwime"):
        self.proc = subprocess.Popen([sys.executable, str(HERE / "ibus_client.py"), engine], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.events: list[dict] = []
        threading.Thread(target=lambda: [self.lines.put(json.loads(line)) for line in self.proc.stdout],
                         daemon=True).start()

    def commits(self) -> list[str]:
        while not self.lines.empty():
            self.events.append(self.lines.get())
        return [e["commit"] for e in self.events if "commit" in e]

    def keys(self) -> list[tuple[str, bool]]:
        """The keys the engine forwarded: (name, released)."""
        self.commits()
        return [(e["key"], bool(e["state"] & (1 << 30))) for e in self.events if "key" in e]

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def client():
    clients = []

    def start(engine: str = "hwime") -> Client:
        clients.append(Client(engine))
        return clients[-1]

    yield start
    for c in clients:
        c.close()


@pytest.fixture
def engine_pad(qtbot, ibus, tiny_v3, settings_path, tmp_path):
    """The pad serving the engine, as `hwime ibus engine` runs it (type mode through the engine's commit)."""
    from hwime.ibus_engine import EngineHost, attach_pad
    from hwime.output import Deliverer
    from hwime.ui.window import PadWindow

    host = EngineHost()
    settings = Settings(model_path=str(tiny_v3), device="cpu", output_mode="type")
    deliverer = Deliverer(QGuiApplication.clipboard().setText, "type", backends=[("IBus", host)])
    window = PadWindow(settings, settings_path, deliverer=deliverer, profile_dir=tmp_path / "profile")
    attach_pad(window, host)
    host.start()
    qtbot.waitUntil(lambda: host.connected and host.factory is not None, timeout=10000)  # a fresh daemon is found
    window = shown_pad(qtbot, window, (760, 560), timeout=30000)
    window.hide()  # the engine shows it: hidden until an input context switches hwime on
    yield window, host
    window.shutdown()
    host.close()


def click_candidate(qtbot, pad, text: str) -> None:
    qtbot.waitUntil(lambda: any(getattr(c, "text", c.char) == text for c in pad.bar.candidates), timeout=20000)
    index = next(i for i, c in enumerate(pad.bar.candidates) if getattr(c, "text", c.char) == text)
    qtbot.mouseClick(pad.bar.buttons[index], Qt.MouseButton.LeftButton)


def write(qtbot, pad, ink) -> None:
    from test_line_pad import draw_scaled

    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=20000):
        draw_scaled(qtbot, pad.canvas, ink)


# --- install ------------------------------------------------------------------------------------------------------
def test_install_writes_the_component_icon_and_launcher_and_uninstall_removes_them(tmp_path):
    if _ibus_missing():
        pytest.skip(_ibus_missing())
    layout = Layout(tmp_path / "usr")
    status, lines = install(layout.prefix, keep_shown=True)
    assert status == 0 and f"IBUS_COMPONENT_PATH={layout.component.parent}" in lines[-1]
    xml = layout.component.read_text(encoding="utf-8")
    assert "<name>hwime</name>" in xml and f"<longname>{LONG_NAME}</longname>" in xml and "<language>zh</language>" in xml
    assert f"<icon>{layout.icon}</icon>" in xml and layout.icon.read_bytes().startswith(b"<svg")
    assert f"<exec>{Path(sys.executable).absolute()} -m hwime ibus engine --keep-shown</exec>" in xml
    desktop = layout.desktop.read_text(encoding="utf-8")
    assert f"Exec={Path(sys.executable).absolute()} -m hwime\n" in desktop and f"Icon={layout.icon}\n" in desktop
    assert uninstall(layout.prefix)[0] == 0
    assert not any(p.exists() for p in (layout.component, layout.icon, layout.desktop))
    assert "nothing" in uninstall(layout.prefix)[1][0]


def test_install_quotes_what_it_writes_and_says_what_went_wrong(tmp_path):
    python = str(tmp_path / "my venv" / "bin" / "python3")
    xml = component_xml(engine_command(python), Path("/usr/share/icons/a&b.svg"), "1")
    assert f"<exec>'{python}' -m hwime ibus engine</exec>" in xml and "a&amp;b.svg" in xml
    assert f'Exec="{python}" -m hwime\n' in desktop_entry([python, "-m", "hwime"], Path("/x.svg"))
    if _ibus_missing():
        return
    blocker = tmp_path / "file"
    blocker.write_text("")
    status, lines = install(blocker)  # a prefix that cannot be a folder
    assert status == 1 and "could not write" in lines[0]


# --- a real daemon ------------------------------------------------------------------------------------------------
@needs_ibus
def test_the_engine_is_listed_with_its_chinese_name(ibus):
    r = subprocess.run(["ibus", "list-engine"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and f"hwime - {LONG_NAME}" in r.stdout


@needs_ibus
def test_picks_are_committed_into_the_input_context_and_the_pad_shows_and_hides(qtbot, engine_pad, client, capfd):
    pad, host = engine_pad
    c = client()
    qtbot.waitUntil(lambda: host.focused is not None and pad.isVisible(), timeout=15000)  # switched on: it shows
    write(qtbot, pad, medians_ink("中"))
    click_candidate(qtbot, pad, "中")  # a character
    qtbot.waitUntil(lambda: c.commits() == ["中"], timeout=5000)
    assert "中" in pad.status.text() and "copied" not in pad.status.text()
    assert pad.canvas.ink.is_empty and pad.session.bar is BarState.SUGGESTIONS
    qtbot.waitUntil(lambda: any(len(s.char) > 1 for s in pad.bar.candidates), timeout=10000)
    word = next(s.char for s in pad.bar.candidates if len(s.char) > 1)
    click_candidate(qtbot, pad, word)  # a continuation of several characters arrives in one commit
    qtbot.waitUntil(lambda: c.commits() == ["中", word], timeout=5000)
    c.send("set_engine xkb:us::eng")  # the user switches to another input source: the pad hides
    qtbot.waitUntil(lambda: host.focused is None and not pad.isVisible(), timeout=5000)
    assert not host.enabled and not host.engines
    assert "Traceback" not in capfd.readouterr().err  # PyGObject only prints what a callback raised


@needs_ibus
def test_a_line_arrives_whole(qtbot, engine_pad, client):
    pad, host = engine_pad
    pad.line_button.setChecked(True)
    c = client()
    qtbot.waitUntil(lambda: host.focused is not None, timeout=15000)
    write(qtbot, pad, line_ink("中国人"))
    click_candidate(qtbot, pad, "中国人")
    qtbot.waitUntil(lambda: c.commits() == ["中国人"], timeout=5000)


@needs_ibus
def test_a_second_engine_process_queues_behind_the_first_and_says_so(qtbot, engine_pad):
    pad, host = engine_pad
    assert host.serving
    code = ("from hwime.ibus_engine import EngineHost; h = EngineHost(); "
            "print(h.start(), h.serving); h.close(); print(h.connected)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["True", "False", "True"], r.stderr[-2000:]
    assert host.serving


@needs_ibus
def test_switched_off_mid_pick_the_pick_is_copied_and_said(qtbot, engine_pad, client):
    pad, host = engine_pad
    c = client()
    qtbot.waitUntil(lambda: host.focused is not None, timeout=15000)
    write(qtbot, pad, medians_ink("中"))  # the writer writes while the application still has the engine …
    c.send("focus_out")  # … and the focus leaves it before the pick
    qtbot.waitUntil(lambda: host.focused is None, timeout=5000)
    QGuiApplication.clipboard().clear()
    click_candidate(qtbot, pad, "中")
    assert QGuiApplication.clipboard().text() == "中" and c.commits() == []
    assert "copied" in pad.status.text() and "hwime input method" in pad.status.text()
    c.send("focus_in")  # back in the text field: the next pick is committed again
    qtbot.waitUntil(lambda: host.focused is not None, timeout=5000)
    pad.deliver("国")
    qtbot.waitUntil(lambda: c.commits() == ["国"], timeout=5000)


@needs_ibus
def test_the_daemon_killed_mid_session_the_next_pick_is_copied_and_said(qtbot, engine_pad, client, ibus, capfd):
    pad, host = engine_pad
    c = client()
    qtbot.waitUntil(lambda: host.focused is not None, timeout=15000)
    pad.deliver("中")
    qtbot.waitUntil(lambda: c.commits() == ["中"], timeout=5000)
    write(qtbot, pad, medians_ink("中"))
    ibus.kill_daemon()  # mid-pick: the drawing is there, the daemon is not
    c.proc.wait(10)  # the client saw its daemon go
    QGuiApplication.clipboard().clear()
    click_candidate(qtbot, pad, "中")  # pytest-qt fails the test on any exception raised in Qt's loop
    assert QGuiApplication.clipboard().text() == "中"
    assert "copied" in pad.status.text() and "IBus is not reachable" in pad.status.text()
    qtbot.waitUntil(lambda: not pad.isVisible(), timeout=5000)  # no engine is on any more
    # an exception in a GObject callback is only printed (PyGObject), so the output is read for one
    assert "Traceback" not in capfd.readouterr().err
    # the pad keeps working: the next pick is copied too, and a new daemon gets the engine again
    ibus.start()
    qtbot.waitUntil(lambda: host.connected, timeout=10000)
    c2 = client()
    qtbot.waitUntil(lambda: host.focused is not None and pad.isVisible(), timeout=15000)
    pad.deliver("国")
    qtbot.waitUntil(lambda: c2.commits() == ["国"], timeout=5000)
    assert "Traceback" not in capfd.readouterr().err


@needs_ibus
def test_the_daemon_starts_the_engine_from_the_installed_component(qtbot, ibus, client, tiny_bundle, tmp_path):
    """What a desktop does: the input context asks for hwime, ibus-daemon runs the component's <exec> (this
    interpreter, `-m hwime ibus engine`), which takes the component's name and serves the engine."""
    from hwime.ibus_engine import COMPONENT_NAME, load_ibus

    settings = Path(os.environ["XDG_CONFIG_HOME"]) / "hwime" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"model_path": str(tiny_bundle), "device": "cpu"}), encoding="utf-8")
    IBus = load_ibus()
    bus = IBus.Bus.new()
    qtbot.waitUntil(bus.is_connected, timeout=10000)  # the process's one bus finds this test's daemon
    assert not bus.name_has_owner(COMPONENT_NAME)
    c = client()
    spawned = []
    try:
        deadline = time.monotonic() + 30
        while not bus.name_has_owner(COMPONENT_NAME) and time.monotonic() < deadline:
            spawned = spawned or ibus.children()
            qtbot.wait(100)
        spawned = spawned or ibus.children()
        assert bus.name_has_owner(COMPONENT_NAME), (ibus.root / "daemon.log").read_text()[-2000:]
        cmdlines = [Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in spawned]
        assert [b"-m", b"hwime", b"ibus", b"engine"] in [cmd[1:5] for cmd in cmdlines]
        assert c.proc.poll() is None
    finally:
        for pid in spawned:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


@needs_ibus
def test_with_no_daemon_the_pad_copies_and_says_why(qtbot, ibus_config, monkeypatch):
    from hwime.ibus_engine import EngineHost
    from hwime.output import Deliverer

    monkeypatch.setenv("XDG_CONFIG_HOME", str(ibus_config))  # where no daemon runs now (see ibus_config)
    monkeypatch.delenv("IBUS_ADDRESS", raising=False)
    host = EngineHost()
    # the process's one bus hears that an earlier test's daemon went away a moment after it did
    qtbot.waitUntil(lambda: not host.IBus.Bus.new().is_connected(), timeout=5000)
    assert host.start() is False and "no ibus-daemon is running" in host.lost
    copied = []
    result = Deliverer(copied.append, "type", backends=[("IBus", host)]).deliver("中")
    assert copied == ["中"] and result.method == "clipboard" and "IBus is not reachable" in result.note
    host.close()


def test_the_engines_pad_runs_on_xwayland_under_wayland_and_is_no_ibus_client_itself():
    from hwime.ibus_engine import pad_environment

    wayland = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert pad_environment(wayland) == {"QT_IM_MODULE": "compose", "QT_QPA_PLATFORM": "xcb"}
    assert pad_environment({"WAYLAND_DISPLAY": "wayland-0"}) == {"QT_IM_MODULE": "compose"}  # no Xwayland here
    assert pad_environment({**wayland, "QT_QPA_PLATFORM": "wayland"}) == {"QT_IM_MODULE": "compose"}  # asked for
    assert pad_environment({"DISPLAY": ":0"}) == {"QT_IM_MODULE": "compose"}  # X11: xcb already


@needs_ibus
def test_undo_erases_the_committed_pick_with_forwarded_backspaces_and_the_keys_go_through_ibus(qtbot, engine_pad,
                                                                                               client):
    """Issue 38 item 2 through a real daemon: Undo right after a pick forwards one BackSpace (press, release) per
    character committed; once a key was typed into the application since, it forwards none and says so; type mode's
    ⌫ and ↵ are forwarded keys too, its marks commits."""
    pad, host = engine_pad
    c = client()
    qtbot.waitUntil(lambda: host.focused is not None and pad.isVisible(), timeout=15000)
    write(qtbot, pad, medians_ink("中"))
    click_candidate(qtbot, pad, "中")
    qtbot.waitUntil(lambda: c.commits() == ["中"], timeout=5000)
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: c.keys() == [("BackSpace", False), ("BackSpace", True)], timeout=5000)
    assert "中 was erased" in pad.status.text() and not pad.canvas.ink.is_empty

    click_candidate(qtbot, pad, "中")  # picked again; then the writer types a key into the application
    qtbot.waitUntil(lambda: c.commits() == ["中", "中"], timeout=5000)
    c.send("key a")
    qtbot.waitUntil(lambda: host.keys_seen > 0, timeout=5000)
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert "中 stays where it was typed" in pad.status.text()
    qtbot.wait(300)
    assert len(c.keys()) == 2  # no BackSpace: it would have erased the writer's a

    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)
    for label in ("，", "⌫", "↵"):
        qtbot.mouseClick(pad.keys.button(label), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: c.keys()[2:] == [("BackSpace", False), ("BackSpace", True), ("Return", False),
                                            ("Return", True)], timeout=5000)
    assert c.commits()[-1] == "，"
