"""`language-bench`: what context and continuations are worth, measured.

1. Continuations on a held-out slice of the word list: a table is built from the other 90% of jieba's words;
   for each held-out word, does its second character start one of the top 5 continuations after its first, and
   how many of its characters would a writer not need to write (``keystrokes_saved``, below)?
2. Keystrokes saved on real running text the table was not built from: Qt's own Chinese translations in the
   venv's PySide6 (zh_CN for the simplified table, zh_TW for the traditional one: software messages, a narrow but
   honest domain), or any UTF-8 text given with ``--text``. The writer writes a character when no continuation
   offered (top k) starts what comes next, and otherwise picks the longest one that does.
3. Context in ranking on real dev traces: each sample is recognized with no context, with a plausible previous
   character (the one that most often precedes it in the table) and with an unrelated one (a control); top-1 each,
   for several context mixes β.
"""

from __future__ import annotations

import hashlib
import re
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import charset
from ..language import Language, build_table
from ..recognizer import Recognizer
from .evaluate import model_probabilities
from .realsets import LabelledSet


def _held_out(word: str) -> bool:
    return hashlib.sha1(word.encode("utf-8")).digest()[0] < 26  # about 10%, the same every run


def continuation_quality(dict_lines: list[str], top: int = 5, tests: int = 20_000) -> dict:
    alphabet = set(charset.named_set("gb2312+punct"))
    train = [line for line in dict_lines if line.split() and not _held_out(line.split()[0])]
    held = []
    for line in dict_lines:
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) >= 2 and _held_out(parts[0]) and all(c in alphabet for c in parts[0]):
            held.append((parts[0], float(parts[1])))
    held = sorted(held, key=lambda x: -x[1])[:tests]
    with tempfile.TemporaryDirectory() as tmp:
        build_table(train, Path(tmp) / "t.tsv.gz", alphabet)
        lang = Language.read(Path(tmp) / "t.tsv.gz")
    hits, weights, saved = [], [], []
    for word, freq in held:
        offered = {s.text[0] for s in lang.continuations(word[0], top)}
        hits.append(word[1] in offered)
        weights.append(freq)
        saved.append(keystrokes_saved(lang, [word], top)["saved"])
    hits_a, w, saved_a = np.array(hits), np.array(weights), np.array(saved)
    lengths = np.array([len(word) for word, _ in held])
    return {"held_out_words": len(held), f"next_char_in_top{top}": float(hits_a.mean()),
            f"next_char_in_top{top}_frequency_weighted": float((hits_a * w).sum() / w.sum()),
            f"keystrokes_saved_top{top}": float(saved_a.sum() / lengths.sum()),
            f"keystrokes_saved_top{top}_frequency_weighted": float((saved_a * w).sum() / (lengths * w).sum())}


CJK_RUN = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134f]+")
CONTEXT_KEPT = 8  # what the pad keeps of what it sent (ui/window.py)


def keystrokes_saved(lang: Language, texts, top: int = 10) -> dict:
    """Write ``texts`` (strings; each run of Chinese characters on its own, as a writer who types punctuation and
    Latin some other way) with the pad: after each character written or continuation picked the pad offers
    ``top`` continuations of the last CONTEXT_KEPT characters; the writer picks the longest one that starts what
    comes next, or writes one character. Returns the characters, those obtained by picks, the picks, and the
    time one continuation takes (p50, p95, ms)."""
    chars = saved = picks = 0
    times = []
    for text in texts:
        for run in CJK_RUN.findall(text):
            chars += len(run)
            i = 1  # the first character of a run is written: nothing is offered before it
            while i < len(run):
                start = time.perf_counter()
                offered = lang.continuations(run[max(0, i - CONTEXT_KEPT):i], top)
                times.append(time.perf_counter() - start)
                best = max((s.text for s in offered if run.startswith(s.text, i)), key=len, default="")
                if best:
                    saved += len(best)
                    picks += 1
                    i += len(best)
                else:
                    i += 1
    ms = np.array(times or [0.0]) * 1000
    return {"chars": chars, "saved": saved, "picks": picks, "saved_share": saved / chars if chars else 0.0,
            "ms_p50": float(np.percentile(ms, 50)), "ms_p95": float(np.percentile(ms, 95))}


