"""Deliver a chosen character: to the clipboard, or typed into the window that had focus.

Typing backends by platform: Windows SendInput with KEYEVENTF_UNICODE (ctypes), X11 the XTEST extension
(python-xlib, `XTestTyper`), Wayland `wtype`, macOS Quartz unicode key events (when pyobjc is installed). When
none works the character goes to the clipboard and the result says why, so a character is never dropped silently.
The clipboard itself is the UI's (Qt) and is passed in, so this module has no GUI dependency.

What was typed can be taken back (``Deliverer.take_back``: the pad's Undo right after a pick) by the same backend
with as many Backspaces as it typed characters, but only where the pad can tell that they still end the text: the
pad typed nothing after them, the keyboard focus is where it was (XTEST: the focused window; SendInput: the
foreground window; IBus: the input context, which also sees every key typed into it), and, where the pad cannot see
the keyboard (XTEST, SendInput, wtype, Quartz), within ``TAKE_BACK_WITHIN_S`` of typing them. Otherwise it says why
and sends nothing: a Backspace too many erases the writer's own text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Delivery:
    text: str
    method: str  # "clipboard", or the backend that typed it
    note: str = ""  # why typing fell back to the clipboard, when it did


class TypingError(RuntimeError):
    pass


# keys the pad presses besides typing text (its Backspace and Enter buttons, and Undo's Backspaces)
KEYS = ("BackSpace", "Return")
X_KEYSYMS = {"BackSpace": 0xFF08, "Return": 0xFF0D}
# a writer who types on the keyboard after a pick does so within seconds; past this, what the pad typed may no
# longer end the text, and a backend that cannot see the keyboard does not erase it
TAKE_BACK_WITHIN_S = 30.0


class Typer:
    """A typing backend: called with text, it types it; ``press(key, count)`` presses one of KEYS; ``focus()`` is what
    has the keyboard focus now (compared before Undo erases; None where the backend cannot tell); ``sees_keys``: the
    backend hears every key typed where it types (an input method), so no time limit is needed."""

    sees_keys = False

    def __call__(self, text: str) -> None:
        raise NotImplementedError

    def press(self, key: str, count: int = 1) -> None:
        raise TypingError(f"{type(self).__name__} cannot press {key}")

    def focus(self) -> object:
        return None


class FunctionTyper(Typer):
    """A backend made of functions: ``type_text(text)`` and ``press_key(key, count)``, and optionally ``focus()``."""

    def __init__(self, type_text: Callable[[str], None], press_key: Callable[[str, int], None] | None = None,
                 focus: Callable[[], object] | None = None):
        self.type_text, self.press_key, self._focus = type_text, press_key, focus

    def __call__(self, text: str) -> None:
        self.type_text(text)

    def press(self, key: str, count: int = 1) -> None:
        if self.press_key is None:
            super().press(key, count)
        self.press_key(key, count)

    def focus(self) -> object:
        return self._focus() if self._focus else None


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


WINDOWS_VK = {"BackSpace": 0x08, "Return": 0x0D}


def _press_windows(key: str, count: int) -> None:
    import ctypes

    KEYEVENTF_KEYUP = 0x0002
    for _ in range(count):  # keybd_event: a virtual key's press and release, as the keyboard sends them
        ctypes.windll.user32.keybd_event(WINDOWS_VK[key], 0, 0, 0)
        ctypes.windll.user32.keybd_event(WINDOWS_VK[key], 0, KEYEVENTF_KEYUP, 0)


def _foreground_windows() -> object:
    import ctypes

    return ctypes.windll.user32.GetForegroundWindow()


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


MAC_KEYCODES = {"BackSpace": 51, "Return": 36}  # kVK_Delete, kVK_Return


def _press_macos(key: str, count: int) -> None:
    try:
        import Quartz
    except ImportError:
        raise TypingError("typing on macOS needs pyobjc (pip install pyobjc-framework-Quartz)") from None
    for _ in range(count):
        for down in (True, False):
            Quartz.CGEventPost(Quartz.kCGHIDEventTap, Quartz.CGEventCreateKeyboardEvent(None, MAC_KEYCODES[key], down))


def keysym_for(char: str) -> int:
    """The X keysym of one character: Latin-1 keysyms are their code points, the rest 0x01000000 + code point."""
    code = ord(char)
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    if code < 0x20 or code == 0x7F:
        raise TypingError(f"cannot type the control character U+{code:04X}")
    return 0x01000000 | code


class XTestTyper(Typer):
    """Types text on X11 with XTEST key events, each character on a spare keycode (one with no keysym).

    Why not `xdotool type`: it binds a character to a scratch keycode, sends the key and unbinds it at once. A client
    reads the keymap again when it handles the key, which is often after the unbinding, and then gets nothing or a
    later character (measured under Xvfb: 6 of 10 arrived into an xterm). Here a binding stays in place: a repeated
    character reuses its keycode, and a keycode is bound to another character only when it is the least recently
    used spare one and was last pressed at least ``rebind_after_s`` ago, so a client that is behind by that long still
    finds each character where it was sent. The mapping change is synced before its key event. ``close`` gives the
    spare keycodes back. The display opens on first use, so constructing one costs nothing."""

    def __init__(self, display_name: str | None = None, rebind_after_s: float = 1.0, max_keycodes: int | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.display_name, self.rebind_after_s, self.max_keycodes = display_name, rebind_after_s, max_keycodes
        self.clock, self.sleep = clock, sleep
        self._display = None
        self._free: list[int] = []
        self._bound: OrderedDict[str, tuple[int, float]] = OrderedDict()  # char -> (keycode, last pressed), LRU first
        self._width = 1
        self.own_windows: set[int] = set()  # the pad's own windows: keys sent while one has the focus are lost

    def _connect(self):
        try:
            from Xlib import display as xdisplay
        except ImportError:
            raise TypingError("typing on X11 needs python-xlib (pip install python-xlib)") from None
        try:
            d = xdisplay.Display(self.display_name)
        except Exception as exc:  # python-xlib raises several unrelated types for a display it cannot open
            raise TypingError(f"cannot open the X display: {exc}") from None
        if not d.has_extension("XTEST"):
            d.close()
            raise TypingError("the X server has no XTEST extension")
        first, last = d.display.info.min_keycode, d.display.info.max_keycode
        mapping = d.get_keyboard_mapping(first, last - first + 1)
        self._width = max(1, len(mapping[0]) if mapping else 1)
        free = [first + i for i, syms in enumerate(mapping) if not any(syms)]
        if self.max_keycodes is not None:
            free = free[: self.max_keycodes]
        if not free:
            d.close()
            raise TypingError("the keyboard map has no free keycode to type with")
        self._free = free[::-1]  # pop() takes the lowest first
        self._display = d
        return d

    def _keycode_for(self, char: str, keysym: int | None = None) -> int:
        """The keycode ``char`` (or a key's name, with its ``keysym``) is bound to, binding a spare one if need be."""
        if char in self._bound:
            self._bound.move_to_end(char)
            return self._bound[char][0]
        keysym = keysym_for(char) if keysym is None else keysym
        if self._free:
            keycode = self._free.pop()
        else:
            oldest = next(iter(self._bound))
            keycode, pressed = self._bound.pop(oldest)
            wait = pressed + self.rebind_after_s - self.clock()
            if wait > 0:
                self._display.sync()
                self.sleep(wait)
        self._display.change_keyboard_mapping(keycode, [(keysym,) * self._width])
        self._display.sync()  # the new mapping is the server's before the key that needs it
        self._bound[char] = (keycode, self.clock())
        return keycode

    def _check_focus(self, display) -> int:
        """The id of the application window that has the keyboard focus; a TypingError when none has (the window
        manager's own window, the root, nothing under the pointer) or the pad's own: the keys would go nowhere."""
        from Xlib import X

        focus = display.get_input_focus().focus
        root = display.screen().root
        if focus == X.PointerRoot:  # no window manager: keys go to the window under the pointer
            focus = root.query_pointer().child
        if isinstance(focus, int) or focus.id == root.id:
            raise TypingError("no window has the keyboard focus to type into")
        window = focus
        for _ in range(64):  # from the focused window up to its top level (a widget's subwindow has no WM_CLASS)
            if window.id in self.own_windows:
                raise TypingError("the pad itself has the keyboard focus; click where the text should go")
            if window.get_wm_class() is not None or window.get_wm_name():
                return window.id
            parent = window.query_tree().parent
            if isinstance(parent, int) or parent.id == root.id:
                break
            window = parent
        raise TypingError("no window has the keyboard focus to type into")

    def __call__(self, text: str) -> None:
        from Xlib import X
        from Xlib.ext import xtest

        display = self._display or self._connect()
        try:
            self._check_focus(display)
            for char in text:
                keycode = self._keycode_for(char)
                xtest.fake_input(display, X.KeyPress, keycode)
                xtest.fake_input(display, X.KeyRelease, keycode)
                self._bound[char] = (keycode, self.clock())
                display.sync()
        except TypingError:
            raise
        except Exception as exc:  # the connection closed under us (the X server went away)
            self._display = None
            raise TypingError(f"XTEST typing failed: {exc}") from None

    def press(self, key: str, count: int = 1) -> None:
        """Press ``key`` (one of KEYS) ``count`` times: with the keycode the keyboard map has for it, or a spare one."""
        from Xlib import X
        from Xlib.ext import xtest

        display = self._display or self._connect()
        try:
            self._check_focus(display)
            keycode = display.keysym_to_keycode(X_KEYSYMS[key]) or self._keycode_for(f"<{key}>", X_KEYSYMS[key])
            for _ in range(count):
                xtest.fake_input(display, X.KeyPress, keycode)
                # the press reaches the server before its release is sent, as a hand's would
                display.sync()
                xtest.fake_input(display, X.KeyRelease, keycode)
            display.sync()
        except TypingError:
            raise
        except Exception as exc:  # the connection closed under us (the X server went away)
            self._display = None
            raise TypingError(f"XTEST typing failed: {exc}") from None

    def focus(self) -> object:
        try:
            return self._check_focus(self._display or self._connect())
        except TypingError:
            return None
        except Exception:  # the X server went away
            self._display = None
            return None

    def close(self) -> None:
        """Unbind the keycodes this typer used (once the last character has had time to be read)."""
        if self._display is None:
            return
        try:
            last = max((pressed for _, pressed in self._bound.values()), default=None)
            if last is not None and (wait := last + self.rebind_after_s - self.clock()) > 0:
                self.sleep(wait)
            for keycode, _ in self._bound.values():
                self._display.change_keyboard_mapping(keycode, [(0,) * self._width])
            self._display.sync()
            self._display.close()
        except Exception:  # the server is gone: nothing is left to give back
            pass
        self._display, self._bound, self._free = None, OrderedDict(), []


def typing_backends(platform: str = sys.platform, env: dict | None = None,
                    which: Callable[[str], str | None] = shutil.which) -> list[tuple[str, Callable[[str], None]]]:
    """The backends worth trying here, best first, as (name, type function)."""
    env = os.environ if env is None else env
    if platform == "win32":
        return [("SendInput", FunctionTyper(_type_windows, _press_windows, _foreground_windows))]
    if platform == "darwin":
        return [("Quartz", FunctionTyper(_type_macos, _press_macos))]
    backends = []
    if env.get("WAYLAND_DISPLAY") and which("wtype"):
        backends.append(("wtype", FunctionTyper(lambda t: _run(["wtype", "--", t]),
                                                lambda key, n: _run(["wtype"] + ["-k", key] * n))))
    if env.get("DISPLAY"):
        backends.append(("XTEST", XTestTyper(env["DISPLAY"])))
    return backends


def no_backend_reason(platform: str = sys.platform, env: dict | None = None) -> str:
    env = os.environ if env is None else env
    if env.get("WAYLAND_DISPLAY"):
        return "typing needs wtype on Wayland (X11 programs there are typed into through XTEST)"
    if env.get("DISPLAY"):
        return "typing on X11 needs python-xlib and the XTEST extension"
    return "no typing method for this desktop"


@dataclass(frozen=True)
class Typed:
    """What a backend typed last, and where and when: what ``take_back`` checks before it erases."""

    text: str
    method: str
    send: Callable[[str], None]
    focus: object  # the backend's focus() right after typing (None: it cannot tell)
    at: float  # clock() when typed


@dataclass(frozen=True)
class TakeBack:
    """How taking back a sent text went: ``erased`` by ``method``'s Backspaces, or not and ``why`` (empty when it
    was copied, not typed: the clipboard needs nothing taken back)."""

    text: str
    erased: bool
    method: str = ""
    why: str = ""


class Deliverer:
    """Sends characters per output mode; ``copy_to_clipboard`` is the GUI's clipboard setter. A backend is
    (name, send): ``send(text)`` types; a Typer also presses keys and says where the focus is."""

    def __init__(self, copy_to_clipboard: Callable[[str], None], mode: str = "copy",
                 backends: list[tuple[str, Callable[[str], None]]] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.copy_to_clipboard = copy_to_clipboard
        self.mode = mode
        self.backends = typing_backends() if backends is None else backends
        self.clock = clock
        self.typed: Typed | None = None  # the last text typed, while nothing else went out after it
        self.last: Delivery | None = None  # the last text delivered, typed or copied, while no key was pressed after

    def set_own_windows(self, ids: set[int]) -> None:
        """The pad's own native windows: typing is refused while one of them has the keyboard focus."""
        for _, send in self.backends:
            if isinstance(send, XTestTyper):
                send.own_windows = set(ids)

    def close(self) -> None:
        """Give back what the typing backends hold (the X11 typer's keycodes)."""
        for _, send in self.backends:
            if isinstance(send, XTestTyper):
                send.close()

    def deliver(self, text: str) -> Delivery:
        self.typed = None
        self.last = self._deliver(text)
        return self.last

    def _deliver(self, text: str) -> Delivery:
        if self.mode == "type":
            errors = []
            for name, send in self.backends:
                try:
                    send(text)
                except TypingError as exc:
                    errors.append(str(exc))
                    continue
                self.typed = Typed(text, name, send, _focus_of(send), self.clock())
                return Delivery(text, name)
            reason = "; ".join(errors) if errors else no_backend_reason()
            self.copy_to_clipboard(text)
            return Delivery(text, "clipboard", f"could not type ({reason}), copied instead")
        self.copy_to_clipboard(text)
        return Delivery(text, "clipboard")

    def press(self, key: str) -> Delivery:
        """Press ``key`` (one of KEYS) where typing goes, in type mode; the Delivery's note says why when no backend
        could (nothing is copied: a key is no text)."""
        if key not in KEYS:
            raise ValueError(f"not a key the pad presses: {key!r}")
        if self.mode != "type":
            return Delivery("", "", f"{key} is pressed only in type mode")
        errors = []
        for name, send in self.backends:
            press = getattr(send, "press", None)
            if press is None:
                errors.append(f"{name} cannot press {key}")
                continue
            try:
                press(key, 1)
            except TypingError as exc:
                errors.append(str(exc))
                continue
            self.typed = self.last = None  # what was typed before no longer ends the text
            return Delivery("", name)
        return Delivery("", "", f"could not press {key} ({'; '.join(errors) or no_backend_reason()})")

    def take_back(self, text: str) -> TakeBack:
        """Erase ``text``, the last thing delivered, where it was typed: as many Backspaces as it has characters,
        through the backend that typed it, only while nothing else can have been typed after it (see the module's
        doc); otherwise say why and send nothing."""
        # one try: whatever happens, those characters are not erased twice
        (typed, self.typed), (last, self.last) = (self.typed, None), (self.last, None)
        if last is None or last.text != text:
            return TakeBack(text, False, why="the pad sent something else after it")
        if typed is None:
            return TakeBack(text, False)  # copied: nothing to take back from another application
        press = getattr(typed.send, "press", None)
        if press is None:
            return TakeBack(text, False, typed.method, f"{typed.method} cannot press Backspace")
        if not getattr(typed.send, "sees_keys", False) and self.clock() - typed.at > TAKE_BACK_WITHIN_S:
            return TakeBack(text, False, typed.method, f"more than {TAKE_BACK_WITHIN_S:g} s passed, so keys typed "
                                                        "since cannot be ruled out")
        if typed.focus is not None and _focus_of(typed.send) != typed.focus:
            return TakeBack(text, False, typed.method, "the keyboard focus moved since, or keys were typed there")
        try:
            press("BackSpace", len(text))
        except TypingError as exc:
            return TakeBack(text, False, typed.method, str(exc))
        return TakeBack(text, True, typed.method)


def _focus_of(send: Callable[[str], None]) -> object:
    focus = getattr(send, "focus", None)
    return focus() if focus else None


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
