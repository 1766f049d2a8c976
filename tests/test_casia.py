import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hwime.training.casia import CasiaFormatError, iter_gnt, iter_pot, write_gnt, write_pot

RNG = np.random.default_rng(0)
GNT_SAMPLES = [("中", RNG.integers(0, 256, (71, 53), dtype=np.uint8)),
               ("啊", RNG.integers(0, 256, (40, 90), dtype=np.uint8)),
               ("齄", RNG.integers(0, 256, (1, 1), dtype=np.uint8)),
               ("A", RNG.integers(0, 256, (30, 20), dtype=np.uint8))]
POT_SAMPLES = [("国", [np.array([[10, 20], [30, 40], [50, 45]]), np.array([[5, 5]])]),
               ("一", [np.array([[-300, 2000], [32000, 2001]])])]


def gnt_bytes(tmp_path) -> bytes:
    write_gnt(tmp_path / "ok.gnt", GNT_SAMPLES)
    return (tmp_path / "ok.gnt").read_bytes()


def test_gnt_layout_is_the_documented_one(tmp_path):
    raw = gnt_bytes(tmp_path)
    h, w = GNT_SAMPLES[0][1].shape
    assert int.from_bytes(raw[0:4], "little") == 10 + w * h
    assert raw[4:6] == "中".encode("gb2312")
    assert int.from_bytes(raw[6:8], "little") == w and int.from_bytes(raw[8:10], "little") == h
    assert raw[10 : 10 + w * h] == GNT_SAMPLES[0][1].tobytes()


def test_gnt_reads_back_exactly(tmp_path):
    gnt_bytes(tmp_path)
    got = list(iter_gnt(tmp_path / "ok.gnt"))
    assert [c for c, _ in got] == [c for c, _ in GNT_SAMPLES]
    for (_, a), (_, b) in zip(got, GNT_SAMPLES):
        assert a.dtype == np.uint8 and np.array_equal(a, b)


def official_pot_sample(char: str, strokes: list[list[tuple[int, int]]]) -> bytes:
    """One sample in CASIA-OLHWDB's documented layout, byte by byte (not through write_pot): uint16 size,
    the GB code lead byte first and two zero bytes, uint16 stroke count, int16 x/y pairs, (-1, 0) after
    each stroke and (-1, -1) at the end; little-endian."""
    import struct

    body = b""
    for stroke in strokes:
        for x, y in stroke:
            body += struct.pack("<hh", x, y)
        body += struct.pack("<hh", -1, 0)
    body += struct.pack("<hh", -1, -1)
    gb = char.encode("gb2312")
    return struct.pack("<H", 8 + len(body)) + bytes([gb[0], gb[1], 0, 0]) + struct.pack("<H", len(strokes)) + body


def test_official_pot_layout_is_read(tmp_path):
    raw = (official_pot_sample("中", [[(100, 200), (180, 205)], [(140, 150), (141, 260), (142, 262)]])
           + official_pot_sample("啊", [[(-5, 7)]]))
    assert raw[:2] == (8 + 4 * 8).to_bytes(2, "little") and raw[2:6] == b"\xd6\xd0\x00\x00"
    (tmp_path / "official.pot").write_bytes(raw)
    got = list(iter_pot(tmp_path / "official.pot"))
    assert [c for c, _ in got] == ["中", "啊"]
    assert got[0][1].strokes[1][:, :2].tolist() == [[140, 150], [141, 260], [142, 262]]
    assert got[1][1].strokes[0][:, :2].tolist() == [[-5, 7]]
    write_pot(tmp_path / "ours.pot", [("中", [np.array([(100, 200), (180, 205)]), np.array([(140, 150), (141, 260), (142, 262)])])])
    assert (tmp_path / "ours.pot").read_bytes() == raw[: len((tmp_path / "ours.pot").read_bytes())]  # we write it too


def test_a_control_character_tag_names_file_and_offset(tmp_path):
    good = official_pot_sample("中", [[(1, 2)]])
    bad = bytearray(official_pot_sample("中", [[(1, 2)]]))
    bad[2:4] = b"\x0a\x00"  # a newline as the label
    (tmp_path / "ctl.pot").write_bytes(good + bytes(bad))
    with pytest.raises(CasiaFormatError, match=f"ctl.pot: corrupt record at byte offset {len(good)}.*printable"):
        list(iter_pot(tmp_path / "ctl.pot"))


