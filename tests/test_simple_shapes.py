"""Issue 38 item 5: what the bundled model offers for simple shapes (a clean 口, a tap)."""

from conftest import ink_kou
from hwime.ink import Ink
from hwime.recognizer import Recognizer
from hwime.script import is_han


# 口 as a newcomer drew it on the pad, square and straight: the network reads 口 at 0.32, above the first gate (0.3),
# and offered 口 。 0 钴 （ N O 1 日 I
KOU_SQUARE = Ink.from_strokes([[[190, 170], [190, 330]], [[190, 170], [342, 170], [342, 330]], [[190, 330], [342, 330]]])


def test_a_clean_kou_offers_its_look_alikes_before_symbols_and_a_tap_is_a_dot():
    rec = Recognizer.load(None, "cpu", script="simplified")
    for kou in (ink_kou(), KOU_SQUARE):
        chars = [c.char for c in rec.recognize_ink(kou, 10)]
        assert chars[0] == "口"
        alike = [i for i, c in enumerate(chars) if c in "日曰回囗田目匚"]
        symbols = [i for i, c in enumerate(chars) if not is_han(c)]
        # look-alikes before any symbol (it was 钴 。 1 0 O l ； ， 量 with no 日, 回 or 囗)
        assert len(alike) >= 2 and (not symbols or alike[-1] < symbols[0]), chars
    for tap in ([[150, 150]], [[150, 150], [150.4, 150.6]]):
        assert rec.recognize_ink(Ink.from_strokes([tap]), 10)[0].char in "、。丶，"
