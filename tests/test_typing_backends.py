"""The typing backends of other platforms, driven through the calls they make (no Windows, macOS or wlroots
compositor here): what the pad types and the Backspaces Undo sends reach SendInput/keybd_event, Quartz and wtype as
those expect them (issue 38 item 2)."""

import ctypes
import os
import stat
import sys
import types

import pytest

from hwime import output
from hwime.output import Deliverer, typing_backends


def test_wtype_types_the_text_and_presses_backspace_once_per_character(tmp_path, monkeypatch):
    log = tmp_path / "argv.log"
    fake = tmp_path / "wtype"
    fake.write_text(f"#!/bin/sh\nprintf '%s|' \"$@\" >> '{log}'\necho >> '{log}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    backends = typing_backends("linux", {"WAYLAND_DISPLAY": "wayland-0"})
    assert [name for name, _ in backends] == ["wtype"]
    d = Deliverer(lambda text: None, "type", backends=backends)
    d.deliver("中国")
    taken = d.take_back("中国")
    assert taken.erased and taken.method == "wtype"
    assert log.read_text().splitlines() == ["--|中国|", "-k|BackSpace|-k|BackSpace|"]


def test_a_failing_wtype_is_a_typing_error_not_a_crash(tmp_path, monkeypatch):
    fake = tmp_path / "wtype"
    fake.write_text("#!/bin/sh\necho 'Compositor does not support the virtual keyboard protocol' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    (_, typer), = typing_backends("linux", {"WAYLAND_DISPLAY": "wayland-0"})
    with pytest.raises(output.TypingError, match="virtual keyboard protocol"):
        typer("中")


class FakeUser32:
    def __init__(self):
        self.units, self.keys = [], []

    def SendInput(self, count, array, size):  # noqa: N802 (Windows' name)
        self.units += [(event.ki.wScan, event.ki.dwFlags) for event in array]
        return count

    def keybd_event(self, vk, scan, flags, extra):
        self.keys.append((vk, flags))

    def GetForegroundWindow(self):  # noqa: N802
        return 42


def test_sendinput_types_utf16_units_and_undo_presses_backspace(monkeypatch):
    user32 = FakeUser32()
    monkeypatch.setattr(ctypes, "windll", types.SimpleNamespace(user32=user32), raising=False)
    backends = typing_backends("win32", {})
    d = Deliverer(lambda text: None, "type", backends=backends)
    d.deliver("中𠀀")  # one BMP character, one outside it (a surrogate pair)
    down, up = 0x0004, 0x0004 | 0x0002  # KEYEVENTF_UNICODE, with KEYEVENTF_KEYUP
    assert user32.units == [(0x4E2D, down), (0x4E2D, up), (0xD840, down), (0xD840, up), (0xDC00, down), (0xDC00, up)]
    taken = d.take_back("中𠀀")
    assert taken.erased and taken.method == "SendInput"
    assert user32.keys == [(0x08, 0), (0x08, 0x0002)] * 2  # a Backspace per character, pressed and released


def test_quartz_types_the_string_and_undo_presses_delete(monkeypatch):
    posted = []
    quartz = types.ModuleType("Quartz")
    quartz.kCGHIDEventTap = "hid"
    quartz.CGEventCreateKeyboardEvent = lambda source, keycode, down: {"key": keycode, "down": down}
    quartz.CGEventKeyboardSetUnicodeString = lambda event, length, text: event.update(text=text, length=length)
    quartz.CGEventPost = lambda tap, event: posted.append(dict(event, tap=tap))
    monkeypatch.setitem(sys.modules, "Quartz", quartz)
    d = Deliverer(lambda text: None, "type", backends=typing_backends("darwin", {}))
    d.deliver("中国")
    assert [(e["text"], e["length"], e["down"]) for e in posted] == [("中国", 2, True), ("中国", 2, False)]
    posted.clear()
    taken = d.take_back("中国")
    assert taken.erased and taken.method == "Quartz"
    assert [(e["key"], e["down"]) for e in posted] == [(51, True), (51, False)] * 2  # kVK_Delete


def test_quartz_without_pyobjc_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "Quartz", None)  # import Quartz raises ImportError
    (_, typer), = typing_backends("darwin", {})
    with pytest.raises(output.TypingError, match="pyobjc"):
        typer("中")
