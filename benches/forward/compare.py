#!/usr/bin/env python3
"""The Rust forward pass of all-MiniLM-L6-v2 next to onnxruntime, on the
same token ids, in one run.

Usage (from the repository root):

    python3 benches/forward/compare.py [MODEL_DIR] [--cases 1x14,1x128,1x512,16x14]
        [--rounds 5] [--repeats 5] [--threads 2]

MODEL_DIR defaults to $SPRINT_RTL_MINILM_DIR. A case TxN is a batch of T
texts of N tokens each. Each round runs the release example
`forward_speed` (through `cargo run --release`, with RAYON_NUM_THREADS and
MATMUL_NUM_THREADS set to --threads), which tokenises the texts with the
project's tokenizer, times --repeats forward passes per case after one
untimed pass (a batch in one `forward_batch` call) and writes the ids, the
times and the outputs to JSON; then onnxruntime (intra_op_num_threads =
--threads) runs the float32 graph of onnx_graph.py on the same ids (a
batch as one batch x tokens input), also one untimed and --repeats timed
passes per case. Rounds alternate the two, so that
the load of a shared machine falls on both alike. The table gives the
median over all rounds and repeats, the ratio of the medians (Rust over
onnxruntime) and the largest absolute difference of the last hidden states
and of the sentence embeddings (first round, over every text of a case); the script fails when one is
above 1e-4.

Needs numpy, onnx and onnxruntime (versions pinned in .ci/run) and cargo.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import onnx_graph  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-4


def rust_round(model_dir, cases, repeats, threads, out):
    """One run of the Rust example; its JSON, a list of runs."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), MATMUL_NUM_THREADS=str(threads))
    subprocess.run(
        ["cargo", "run", "--release", "--quiet", "--example", "forward_speed", "--",
         str(model_dir), "--cases", ",".join(cases), "--warmup", "1",
         "--repeats", str(repeats), "--out", str(out)],
        cwd=ROOT, env=env, check=True, stderr=subprocess.DEVNULL,
    )
    return json.loads(Path(out).read_text())


def ort_times(sess, ids, repeats):
    """Wall times in ms of `repeats` runs after one untimed run, and the
    outputs of the last one."""
    outputs = onnx_graph.run(sess, ids)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        outputs = onnx_graph.run(sess, ids)
        times.append((time.perf_counter() - start) * 1e3)
    return times, outputs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", nargs="?", default=os.environ.get("SPRINT_RTL_MINILM_DIR"))
    parser.add_argument("--cases", default="1x14,1x128,1x512,16x14")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not args.model_dir:
        sys.exit("give MODEL_DIR or set SPRINT_RTL_MINILM_DIR")
    cases = args.cases.split(",")

    import onnxruntime

    sess = onnx_graph.session(onnx_graph.build_graph(args.model_dir), args.threads)
    rust = {c: [] for c in cases}
    ort = {c: [] for c in cases}
    diffs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            runs = rust_round(args.model_dir, cases, args.repeats, args.threads,
                              Path(tmp) / "rust.json")
            for case, run in zip(cases, runs):
                rust[case] += run["times_ms"]
                times, (hidden, embedding) = ort_times(sess, run["ids"], args.repeats)
                ort[case] += times
                if r == 0:
                    diffs[case] = (
                        float(np.abs(hidden - np.array(run["last_hidden"])).max()),
                        float(np.abs(embedding - np.array(run["embedding"])).max()),
                    )

    print(f"onnxruntime {onnxruntime.__version__}, {args.threads} threads each; "
          f"median of {args.rounds} rounds x {args.repeats} runs")
    print("| texts x tokens | Rust ms | onnxruntime ms | ratio | max abs diff, hidden / embedding |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for case in cases:
        r, o = statistics.median(rust[case]), statistics.median(ort[case])
        dh, de = diffs[case]
        worst = max(worst, dh, de)
        texts, tokens = case.split("x")
        print(f"| {texts} x {tokens} | {r:.2f} | {o:.2f} | {r / o:.2f}x | {dh:.1e} / {de:.1e} |")
    if worst > TOLERANCE:
        sys.exit(f"outputs differ by {worst:.2e} > {TOLERANCE:.0e}")


if __name__ == "__main__":
    main()
