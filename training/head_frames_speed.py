"""The pad's sequence per ink (render, normalize, the pass, best frame, ranking) with the export as it was before
issue 37's change (hwime-onnx/2: the head over all 12 frames) and with the head over the square's 6 (/3), one export
at a time as the pad runs one: blocks of 100 inks alternated, one thread, p50 of each part.

    python training/head_frames_speed.py ../shared/data/tegaki-online.jsonl ../shared/data/olhwdb-dev.jsonl
"""
import io, sys, time, warnings, numpy as np, torch
from hwime.recognizer import Recognizer
from hwime.bench import _inks
from hwime.raster import ink_to_image, normalize
from hwime.onnx_engine import OnnxEngine, float_export_bytes
from hwime.ppocrv6 import WithFeatures
from hwime.ranking import RankingOptions
from pathlib import Path
torch.set_num_threads(1)
rec = Recognizer.load(None, "cpu"); reader = rec.characters; opts = RankingOptions(rec.script)


def export_without_frame_count() -> bytes:
    """The bundle's network as hwime-onnx/2 exported it: no frame count, the head over all 12 frames, in float32."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(WithFeatures(rec.network.model).eval(), (torch.zeros(1, 1, 48, 96),), buf,
                          input_names=["image"], output_names=["logits", "features"],
                          dynamic_axes={"image": {0: "batch", 3: "width"}, "logits": {0: "batch", 1: "frames"},
                                        "features": {0: "batch", 1: "frames"}}, dynamo=False)
    return buf.getvalue()


sess = {"old (12 frames)": OnnxEngine(export_without_frame_count()).session,  # /3's head in float32:
        "new (6 frames)": OnnxEngine(float_export_bytes(rec.network.model, 48, 96)).session}


def step(name, ink):
    t0 = time.perf_counter()
    x = normalize(ink_to_image(ink, rec.spec)[None], rec.spec)
    t1 = time.perf_counter()
    feeds = {"image": x, "frames": np.array([reader.frames])} if name.startswith("new") else {"image": x}
    logits, feats = sess[name].run(None, feeds)
    t2 = time.perf_counter()
    probs, f = reader.pass_probabilities(torch.from_numpy(logits), torch.from_numpy(feats))
    rec.ranker.rank(probs, 10, opts, f, None)
    t3 = time.perf_counter()
    return t2 - t1, (t1 - t0) + (t3 - t2), t3 - t0
for path in sys.argv[1:]:
    inks = _inks(Path(path), 300)[0]
    T = {k: [] for k in sess}
    for block in range(6):  # one export at a time, as the pad runs one: blocks of 100 inks, alternated
        for k in (sorted(sess) if block % 2 else sorted(sess, reverse=True)):
            for i, ink in enumerate(inks[(block % 3) * 100 : (block % 3) * 100 + 100]):
                r = step(k, ink)
                if i >= 5: T[k].append(r)
    for k, v in T.items():
        v = np.array(v) * 1000
        print(Path(path).name, k, "pass %.2f  own %.2f  whole %.2f ms p50" % tuple(np.percentile(v, 50, axis=0)))