QM_MAGIC = bytes.fromhex("3cb86418caef9c95cd211cbf60a1bddd")


def qm_translations(path: str | Path) -> list[str]:
    """The translated strings of a Qt .qm file (its messages block: tag 3 is a translation, UTF-16BE)."""
    data = Path(path).read_bytes()
    if data[:16] != QM_MAGIC:
        raise ValueError(f"{path}: not a Qt .qm file")
    try:
        return _qm_messages(data)
    except (struct.error, IndexError) as exc:
        raise ValueError(f"{path}: a damaged Qt .qm file ({exc})") from None


def _qm_messages(data: bytes) -> list[str]:
    out, pos = [], 16
    while pos + 5 <= len(data):
        tag, length = data[pos], struct.unpack(">I", data[pos + 1:pos + 5])[0]
        pos += 5
        if pos + length > len(data):
            raise IndexError(f"a block of {length} bytes at offset {pos - 5} runs past the end")
        if tag == 0x69:  # messages
            block, i = data[pos:pos + length], 0
            while i < len(block):
                kind = block[i]
                i += 1
                if kind == 1:  # end of a message
                    continue
                if kind in (2, 5):  # obsolete hash, context hash
                    i += 4
                elif kind in (3, 6, 7, 8):  # translation, source, context, comment
                    size = struct.unpack(">I", block[i:i + 4])[0]
                    i += 4
                    if size == 0xFFFFFFFF:
                        continue
                    if kind == 3:
                        out.append(block[i:i + size].decode("utf-16-be", "replace"))
                    i += size
                else:
                    break
        pos += length
    return out


def qt_translation_texts(locale: str) -> list[str]:
    """Every translated string of PySide6's own Qt translations for ``locale`` (zh_CN, zh_TW)."""
    from importlib.util import find_spec

    spec = find_spec("PySide6")  # found, not imported: this module loads no Qt
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "translations"
    texts: list[str] = []
    for path in sorted(folder.glob(f"*_{locale}.qm")):
        texts += qm_translations(path)
    return texts


def running_text_savings(texts_by_script: dict[str, list[str]], tops=(5, 10)) -> dict:
    """keystrokes_saved with the shipped table in each script, on each script's texts; the table's load time."""
    from ..language import load_language

    out = {}
    for script, texts in texts_by_script.items():
        load_language.cache_clear()
        start = time.perf_counter()
        lang = load_language(script=script)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        lang.continuations("中", 1)  # the first one builds the prefix index
        first = time.perf_counter() - start
        row = {"load_s": round(loaded, 3), "first_continuation_s": round(first, 3)}
        for top in tops:
            row[f"top{top}"] = keystrokes_saved(lang, texts, top)
        out[script] = row
    return out


def context_effect(rec: Recognizer, data: LabelledSet, mixes=(0.1, 0.3, 0.5), seed: int = 0) -> dict:
    lang = rec.language()
    index = {c: i for i, c in enumerate(rec.labels)}
    keep = [i for i, c in enumerate(data.labels) if c in index]
    truth = np.array([index[data.labels[i]] for i in keep])
    probs = model_probabilities(rec, data.images[keep])
    preceding: dict[str, str] = {}
    for prev, row in lang._following.items():
        for nxt, weight in row.items():
            if weight > lang._following.get(preceding.get(nxt, ""), {}).get(nxt, 0.0):
                preceding[nxt] = prev
    rng = np.random.default_rng(seed)
    common = [c for c in rec.labels if lang.probability(c) > 1e-5]
    out = {"samples": len(keep), "with_plausible_context": int(sum(rec.labels[t] in preceding for t in truth))}
    base = rec.scores(probs).numpy().argmax(1) == truth
    out["top1_no_context"] = float(base.mean())
    saved = rec.ranker.values.context_mix
    try:
        for mix in mixes:
            rec.set_ranking_values(context_mix=mix)
            plaus, control = [], []
            for row, t in zip(probs, truth):
                prev = preceding.get(rec.labels[t], "")
                plaus.append(rec.scores(row[None], context=prev).numpy().argmax() == t)
                control.append(rec.scores(row[None], context=str(rng.choice(common))).numpy().argmax() == t)
            out[f"mix_{mix:g}"] = {"top1_plausible_previous": float(np.mean(plaus)),
                                   "top1_unrelated_previous": float(np.mean(control))}
    finally:
        rec.set_ranking_values(context_mix=saved)
    return out


