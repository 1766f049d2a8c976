"""An IBus client for tests/test_ibus.py: one input context, focused, with the engine named on the command line set;
prints one JSON line per event ({"engine": name} once set, then {"commit": text} per commit, {"key": name, "keycode",
"state"} per key the engine forwards) until the daemon goes. Lines on stdin are calls on the context: focus_in,
focus_out, set_engine NAME (the user switched input source), or key NAME (a key typed into the application)."""

import json
import sys

import gi

gi.require_version("IBus", "1.0")
from gi.repository import GLib, IBus  # noqa: E402


def say(**event) -> None:
    print(json.dumps(event, ensure_ascii=False), flush=True)


IBus.init()
bus = IBus.Bus.new()
if not bus.is_connected():
    say(error="no ibus-daemon")
    sys.exit(1)
loop = GLib.MainLoop()
bus.connect("disconnected", lambda bus: loop.quit())
context = bus.create_input_context("hwime-test-client")
# a client that handles focus and shows no preedit of its own, as a GTK text field does
context.set_capabilities(IBus.Capabilite.FOCUS | IBus.Capabilite.PREEDIT_TEXT)
context.connect("commit-text", lambda context, text: say(commit=text.get_text()))
# a key the engine forwards (type mode's Backspace and Enter, Undo's Backspaces): the application handles it as its own
context.connect("forward-key-event", lambda context, keyval, keycode, state: say(key=IBus.keyval_name(keyval),
                                                                                 keycode=keycode, state=state))
context.focus_in()
context.set_engine(sys.argv[1])
engine = context.get_engine()
say(engine=engine.get_name() if engine else None)


def command(channel: GLib.IOChannel, condition: GLib.IOCondition) -> bool:
    line = sys.stdin.readline().strip()
    if not line:  # the test closed our stdin
        loop.quit()
        return False
    name, *args = line.split()
    if name == "key":  # the writer types a key into the application: key NAME (an X keysym name, e.g. a)
        context.process_key_event(IBus.keyval_from_name(args[0]), 0, 0)
        return True
    getattr(context, name)(*args)
    return True


GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP,
                  command)
loop.run()
