"""The writer's profile on disk (issue 39 item 4): a store damaged while the pad holds samples loses none of them;
the caps apply while reading; any number of unreadable entries is one line."""

import json
import subprocess
import sys

import pytest

from conftest import ink_kou, ink_shi, shown_pad
from hwime import personal
from hwime.personal import PROFILE_FORMAT, Profile


def test_a_store_damaged_after_it_was_read_keeps_the_samples_in_memory(tmp_path):
    d = tmp_path / "prof"
    p = Profile(d)
    for ch in "十口中一二三人大小日":
        p.add(ch, ink=ink_shi())
    (d / "profile.json").write_text('{"format": "hwime-profile/1", "samp', encoding="utf-8")  # another program
    p.add("月", ink=ink_kou())
    assert len(p) == 11
    assert [s.char for s in Profile(d).samples] == list("十口中一二三人大小日月")  # before: only 月
    assert (d / "profile.json.bak").read_text(encoding="utf-8") == '{"format": "hwime-profile/1", "samp'
    assert any("damaged on disk" in w and "profile.json.bak" in w for w in p.warnings)


def test_the_pad_keeps_what_it_learned_when_the_store_is_damaged_under_it(qtbot, tiny_bundle, tmp_path):
    # end to end, the pad offscreen: ten samples learned, the file damaged, one more pick
    from PySide6.QtCore import Qt

    from hwime.settings import Settings
    from hwime.ui.window import PadWindow
    from test_pad import write_and_wait

    d = tmp_path / "prof"
    before = Profile(d)
    for ch in "十口中一二三人大小日":
        before.add(ch, ink=ink_kou())
    window = shown_pad(qtbot, PadWindow(Settings(model_path=str(tiny_bundle), device="cpu"), tmp_path / "s.json",
                                        profile_dir=d), (360, 520), timeout=15000)
    try:
        (d / "profile.json").write_bytes(b"\x00" * 100)
        first = write_and_wait(qtbot, window, ink_shi())[0].char
        told: list[str] = []
        window.worker.notice.connect(told.append)
        with qtbot.waitSignal(window.worker.learned, timeout=10000) as learned:
            qtbot.keyClick(window, Qt.Key.Key_Space)
        assert learned.args[0] == 11
        # the writer is told at once, not only at the next start
        qtbot.waitUntil(lambda: any("damaged on disk" in t and "profile.json.bak" in t for t in told), timeout=5000)
    finally:
        window.shutdown()
    window.close()
    stored = json.loads((d / "profile.json").read_text(encoding="utf-8"))["samples"]
    assert [s["char"] for s in stored] == list("十口中一二三人大小日") + [first]
    assert (d / "profile.json.bak").read_bytes() == b"\x00" * 100


def store(path, samples) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": PROFILE_FORMAT, "samples": samples}, ensure_ascii=False), encoding="utf-8")


def tiny(i: int, char: str) -> dict:
    return {"id": i, "char": char, "time": 1000.0 + i, "ink": {"strokes": [[[0, 0], [i % 7 + 1, 1]]]}}


def test_the_caps_apply_while_reading_before_any_ink_is_parsed(tmp_path, monkeypatch):
    chars = [chr(0x4E00 + k) for k in range(2000)]  # 2,000 characters, 10 samples each: 20,000 tiny samples
    samples = [tiny(i, chars[i % 2000]) for i in range(20_000)]
    store(tmp_path / "prof" / "profile.json", samples)
    parsed = []
    real = personal.Sample.from_json.__func__

    def counting(cls, obj):
        parsed.append(obj["id"])
        return real(cls, obj)

    monkeypatch.setattr(personal.Sample, "from_json", classmethod(counting))
    p = Profile(tmp_path / "prof")
    assert len(parsed) == len(p) == personal.TOTAL  # before: all 20,000 parsed (and then embedded)
    assert [s.id for s in p.samples] == list(range(16_000, 20_000))  # the newest, oldest first
    assert len(p.warnings) == 1 and "20,000" in p.warnings[0] and "4,000" in p.warnings[0]
    few = [tiny(i, "中") for i in range(30)]  # one character: its newest 8
    store(tmp_path / "one" / "profile.json", few)
    assert [s.id for s in Profile(tmp_path / "one").samples] == list(range(22, 30))


def test_any_number_of_unreadable_entries_is_one_line_on_stderr(tmp_path, tiny_bundle):
    d = tmp_path / "prof"
    store(d / "profile.json", [tiny(1, "十")] + [{"id": i, "char": "十口", "time": 1.0} for i in range(2, 50_002)])
    ink = tmp_path / "shi.json"
    ink.write_text(json.dumps(ink_shi().to_json()))
    done = subprocess.run([sys.executable, "-m", "hwime", "--model", str(tiny_bundle), "recognize", "--profile", str(d),
                           str(ink)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "could not be read" in line]
    assert len(lines) == 1 and "50,000 learned samples" in lines[0] and "sample 2:" in lines[0]
    assert len(done.stderr.splitlines()) <= 3
    p = Profile(d)
    assert len(p) == 1 and len(p._unreadable) == 50_000  # still kept in the file as they were


@pytest.mark.parametrize("entry", [{"id": 5, "char": "中", "time": 10 ** 400}, {"id": 5, "char": "中", "time": True},
                                   ["not", "an", "object"], {"id": 2 ** 70, "char": "中", "time": 1.0}])
def test_odd_entries_are_unreadable_not_a_crash_with_the_caps(tmp_path, entry):
    store(tmp_path / "p" / "profile.json", [tiny(1, "中"), entry])
    p = Profile(tmp_path / "p")
    assert [s.id for s in p.samples] == [1] and p._unreadable == [entry]
