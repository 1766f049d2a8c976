"""Settings that JSON admits but Python balks at (issue 39 item 3): a lone surrogate, a byte order mark, an integer
of thousands of digits cost at most their own value, and saving never fails on what loading accepted."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from conftest import ink_shi, shown_pad
from hwime.settings import Settings, load_settings, save_settings


def write_raw(path, text: str, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


@pytest.mark.parametrize("key", ["future_key", "model_path", "candidate_font", "geometry"])
def test_a_lone_surrogate_costs_its_own_value_and_saving_still_works(settings_path, key):
    write_raw(settings_path, json.dumps({key: "\ud800", "candidate_count": 7, "recent": ["好"]}))
    settings, warnings = load_settings(settings_path)
    assert settings.candidate_count == 7 and settings.recent == ["好"]
    if key != "future_key":
        assert getattr(settings, key) == "" and any(key in w for w in warnings)
    settings.recent.insert(0, "中")
    assert save_settings(settings, settings_path)
    raw = settings_path.read_bytes()
    raw.decode("utf-8")  # valid UTF-8 on disk
    data = json.loads(raw)
    assert data["recent"] == ["中", "好"] and data["candidate_count"] == 7
    if key == "future_key":  # a newer version's value comes back exactly as it was
        assert data["future_key"] == "\ud800"
        again, warnings = load_settings(settings_path)
        assert warnings == [] and again.recent == ["中", "好"]


def test_a_surrogate_set_after_loading_is_reset_not_a_crash(settings_path):
    settings = Settings(candidate_font="\udcff", model_path="a\ud800b")
    assert save_settings(settings, settings_path)
    data = json.loads(settings_path.read_text(encoding="utf-8"))
    assert data["candidate_font"] == "" and data["model_path"] == ""


def test_a_byte_order_mark_resets_nothing(settings_path):
    write_raw(settings_path, json.dumps({"candidate_count": 5, "output_mode": "type"}), bom=True)
    settings, warnings = load_settings(settings_path)
    assert warnings == [] and settings.candidate_count == 5 and settings.output_mode == "type"
    assert not list(settings_path.parent.glob("*.bak*"))


def test_an_integer_of_thousands_of_digits_costs_its_own_key(settings_path):
    huge = "9" * 5000
    write_raw(settings_path, '{"candidate_count": %s, "future": [%s, -%s], "pen_width": 12, "output_mode": "type"}'
              % (huge, huge, huge))
    settings, warnings = load_settings(settings_path)
    assert settings.candidate_count == Settings().candidate_count and any("candidate_count" in w for w in warnings)
    assert settings.pen_width == 12 and settings.output_mode == "type"
    assert not list(settings_path.parent.glob("*.bak*"))
    assert save_settings(settings, settings_path)
    text = settings_path.read_text(encoding="utf-8")
    assert f"[\n    {huge},\n    -{huge}\n  ]" in text  # the newer version's numbers, digit for digit
    assert load_settings(settings_path)[0].pen_width == 12


def test_a_pick_with_a_surrogate_in_the_settings_completes_and_is_saved(qtbot, tiny_bundle, settings_path):
    # end to end in the pad offscreen: before, every pick raised UnicodeEncodeError in save_settings, the status
    # was not updated, the ink not cleared, and nothing was ever saved
    from hwime.ui.window import PadWindow
    from test_pad import write_and_wait

    write_raw(settings_path, json.dumps({"future_key": "\ud800", "geometry": "\ud800", "model_path": str(tiny_bundle),
                                         "device": "cpu"}))
    settings, _ = load_settings(settings_path)
    window = shown_pad(qtbot, PadWindow(settings, settings_path), (360, 520), timeout=15000)
    try:
        first = write_and_wait(qtbot, window, ink_shi())[0].char
        QGuiApplication.clipboard().clear()
        qtbot.keyClick(window, Qt.Key.Key_Space)
        assert QGuiApplication.clipboard().text() == first
        assert window.canvas.ink.is_empty and first in window.status.text()
        data = json.loads(settings_path.read_text(encoding="utf-8"))
        assert data["recent"][0] == first and data["future_key"] == "\ud800"
    finally:
        window.shutdown()
    window.close()


def test_a_save_that_fails_stays_said_beside_the_statuses_that_follow(qtbot, tiny_bundle, tmp_path):
    # a pick saves Recent before it says "copied": the failure must not be replaced by that at once
    from hwime.settings import Settings
    from hwime.ui.window import PadWindow
    from test_pad import write_and_wait

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the settings' folder should be")
    window = shown_pad(qtbot, PadWindow(Settings(model_path=str(tiny_bundle), device="cpu"), blocked / "s.json"),
                       (360, 520), timeout=15000)
    try:
        first = write_and_wait(qtbot, window, ink_shi())[0].char
        qtbot.keyClick(window, Qt.Key.Key_Space)
        assert first in window.status.text() and "Could not save settings" in window.status.text()
        blocked.unlink()
        blocked.mkdir()  # the folder can be written again: the next save works and the status says only its news
        window.toggle_mode()
        assert "Could not save settings" not in window.status.text() and (blocked / "s.json").is_file()
    finally:
        window.shutdown()
    window.close()


@pytest.mark.parametrize("value, kept", [(0, True), (0.5, True), (1, True), (2.0, True), (0.7, False), (3, False),
                                         (True, False), ("1", False), (None, False)])
def test_send_after_pause_takes_only_its_choices(settings_path, value, kept):
    """(Issue 35 item 2.) Off, 0.5, 1 or 2 seconds; anything else (true is no number of seconds) costs its own value."""
    write_raw(settings_path, json.dumps({"send_after_pause": value, "candidate_count": 7}))
    settings, warnings = load_settings(settings_path)
    assert settings.candidate_count == 7
    if kept:
        assert settings.send_after_pause == value and warnings == []
    else:
        assert settings.send_after_pause == 0 and any("send_after_pause" in w for w in warnings)
    assert Settings().send_after_pause == 0  # off unless the writer asks
