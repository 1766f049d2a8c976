"""Type mode end to end on a real X server: the pad's XTEST typer types into a Qt line edit in another process,
which records what it received. Needs Xvfb (the README's test command installs it); skips where there is none."""

import os
import subprocess
import sys
import time

import pytest

from hwime.output import Deliverer, XTestTyper, keysym_for

RECORDER = r"""
import sys
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLineEdit

app = QApplication(sys.argv)
edit = QLineEdit()
out = sys.argv[1]
edit.textChanged.connect(lambda text: open(out, "w", encoding="utf-8").write(text))
app.focusWindowChanged.connect(lambda w: print("focused" if w else "unfocused", flush=True))
edit.resize(400, 40)
edit.show()
app.processEvents()
print(int(edit.winId()), flush=True)
app.exec()
"""


@pytest.fixture
def recorder(xserver, tmp_path):
    """A Qt line edit in its own process, focused; ``received()`` is its text so far."""
    from Xlib import X, display

    out = tmp_path / "received.txt"
    env = dict(os.environ, DISPLAY=xserver, QT_QPA_PLATFORM="xcb")
    proc = subprocess.Popen([sys.executable, "-c", RECORDER, str(out)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.isdigit():
        proc.kill()
        pytest.fail(f"the recording client did not start: {line} {proc.stderr.read()[-2000:]}")
    d = display.Display(xserver)
    d.set_input_focus(int(line), X.RevertToParent, X.CurrentTime)
    d.sync()
    assert proc.stdout.readline().strip() == "focused"

    class Recorder:
        def received(self) -> str:
            return out.read_text(encoding="utf-8") if out.exists() else ""

        def wait_for(self, expected: str, timeout: float = 15) -> str:
            deadline = time.monotonic() + timeout
            while self.received() != expected and time.monotonic() < deadline:
                # more than expected can only be wrong, unless the wait is for a deletion still on its way
                if len(self.received()) > len(expected) and not self.received().startswith(expected):
                    break
                time.sleep(0.05)
            return self.received()

    yield Recorder()
    proc.kill()
    proc.wait(10)
    d.close()


def test_every_character_typed_fast_arrives_in_order(xserver, recorder):
    # what a writer sends in a hurry: single picks by click (one deliver each), repeats, continuations, Latin
    picks = list("中国人民民民民人家") + ["华人民共和国", "ab", "這們說", "镕喆堃昇", "。，"] + list("的一是不了在有我他这")
    typer = XTestTyper(xserver)
    deliverer = Deliverer(lambda text: None, "type", backends=[("XTEST", typer)])
    for text in picks * 3:
        assert deliverer.deliver(text).method == "XTEST"
    expected = "".join(picks * 3)
    assert recorder.wait_for(expected) == expected
    deliverer.close()


def test_a_keycode_is_bound_again_only_once_it_can_have_been_read(xserver, recorder):
    from Xlib import display

    # three spare keycodes for 30 distinct characters: every one after the third rebinds a keycode just used
    clock_waits = []
    typer = XTestTyper(xserver, rebind_after_s=0.2, max_keycodes=3,
                       sleep=lambda s: (clock_waits.append(s), time.sleep(s)))
    text = "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏闰余成岁律吕调阳"[:30]
    for char in text:
        typer(char)
    assert recorder.wait_for(text) == text
    assert len(clock_waits) >= 9 and all(0 < s <= 0.2 for s in clock_waits)
    used = [keycode for keycode, _ in typer._bound.values()]
    typer.close()
    d = display.Display(xserver)
    assert all(not any(d.get_keyboard_mapping(k, 1)[0]) for k in used)  # the spare keycodes are given back
    d.close()


def test_keysyms_and_what_cannot_be_typed():
    from hwime.output import TypingError

    assert keysym_for("a") == ord("a") and keysym_for("é") == 0xE9
    assert keysym_for("中") == 0x01004E2D and keysym_for("𠀀") == 0x01020000
    with pytest.raises(TypingError, match="control character"):
        keysym_for("\n")


def test_no_display_is_a_typing_error_and_the_character_is_copied(tmp_path):
    copied = []
    deliverer = Deliverer(copied.append, "type", backends=[("XTEST", XTestTyper(":987"))])
    result = deliverer.deliver("中")
    assert result.method == "clipboard" and copied == ["中"] and "cannot open the X display" in result.note


def test_with_no_window_focused_the_character_is_copied_and_the_pad_says_why(xserver):
    from Xlib import X, display

    d = display.Display(xserver)
    d.set_input_focus(X.PointerRoot, X.RevertToPointerRoot, X.CurrentTime)  # no window manager, nothing focused
    d.screen().root.warp_pointer(1, 1)  # the pointer over the bare root: keys would go nowhere
    d.sync()
    copied = []
    deliverer = Deliverer(copied.append, "type", backends=[("XTEST", XTestTyper(xserver))])
    result = deliverer.deliver("中")
    assert result.method == "clipboard" and copied == ["中"]
    assert "no window has the keyboard focus" in result.note
    deliverer.close()
    d.close()


def test_with_the_pads_own_window_focused_the_character_is_copied(xserver, recorder):
    from Xlib import display

    d = display.Display(xserver)
    focused = d.get_input_focus().focus.id  # the recorder's window stands in for the pad's own
    copied = []
    deliverer = Deliverer(copied.append, "type", backends=[("XTEST", XTestTyper(xserver))])
    deliverer.set_own_windows({focused})
    result = deliverer.deliver("中")
    assert result.method == "clipboard" and copied == ["中"] and "the pad itself has the keyboard focus" in result.note
    deliverer.set_own_windows(set())
    assert deliverer.deliver("国").method == "XTEST" and recorder.wait_for("国") == "国"
    deliverer.close()
    d.close()


def test_undo_erases_what_xtest_typed_and_the_keys_arrive(xserver, recorder):
    """Issue 38 item 2 on a real X server: take_back's Backspaces reach the application and erase exactly what the
    pad typed (a line: as many as its characters); a Backspace pressed since means nothing more is erased."""
    deliverer = Deliverer(lambda text: None, "type", backends=[("XTEST", XTestTyper(xserver))])
    for text in ("我们", "山"):
        assert deliverer.deliver(text).method == "XTEST"
    assert recorder.wait_for("我们山") == "我们山"
    taken = deliverer.take_back("山")
    assert taken.erased and recorder.wait_for("我们") == "我们"
    deliverer.deliver("中国人")
    assert recorder.wait_for("我们中国人") == "我们中国人"
    assert deliverer.press("BackSpace").method == "XTEST"  # the pad's ⌫
    assert recorder.wait_for("我们中国") == "我们中国"
    taken = deliverer.take_back("中国人")
    assert not taken.erased and "sent something else" in taken.why
    time.sleep(0.3)
    assert recorder.received() == "我们中国"
    deliverer.close()
