"""python -m hwime.bench measures what it says: start-up in fresh processes (the CLI's first result, the pad's window
and Ready), and the network's pass beside its peers; figures are the README's, not asserted here."""

import numpy as np
from PIL import Image

from conftest import ink_kou, ink_shi
from hwime import Recognizer
from hwime.bench import bench_network_and_peers, bench_stages, bench_startup


def test_start_up_is_timed_from_a_fresh_process_to_the_first_result_and_to_ready(tmp_path):
    image = np.full((64, 64), 255, np.uint8)
    image[30:34, 8:56] = 0
    Image.fromarray(image).save(tmp_path / "yi.png")
    got = bench_startup(None, tmp_path / "yi.png", runs=1)
    assert got["recognize_one_image_s"] > 0
    assert 0 < got["pad_window_shown_s"] <= got["pad_ready_s"]
    assert got["pad_close_s"] >= 0 and got["pad_rss_mb_at_ready"] > 50


def test_the_network_pass_is_timed_under_the_pads_engine_beside_what_is_installed():
    rec = Recognizer.load(None, "cpu")
    got = bench_network_and_peers(rec, [ink_shi(), ink_kou()] * 6)
    mine = got[f"{rec.engine_name} network pass"]
    assert mine["n"] == 12 and 0 < mine["p50_ms"] <= mine["p95_ms"]
    assert all(row["n"] == 12 for row in got.values())


def test_each_stage_of_one_character_is_timed_and_our_own_work_is_all_but_the_pass():
    rec = Recognizer.load(None, "cpu")
    got = bench_stages(rec, [ink_shi(), ink_kou()] * 6)
    assert set(got) == {"render", "normalize", "pass", "best_frame", "ranking", "own_work", "whole"}
    assert all(row["n"] == 12 and 0 < row["p50_ms"] <= row["p95_ms"] for row in got.values())
    # own work per ink is the sum of the four stages around the pass, so its median lies within their medians' reach
    around = sum(got[name]["p95_ms"] for name in ("render", "normalize", "best_frame", "ranking"))
    assert got["own_work"]["p50_ms"] <= around
