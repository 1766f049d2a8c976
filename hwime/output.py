"""Deliver a chosen character: to the clipboard, or typed into the window that had focus.

Typing backends by platform: Windows SendInput with KEYEVENTF_UNICODE (ctypes), X11 `xdotool type`,
Wayland `wtype`, macOS Quartz unicode key events (when pyobjc is installed). When none works the
character goes to the clipboard and the result says why, so a character is never dropped silently.
The clipboard itself is the UI's (Qt) and is passed in, so this module has no GUI dependency.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Delivery:
    text: str
    method: str  # "clipboard", or the backend that typed it
    note: str = ""  # why typing fell back to the clipboard, when it did


class TypingError(RuntimeError):
    pass


def _type_windows(text: str) -> None:
    import ctypes
    from ctypes import wintypes

    KEYEVENTF_UNICODE, KEYEVENTF_KEYUP, INPUT_KEYBOARD = 0x0004, 0x0002, 1

    class KEYBDINPUT(ctypes.Structure):
        _fields_ = [("wVk", wintypes.WORD), ("wScan", wintypes.WORD), ("dwFlags", wintypes.DWORD),
                    ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]

    class INPUT(ctypes.Structure):
        class _U(ctypes.Union):
            _fields_ = [("ki", KEYBDINPUT), ("padding", ctypes.c_byte * 32)]

        _anonymous_ = ("u",)
        _fields_ = [("type", wintypes.DWORD), ("u", _U)]

    units = text.encode("utf-16-le")
    events = []
    for i in range(0, len(units), 2):
        code = int.from_bytes(units[i : i + 2], "little")
        for flags in (KEYEVENTF_UNICODE, KEYEVENTF_UNICODE | KEYEVENTF_KEYUP):
            events.append(INPUT(type=INPUT_KEYBOARD, ki=KEYBDINPUT(0, code, flags, 0, 0)))
    array = (INPUT * len(events))(*events)
    sent = ctypes.windll.user32.SendInput(len(events), array, ctypes.sizeof(INPUT))
    if sent != len(events):
        raise TypingError(f"SendInput sent {sent} of {len(events)} key events")


def _run(cmd: list[str]) -> None:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TypingError(f"{cmd[0]} failed: {exc}") from None
    if result.returncode != 0:
        raise TypingError(f"{cmd[0]} failed: {result.stderr.strip() or f'exit status {result.returncode}'}")


def _type_macos(text: str) -> None:
    try:
        import Quartz
    except ImportError:
        raise TypingError("typing on macOS needs pyobjc (pip install pyobjc-framework-Quartz)") from None
    for down in (True, False):
        event = Quartz.CGEventCreateKeyboardEvent(None, 0, down)
        Quartz.CGEventKeyboardSetUnicodeString(event, len(text.encode("utf-16-le")) // 2, text)
        Quartz.CGEventPost(Quartz.kCGHIDEventTap, event)


def typing_backends(platform: str = sys.platform, env: dict | None = None,
                    which: Callable[[str], str | None] = shutil.which) -> list[tuple[str, Callable[[str], None]]]:
    """The backends worth trying here, best first, as (name, type function)."""
    env = os.environ if env is None else env
    if platform == "win32":
        return [("SendInput", _type_windows)]
    if platform == "darwin":
        return [("Quartz", _type_macos)]
    backends = []
    if env.get("WAYLAND_DISPLAY") and which("wtype"):
        backends.append(("wtype", lambda t: _run(["wtype", "--", t])))
    if env.get("DISPLAY") and which("xdotool"):
        backends.append(("xdotool", lambda t: _run(["xdotool", "type", "--clearmodifiers", "--", t])))
    return backends


def no_backend_reason(platform: str = sys.platform, env: dict | None = None) -> str:
    env = os.environ if env is None else env
    if env.get("WAYLAND_DISPLAY"):
        return "typing needs wtype on Wayland (or xdotool for X11 apps)"
    if env.get("DISPLAY"):
        return "typing needs xdotool on X11"
    return "no typing method for this desktop"


class Deliverer:
    """Sends characters per output mode; ``copy_to_clipboard`` is the GUI's clipboard setter."""

    def __init__(self, copy_to_clipboard: Callable[[str], None], mode: str = "copy",
                 backends: list[tuple[str, Callable[[str], None]]] | None = None):
        self.copy_to_clipboard = copy_to_clipboard
        self.mode = mode
        self.backends = typing_backends() if backends is None else backends

    def deliver(self, text: str) -> Delivery:
        if self.mode == "type":
            errors = []
            for name, send in self.backends:
                try:
                    send(text)
                    return Delivery(text, name)
                except TypingError as exc:
                    errors.append(str(exc))
            reason = "; ".join(errors) if errors else no_backend_reason()
            self.copy_to_clipboard(text)
            return Delivery(text, "clipboard", f"could not type ({reason}), copied instead")
        self.copy_to_clipboard(text)
        return Delivery(text, "clipboard")


def keep_clipboard_after_exit(text: str, env: dict | None = None,
                              which: Callable[[str], str | None] = shutil.which) -> str:
    """On X11 the clipboard belongs to the program that set it and empties when it exits. Qt hands it to a
    clipboard manager when one runs; as well, give ``text`` to xclip or xsel, which keep serving it after we exit.
    Returns a line saying what happened (empty when nothing needed doing)."""
    env = os.environ if env is None else env
    if not env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or not text:
        return ""
    for cmd in (["xclip", "-selection", "clipboard", "-i"], ["xsel", "--clipboard", "--input"]):
        if which(cmd[0]):
            try:
                # both fork a child that owns the selection; the parent returns at once
                subprocess.run(cmd, input=text, text=True, timeout=3, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                return f"the clipboard ({text}) is kept by {cmd[0]}"
            except (OSError, subprocess.SubprocessError):
                continue
    return ("the clipboard is kept after exit only by a clipboard manager on X11 "
            "(install xclip or xsel to keep it without one)")
