"""hwime as an IBus engine: the pad's picks are committed into the focused application's input context.

On GNOME and KDE under Wayland a program cannot type into another one (no XTEST, no virtual keyboard protocol); text
reaches applications through the input-method framework, IBus. So `hwime ibus engine` (the command IBus starts when
the user selects the *hwime* input source, see `hwime/ibus_install.py`) runs the pad and serves the engine in one
process: IBus creates one engine object per input context that selects it; the one that last had the focus is where a
pick goes (``EngineHost.commit``), and the pad shows while any of them is enabled.

The binding is PyGObject with IBus's GObject introspection (IBus's own, documented route: the daemon talks to
``IBus.Factory``/``IBus.Engine`` and we subclass the engine). PySide6's event loop runs on GLib's main context, so these
objects are served inside ``app.exec()`` with no second loop or thread. Speaking IBus's D-Bus protocol directly
(dbus-fast, jeepney) would mean re-implementing its private serialization of IBusText and an asyncio loop beside Qt's.

Nothing is lost: when ibus-daemon goes away or the engine is switched off, ``commit`` raises ``TypingError`` and the
pad's Deliverer copies the pick to the clipboard and says why (see hwime/output.py).
"""

from __future__ import annotations

import os
from typing import Any, Callable

from .output import Typer, TypingError

ENGINE_NAME = "hwime"
# the D-Bus name the engine process owns: ibus-daemon hands the engine to the process that owns its component's name
COMPONENT_NAME = "org.freedesktop.IBus.Hwime"


class IBusUnavailable(RuntimeError):
    """IBus cannot be used here (no binding, no introspection data, no daemon); the message says what to install."""


def load_ibus() -> Any:
    """The ``gi.repository.IBus`` module, or IBusUnavailable naming what to install."""
    try:
        import gi
    except ImportError:
        raise IBusUnavailable("the IBus engine needs PyGObject: sudo apt-get install libgirepository1.0-dev "
                              "libcairo2-dev pkg-config python3-dev gcc && .venv/bin/pip install '.[ibus]'") from None
    try:
        gi.require_version("IBus", "1.0")
        from gi.repository import IBus
    except (ValueError, ImportError):
        raise IBusUnavailable("IBus's introspection data is missing: sudo apt-get install ibus gir1.2-ibus-1.0") from None
    return IBus


_CLASSES: tuple | None = None


def _classes(IBus: Any) -> tuple[type, type]:
    """The engine's and the factory's GObject classes, registered once per process (a GType name cannot be
    registered twice)."""
    global _CLASSES
    if _CLASSES is not None:
        return _CLASSES

    class HwimeEngine(IBus.Engine):
        """One per input context that selected hwime (with IBus's global engine, one that moves between them); it
        only reports its state to the host, which commits."""

        __gtype_name__ = "HwimeEngine"
        host: "EngineHost | None" = None  # set by EngineHost.register

        def do_enable(self) -> None:
            if self.host:
                self.host._enabled(self)

        def do_disable(self) -> None:
            if self.host:
                self.host._gone(self)

        # With has-focus-id the daemon says which context gains the focus. This matters: when the application's text
        # field loses the focus, ibus-daemon hands the global engine to its own "fake" context, which has no client;
        # text committed there is dropped without a word. Plain focus-in cannot tell the two apart.
        def do_focus_in_id(self, object_path: str, client: str) -> None:
            if self.host:
                if client == "fake":
                    self.host._unfocused(self)
                else:
                    self.host._focused(self)

        def do_focus_in(self) -> None:
            # the first focus-in comes without an id: the daemon has not yet read has-focus-id from a new engine
            if self.host:
                self.host._focused(self)

        def do_focus_out_id(self, object_path: str) -> None:
            if self.host:
                self.host._unfocused(self)

        def do_process_key_event(self, keyval: int, keycode: int, state: int) -> bool:
            if self.host:
                self.host.keys_seen += 1  # a key typed into the context: what the pad committed may not end the text
            return False  # keys are the application's: the engine only adds what the pad picks

        def do_destroy(self) -> None:
            if self.host:
                self.host._gone(self, destroyed=True)
            IBus.Engine.do_destroy(self)

    class HwimeFactory(IBus.Factory):
        """Creates engines that are told which context has the focus (has-focus-id: see HwimeEngine)."""

        __gtype_name__ = "HwimeFactory"
        created = 0

        def do_create_engine(self, engine_name: str):
            HwimeFactory.created += 1
            engine = HwimeEngine(engine_name=engine_name, connection=self.get_connection(), has_focus_id=True,
                                 object_path=f"/org/freedesktop/IBus/Engine/hwime{HwimeFactory.created}")
            if HwimeEngine.host:
                HwimeEngine.host.engines.append(engine)  # the daemon holds it by path only: keep it alive here
            return engine

    _CLASSES = HwimeEngine, HwimeFactory
    return _CLASSES