def test_pot_reads_back_exactly(tmp_path):
    write_pot(tmp_path / "ok.pot", POT_SAMPLES)
    raw = (tmp_path / "ok.pot").read_bytes()
    assert raw[2:4] == "国".encode("gb2312") and int.from_bytes(raw[6:8], "little") == 2
    got = list(iter_pot(tmp_path / "ok.pot"))
    assert [c for c, _ in got] == ["国", "一"]
    for (_, ink), (_, strokes) in zip(got, POT_SAMPLES):
        assert len(ink.strokes) == len(strokes)
        for s, ref in zip(ink.strokes, strokes):
            assert s[:, :2].tolist() == ref.tolist()


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=1, max_value=10_000))
def test_truncated_gnt_names_file_and_offset(tmp_path_factory, cut):
    tmp = tmp_path_factory.mktemp("gnt")
    raw = gnt_bytes(tmp)
    cut = cut % (len(raw) - 1) + 1  # keep at least one byte, drop at least one
    (tmp / "cut.gnt").write_bytes(raw[:cut])
    record_starts, o = [], 0
    while o < len(raw):
        record_starts.append(o)
        o += int.from_bytes(raw[o : o + 4], "little")
    broken = max(s for s in record_starts if s < cut)
    if cut in record_starts:  # cut exactly between records: a shorter, valid file
        assert len(list(iter_gnt(tmp / "cut.gnt"))) == record_starts.index(cut)
        return
    with pytest.raises(CasiaFormatError) as err:
        list(iter_gnt(tmp / "cut.gnt"))
    assert err.value.offset == broken and "cut.gnt" in str(err.value) and f"byte offset {broken}" in str(err.value)


@settings(max_examples=60, deadline=None)
@given(pos=st.integers(min_value=0, max_value=10_000), value=st.integers(min_value=0, max_value=255))
def test_corrupted_gnt_header_is_detected(tmp_path_factory, pos, value):
    tmp = tmp_path_factory.mktemp("gnt")
    raw = bytearray(gnt_bytes(tmp))
    starts, o = [], 0
    while o < len(raw):
        starts.append(o)
        o += int.from_bytes(raw[o : o + 4], "little")
    start = starts[pos % len(starts)]
    field = start + [0, 1, 6, 7, 8, 9][pos % 6]  # size or width/height bytes
    if raw[field] == value:
        value = (value + 1) % 256
    raw[field] = value
    (tmp / "bad.gnt").write_bytes(bytes(raw))
    with pytest.raises(CasiaFormatError) as err:
        list(iter_gnt(tmp / "bad.gnt"))
    assert err.value.offset == start


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(min_value=1, max_value=10_000))
def test_truncated_pot_names_file_and_offset(tmp_path_factory, cut):
    tmp = tmp_path_factory.mktemp("pot")
    write_pot(tmp / "ok.pot", POT_SAMPLES)
    raw = (tmp / "ok.pot").read_bytes()
    first = int.from_bytes(raw[0:2], "little")
    cut = cut % (len(raw) - 1) + 1
    if cut == first:
        return  # a shorter, valid file
    (tmp / "cut.pot").write_bytes(raw[:cut])
    with pytest.raises(CasiaFormatError) as err:
        list(iter_pot(tmp / "cut.pot"))
    assert err.value.offset == (0 if cut < first else first)


def test_pot_with_wrong_stroke_count_is_detected(tmp_path):
    write_pot(tmp_path / "ok.pot", POT_SAMPLES)
    raw = bytearray((tmp_path / "ok.pot").read_bytes())
    raw[6] = 5
    (tmp_path / "bad.pot").write_bytes(bytes(raw))
    with pytest.raises(CasiaFormatError, match="5 strokes declared, 2 stroke ends found"):
        list(iter_pot(tmp_path / "bad.pot"))


def test_prepare_reads_gnt_and_pot_and_skip_bad_counts(tmp_path, capsys):
    from hwime.training.dataset import prepare
    from hwime.training.recipe import load_recipe

    write_gnt(tmp_path / "a.gnt", [(c, np.full((50, 40), 255, np.uint8)) for c in "中中国"])
    write_pot(tmp_path / "b.pot", POT_SAMPLES)
    raw = (tmp_path / "a.gnt").read_bytes()
    (tmp_path / "broken.gnt").write_bytes(raw[:-7])
    recipe = load_recipe(None, ['data.classes="found"', f'data.gnt=["{tmp_path}/a.gnt", "{tmp_path}/broken.gnt"]',
                                f'data.pot=["{tmp_path}/b.pot"]', "data.size=32"])
    with pytest.raises(CasiaFormatError, match="broken.gnt"):
        prepare(recipe, tmp_path / "out")
    stats = prepare(recipe, tmp_path / "out", skip_bad=True)
    assert "1 of 3 files are damaged" in capsys.readouterr().err
    # the truncated copy keeps its two whole records: only the damaged tail is lost
    assert stats["classes"] == 3 and stats["splits"]["train"]["samples"] == 7
    assert [d["file"] for d in stats["damaged_files"]] == [f"{tmp_path}/broken.gnt"]
    x = np.load(tmp_path / "out" / "train-images.npy")
    y = np.load(tmp_path / "out" / "train-labels.npy")
    labels = (tmp_path / "out" / "labels.txt").read_text(encoding="utf-8").split()
    assert x.shape == (7, 32, 32) and "".join(labels[i] for i in y) == "中中国中中国一"
