"""Where the pass's time goes: onnxruntime's own profiler over the export the pad runs (one thread, a lone
character's 48x96 input, the head over its square's frames), summed by operator type and by node.

    python training/pass_profile.py [--runs 200]
"""
import argparse
import collections
import json
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from hwime.onnx_engine import UNFUSED
from hwime.recognizer import Recognizer

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=200)
args = parser.parse_args()

rec = Recognizer.load(None, "cpu")
assert rec.engine_name == "onnxruntime", "needs onnxruntime"
options = ort.SessionOptions()
options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = 1, 1, 3
options.enable_profiling = True
options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "pass")
session = ort.InferenceSession(rec.network.engine.session.model_bytes, options, providers=["CPUExecutionProvider"],
                               disabled_optimizers=UNFUSED)
x = np.random.default_rng(0).uniform(-1, 1, (1, 1, 48, rec.spec.input_width)).astype(np.float32)
x[..., rec.spec.size :] = 0  # the padding after the square, as normalize leaves it
frames = np.array([rec.characters.frames], np.int64)
for _ in range(args.runs):
    session.run(None, {"image": x, "frames": frames})
events = json.loads(Path(session.end_profiling()).read_text())
by_type, by_node = collections.Counter(), collections.Counter()
for e in events:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
        by_type[e["args"]["op_name"]] += e["dur"]
        by_node[e["name"].removesuffix("_kernel_time")] += e["dur"]
total = sum(by_type.values())
print(f"pass, kernels only: {total / args.runs / 1000:.2f} ms")
for name, us in by_type.most_common(10):
    print(f"  {name:24s} {us / args.runs / 1000:.3f} ms  {us / total:.1%}")
print("slowest nodes:")
for name, us in by_node.most_common(10):
    print(f"  {name:60s} {us / args.runs / 1000:.3f} ms")