# IBus's key codes are the kernel's (evdev): what a keyboard's BackSpace and Enter send
IBUS_KEYCODES = {"BackSpace": 14, "Return": 28}


class EngineHost(Typer):
    """The IBus side of the engine process: the connection to ibus-daemon, the factory, the live engines.

    ``on_active(active)`` is called when the first engine is enabled (the pad should show) and when the last one is
    disabled or destroyed (the user switched to another input source, or the application closed). Called with text
    it is the typing backend of *Mode: type* while the engine runs (``commit``); ``press`` forwards a key event to
    the focused context (the application handles it as its own key: what Undo's Backspaces are), and since the
    engine hears every key typed into its context, ``focus`` changes with each one."""

    sees_keys = True

    def __init__(self, on_active: Callable[[bool], None] = lambda active: None):
        self.IBus = load_ibus()
        self.on_active = on_active
        self.bus = None
        self._handlers: list[int] = []
        self.factory = None
        self.engines: list = []  # every engine the daemon has asked for and not yet destroyed
        self.enabled: list = []  # engines enabled now, in the order they were enabled
        self.focused = None  # the engine whose input context has the focus (where picks go)
        self.lost = ""  # why the daemon cannot be reached, once it went away
        self.serving = False  # this process owns the component's name: ibus-daemon creates its engines here
        self.keys_seen = 0  # key events the engines were given (the writer typed into a context)

    def start(self) -> bool:
        """Connect to ibus-daemon and serve the engine. False when no daemon answers now (``lost`` says so): the
        engine is then offered as soon as one starts."""
        IBus = self.IBus
        IBus.init()
        self.bus = IBus.Bus.new()  # one per process (IBus keeps a single bus object)
        # when the daemon exits the bus says so; when one starts it connects by itself (it watches the daemon's
        # address file) and the engine is offered again, so the pad serves the next session too
        self._handlers = [self.bus.connect("disconnected", lambda bus: self._disconnected()),
                          self.bus.connect("connected", lambda bus: self.register())]
        if not self.bus.is_connected():
            self.lost = ("no ibus-daemon is running for this session (select the hwime input source, or start it "
                         "with `ibus-daemon -drx`)")
            return False
        self.register()
        return True

    def register(self) -> None:
        """Offer the engine on the current connection: a factory for it, and the component's name owned by us."""
        IBus = self.IBus
        engine, factory = _classes(IBus)
        engine.host = self
        self.lost = ""
        self.factory = factory(connection=self.bus.get_connection(), object_path=IBus.PATH_FACTORY)
        self.factory.add_engine(ENGINE_NAME, engine.__gtype__)
        reply = self.bus.request_name(COMPONENT_NAME, 0)
        # a second `hwime ibus engine` (started by hand) queues behind the first: the daemon keeps using that one
        self.serving = reply in (IBus.BusRequestNameReply.PRIMARY_OWNER, IBus.BusRequestNameReply.ALREADY_OWNER)

    def _disconnected(self) -> None:
        self.lost = "ibus-daemon went away"
        self.serving = False
        self.factory = None
        self.focused = None
        was = bool(self.enabled)
        self.enabled, self.engines = [], []
        if was:
            self.on_active(False)

    # --- engine callbacks ------------------------------------------------------------------------------------
    def _enabled(self, engine) -> None:
        if engine not in self.enabled:
            self.enabled.append(engine)
            if len(self.enabled) == 1:
                self.on_active(True)

    def _focused(self, engine) -> None:
        self.focused = engine
        self._enabled(engine)  # a focused engine is an enabled one (IBus may focus before it enables)

    def _unfocused(self, engine) -> None:
        if self.focused is engine:
            self.focused = None

    def _gone(self, engine, destroyed: bool = False) -> None:
        if destroyed and engine in self.engines:
            self.engines.remove(engine)
        if self.focused is engine:
            self.focused = None
        if engine in self.enabled:
            self.enabled.remove(engine)
            if not self.enabled:
                self.on_active(False)

    # --- the typing backend -----------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        if self.bus is None or not self.bus.is_connected():
            return False
        connection = self.bus.get_connection()
        # the connection is marked closed as soon as its socket ends, before the main loop hears of it: a pick made
        # just after the daemon died must not be sent into a dead connection
        return connection is not None and not connection.is_closed()

    def commit(self, text: str) -> None:
        """Commit ``text`` into the focused input context; TypingError (the pad then copies it) when it cannot."""
        if not self.connected:
            raise TypingError(f"IBus is not reachable: {self.lost or 'ibus-daemon is not running'}")
        if self.focused is None:
            raise TypingError("no application has the focus with the hwime input method "
                              "(it was switched off, or no text field is focused)")
        self.focused.commit_text(self.IBus.Text.new_from_string(text))

    def __call__(self, text: str) -> None:
        self.commit(text)

    def press(self, key: str, count: int = 1) -> None:
        """Forward ``key`` (one of output.KEYS) ``count`` times to the focused context, pressed and released.

        Forwarded keys rather than delete-surrounding-text: that needs the client's surrounding-text support (many
        lack it), while a forwarded key is handled as the client's own (a Qt line edit with QT_IM_MODULE=ibus under
        a private daemon on Xvfb erased 十 on Undo, and ⌫ erased ，)."""
        if not self.connected:
            raise TypingError(f"IBus is not reachable: {self.lost or 'ibus-daemon is not running'}")
        if self.focused is None:
            raise TypingError("no application has the focus with the hwime input method")
        keyval = getattr(self.IBus, f"KEY_{key}")
        for _ in range(count):
            for state in (0, int(self.IBus.ModifierType.RELEASE_MASK)):
                self.focused.forward_key_event(keyval, IBUS_KEYCODES[key], state)

    def focus(self) -> object:
        """The focused context and how many keys the engines had heard: either changes when the writer moves on."""
        return None if self.focused is None else (id(self.focused), self.keys_seen)

    def close(self) -> None:
        """Give the component's name back and drop the engines (the pad is closing)."""
        if self.connected:
            self.bus.release_name(COMPONENT_NAME)
        for handler in self._handlers:
            self.bus.disconnect(handler)
        self._handlers = []
        engine, _ = _classes(self.IBus)
        if engine.host is self:
            engine.host = None
        self.factory = None
        self.enabled, self.engines, self.focused = [], [], None