# what each script's renders are drawn in: a brush face close to handwriting, in the forms that script writes
# (training's own font, `python -m hwime.training fonts`: apt-get install fonts-arphic-ukai)
RENDER_FACES = {"simplified": ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),  # AR PL UKai CN
                "traditional": ("/usr/share/fonts/truetype/arphic/ukai.ttc", 2)}  # AR PL UKai TW


def render_runs(texts: list[str], count: int = 300, seed: int = 0, shortest: int = 4, longest: int = 8) -> list[str]:
    """Up to ``count`` distinct runs of Chinese characters, ``shortest`` to ``longest`` long, drawn from ``texts``."""
    runs = sorted({run[:longest] for text in texts for run in CJK_RUN.findall(text) if len(run) >= shortest})
    rng = np.random.default_rng(seed)
    return [runs[i] for i in sorted(rng.choice(len(runs), min(count, len(runs)), replace=False))]


def render_line(text: str, face: tuple[str, int], height: int = 30, blur: float = 0.7) -> np.ndarray:
    """``text`` written in ``face``, ``height`` pixels per character, softened a little (a scan's blur)."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    font = ImageFont.truetype(face[0], height, index=face[1])
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + height, bottom - top + height // 2), 255)
    ImageDraw.Draw(image).text((height // 2 - left, height // 4 - top), text, font=font, fill=0)
    return np.asarray(image.filter(ImageFilter.GaussianBlur(blur)))


def script_renders(rec: Recognizer, texts_by_script: dict[str, list[str]], count: int = 300,
                   lm_weight: float = 0.3, height: int = 10) -> dict:
    """The language side in each script on renders of that script's own text, small (``height`` pixels a character,
    softened: at 30 pixels every render is read right and the language side has nothing to do): lines read by their
    frames with the beam alone, with the bundle's language side and with the bigram at ``lm_weight`` (no name
    start: these are no names), and each character after a line's first read alone with no context and after the
    character truly before it."""
    from ..decode import edit_distance
    from ..raster import prepare_image
    from ..readers import LineWeights

    out = {}
    for script, texts in texts_by_script.items():
        face = RENDER_FACES[script]
        if not Path(face[0]).is_file():
            out[script] = {"skipped": f"{face[0]} is missing (apt-get install fonts-arphic-ukai)"}
            continue
        runs = render_runs(texts, count)
        errors = {"beam": 0, "bundle": 0, "beam+lm": 0}
        chars = 0
        alone = {"no_context": 0, "previous_character": 0}
        singles = 0
        weights = LineWeights(lm_weight, 0.0, 0.0, 0.0)
        for run in runs:
            reading = rec.read_line(render_line(run, face, height), script, reread=False)
            for name, language, w in (("beam", False, None), ("bundle", True, None), ("beam+lm", True, weights)):
                best = rec.decode_reading(reading.log_probs, None, context="", script=script, language=language,
                                          weights=w)
                text = "".join(rec.labels[i] for i in best[0].labels) if best else ""
                errors[name] += edit_distance(text, run)
            chars += len(run)
            # one pass for the line's characters, ranked without and with what comes before each
            glyphs = [prepare_image(render_line(ch, face, height + 2), rec.spec) for ch in run[1:]]
            probs = rec.forward(np.stack(glyphs))
            plain = rec.rank(probs, 1, script=script)
            for i, ch in enumerate(run[1:]):
                after = rec.rank(probs[i:i + 1], 1, context=run[i], script=script)[0]
                alone["no_context"] += plain[i][0].char == ch
                alone["previous_character"] += after[0].char == ch
                singles += 1
        out[script] = {"lines": len(runs), "characters": chars, "lm_weight": lm_weight,
                       **{f"cer_{k}": v / max(chars, 1) for k, v in errors.items()},
                       "single_characters": singles,
                       **{f"top1_{k}": v / max(singles, 1) for k, v in alone.items()}}
    return out
