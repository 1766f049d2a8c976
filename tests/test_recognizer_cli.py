import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import SHARED_DATA, TINY_LABELS, glyph_image, ink_kou, ink_shi
from hwime import Recognizer
from hwime.bundled import DEFAULT_MODEL, asset_path
from hwime.cli import main
from hwime.ink import Ink
from hwime.recognizer import ModelError, ModelNotFoundError
from hwime.settings import Settings, load_settings, save_settings


def test_api_ranks_candidates_from_ink_and_images(tiny_bundle):
    rec = Recognizer.load(tiny_bundle, device="cpu")
    cands = rec.recognize_ink(ink_shi(), top=5)
    assert len(cands) == 5 and all(c.char in TINY_LABELS for c in cands)
    assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
    assert 0 < sum(c.score for c in cands) <= 1.0001
    assert rec.recognize_ink(ink_shi().without_last_stroke().without_last_stroke()) == []
    images = rec.recognize_images([glyph_image(), glyph_image((30, 80))], top=3)
    assert [len(c) for c in images] == [3, 3]
    # batched and one-by-one agree
    batch = rec.recognize_inks([ink_shi(), ink_kou()], top=3)
    assert batch[1] == rec.recognize_ink(ink_kou(), top=3)


def test_missing_bundle_explains_how_to_get_one(tmp_path):
    with pytest.raises(ModelNotFoundError, match="hwime.training"):
        Recognizer.load(tmp_path / "none.pt")


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04garbage"])
def test_corrupt_bundle_is_refused_naming_the_file(tmp_path, content):
    f = tmp_path / "bad-model.pt"
    f.write_bytes(content)
    with pytest.raises(ModelError, match="bad-model.pt"):
        Recognizer.load(f)


def test_bundle_whose_labels_do_not_match_the_head_is_refused(tmp_path, tiny_bundle):
    bundle = torch.load(tiny_bundle, weights_only=True)
    bundle["labels"] = bundle["labels"][:-1]
    torch.save(bundle, tmp_path / "mismatch.pt")
    with pytest.raises(ModelError, match=r"mismatch.pt.*10 characters but the model's head has 11"):
        Recognizer.load(tmp_path / "mismatch.pt")


def test_bundle_that_would_run_code_is_refused(tmp_path, tiny_bundle):
    marker = tmp_path / "pwned"

    class Evil:  # unpickling it would create the marker file
        def __reduce__(self):
            return (Path.touch, (marker,))

    bundle = torch.load(tiny_bundle, weights_only=True)  # a complete, valid bundle but for one object in it
    bundle["created"] = Evil()
    torch.save(bundle, tmp_path / "evil.pt")
    with pytest.raises(ModelError, match="evil.pt: refused: the file holds objects other than tensors"):
        Recognizer.load(tmp_path / "evil.pt")
    assert not marker.exists()  # nothing in the file ran


def test_bundle_lacking_keys_is_refused(tmp_path):
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="other.pt.*not a hwime model bundle"):
        Recognizer.load(tmp_path / "other.pt")