def pad_environment(env: dict | None = None) -> dict:
    """The environment changes the engine's pad needs before Qt starts, as a dict to apply.

    Under Wayland the pad runs as an X11 window through XWayland: there a window can refuse the focus (accept-focus
    off, focus-on-map off, the utility type: what type mode's flags set), so a click on the pad leaves the
    application's text field focused and its input context the engine's; a Wayland window is focused on click.
    And the pad's own widgets must not be IBus clients: they would talk to the daemon that talks to this process."""
    env = os.environ if env is None else env
    changes = {"QT_IM_MODULE": "compose"}
    if env.get("WAYLAND_DISPLAY") and env.get("DISPLAY") and not env.get("QT_QPA_PLATFORM"):
        changes["QT_QPA_PLATFORM"] = "xcb"
    return changes


def attach_pad(window: Any, host: EngineHost, keep_shown: bool = False) -> None:
    """Show the pad (a PadWindow) while the engine is enabled in some input context and hide it when the last one
    is switched off (unless ``keep_shown``); the engine's name is given back when the pad closes."""
    from PySide6.QtCore import QTimer

    # one context switched off and the next switched on at once (the writer moves between applications) is no
    # flicker: the state is read once it has settled. A QTimer, not QTimer.singleShot on a GObject's method (that
    # never fires), and one owned by the window, so it goes with it
    timer = QTimer(window)
    timer.setSingleShot(True)
    timer.setInterval(300)

    def settle() -> None:
        if host.enabled:
            if not window.isVisible():
                window.show()
        elif not keep_shown:
            window.hide()

    timer.timeout.connect(settle)
    host.on_active = lambda active: timer.start()
    window.closed.connect(host.close)


def run_engine(model: str | None = None, device: str | None = None, keep_shown: bool = False) -> int:
    """`hwime ibus engine`: the pad serving the IBus engine; shown while the engine is enabled (with ``keep_shown``
    it stays once shown). Without PyGObject or IBus's introspection data it says what to install and exits 1; with
    no daemon running it shows the pad, says so, and serves the engine once a daemon starts."""
    import sys

    try:
        host = EngineHost()
    except IBusUnavailable as exc:
        print(f"hwime: {exc}", file=sys.stderr)
        return 1
    os.environ.update(pad_environment())
    from .ui.app import run_pad

    def attach(window) -> None:
        attach_pad(window, host, keep_shown)
        if not host.start():  # started by hand with no daemon: the pad works (picks are copied) and says why
            window.show()
            window.show_status(host.lost, warn=True, lasting=True)
        elif not host.serving:  # started by hand beside the pad IBus runs: that one gets the engine
            window.show()
            window.show_status("another hwime pad serves the IBus engine already: this one copies its picks",
                               warn=True, lasting=True)

    return run_pad(model=model, device=device, typer=("IBus", host), attach=attach)