@pytest.fixture
def inputs(tmp_path):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    Image.fromarray(glyph_image()).save(d / "a.png")
    Image.fromarray(glyph_image((40, 70))).convert("RGB").save(d / "sub" / "b.jpg")
    ink_shi().save(d / "shi.json")
    lines = [json.dumps({"char": "十", **ink_shi().to_json()}), json.dumps({"char": "口", **ink_kou().to_json()}),
             json.dumps({"strokes": []})]
    (d / "set.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


def test_cli_json_contract_on_images_ink_and_jsonl(tiny_bundle, inputs, capsys):
    rc = main(["recognize", "--model", str(tiny_bundle), "--device", "cpu", "--json", "--top", "4",
               str(inputs / "a.png"), str(inputs / "shi.json"), str(inputs / "set.jsonl")])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc == 0
    assert [o["input"] for o in out] == [str(inputs / "a.png"), str(inputs / "shi.json"),
                                         f"{inputs / 'set.jsonl'}:1", f"{inputs / 'set.jsonl'}:2", f"{inputs / 'set.jsonl'}:3"]
    assert [o["label"] for o in out] == [None, None, "十", "口", None]
    assert all(len(o["candidates"]) == 4 for o in out[:4]) and out[4]["candidates"] == []
    assert set(out[0]["candidates"][0]) == {"char", "score"}


def test_cli_folder_and_bad_files_are_reported_while_the_rest_run(tiny_bundle, inputs, capsys):
    (inputs / "broken.png").write_bytes(b"nope")
    (inputs / "broken.json").write_text("{", encoding="utf-8")
    with open(inputs / "set.jsonl", "a", encoding="utf-8") as fh:
        fh.write("{oops\n")
    rc = main(["recognize", "--model", str(tiny_bundle), "--json", str(inputs), str(inputs / "missing.png")])
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert rc == 1
    assert len(out) == 6  # a.png, b.jpg, shi.json and three jsonl lines
    assert "broken.png" in captured.err and "broken.json" in captured.err and "set.jsonl:4" in captured.err
    assert "missing.png: no such file" in captured.err


def test_empty_ink_files_are_named_not_passed_over_in_silence(tiny_bundle, tmp_path, capsys):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_text("\n\n", encoding="utf-8")
    (tmp_path / "empty.json").write_bytes(b"  \n")
    rc = main(["recognize", "--model", str(tiny_bundle), *(str(tmp_path / n) for n in ("empty.jsonl", "blank.jsonl",
                                                                                       "empty.json"))])
    err = capsys.readouterr().err
    assert rc == 1 and "3 input(s) could not be recognized" in err
    assert "empty.jsonl: no ink in it" in err and "blank.jsonl: no ink in it" in err
    assert "empty.json: an empty file" in err and "Traceback" not in err


def test_cli_text_output_and_bad_model(tiny_bundle, inputs, tmp_path, capsys):
    assert main(["recognize", "--model", str(tiny_bundle), str(inputs / "shi.json")]) == 0
    assert str(inputs / "shi.json") in capsys.readouterr().out
    (tmp_path / "m.pt").write_bytes(b"junk")
    assert main(["recognize", "--model", str(tmp_path / "m.pt"), str(inputs / "shi.json")]) == 2
    assert "m.pt" in capsys.readouterr().err


def test_module_entry_point_runs(tiny_bundle, inputs):
    r = subprocess.run([sys.executable, "-m", "hwime", "recognize", "--model", str(tiny_bundle), "--json",
                        str(inputs / "shi.json")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["input"].endswith("shi.json")


def test_settings_that_are_not_json_are_kept_as_bak_and_defaults_used(settings_path):
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text("{ not json", encoding="utf-8")
    settings, warnings = load_settings(settings_path)
    assert settings == Settings()
    assert warnings and "not valid JSON" in warnings[0]
    assert (settings_path.parent / "settings.json.bak").read_text(encoding="utf-8") == "{ not json"
    assert not settings_path.exists()


def test_settings_bad_values_fall_back_per_key(settings_path):
    save_settings(Settings(candidate_count=7, output_mode="type"), settings_path)
    data = json.loads(settings_path.read_text(encoding="utf-8"))
    data.update(pen_width="thick", device="tpu", unknown_key=1)
    settings_path.write_text(json.dumps(data), encoding="utf-8")
    settings, warnings = load_settings(settings_path)
    assert settings.candidate_count == 7 and settings.output_mode == "type"
    assert settings.pen_width == Settings().pen_width and settings.device == "auto"
    assert len(warnings) == 2


def test_the_bundled_model_answers_every_character_of_the_dictionary_in_the_writers_script():
    from hwime.charset import named_set

    rec = Recognizer.load(device="cpu", script="simplified")
    assert len(rec.labels) > 18_000 and rec.labels[:6836] == named_set("gb2312+digits+latin+punct")
    assert all(c.isprintable() and not c.isspace() for c in rec.labels)
    simplified, traditional = rec.folding("simplified"), rec.folding("traditional")
    for ch in "镕喆堃昇":  # names a mainland writer must be able to write (昇: the 2013 table's, OpenCC folds it)
        assert simplified.answered[rec.codec.index[ch]]
    for ch in "這們說國":
        assert traditional.answered[rec.codec.index[ch]] and not simplified.answered[rec.codec.index[ch]]
    assert not traditional.answered[rec.codec.index["国"]] and not simplified.answered[rec.codec.index["ロ"]]
    assert asset_path(DEFAULT_MODEL).stat().st_size <= 12 * 2**20


@pytest.mark.skipif(not (SHARED_DATA / "tegaki-trad.jsonl").exists(), reason="needs ../shared/data")
def test_real_traditional_handwriting_is_read_in_the_writers_script():
    rows = {json.loads(line)["char"]: json.loads(line) for line in
            (SHARED_DATA / "tegaki-trad.jsonl").read_text(encoding="utf-8").splitlines()}
    rec = Recognizer.load(device="cpu", script="traditional")
    for traditional, simplified in (("辯", "辩"), ("內", "内"), ("戶", "户"), ("鐮", "镰")):
        ink = Ink.from_strokes(rows[traditional]["strokes"])
        assert rec.recognize_ink(ink, 3)[0].char == traditional
        assert rec.recognize_ink(ink, 3, script="simplified")[0].char == simplified


def test_bundled_model_recognizes_a_clean_shi():
    assert asset_path(DEFAULT_MODEL).exists()
    rec = Recognizer.load(device="cpu")
    assert len(rec.labels) >= 6763
    assert "十" in [c.char for c in rec.recognize_ink(ink_shi(), top=3)]
    assert rec.recognize_ink(ink_kou(), top=5)[0].char in "口囗"
