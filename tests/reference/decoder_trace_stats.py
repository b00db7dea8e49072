#!/usr/bin/env python3
"""Exact-attention statistics of a decoder trace (sprint-rtl trace on a GGUF).

Usage: decoder_trace_stats.py TRACE.npz [QUERIES]

For every query head of the trace and QUERIES queries spread evenly over
the sequence (64 by default; query i sees keys 0..i), computes the float
softmax(q·kᵀ/√d) from the trace's float Q and its KV head's K, and prints
the mean over heads and queries of: the fraction of a query's keys needed
to keep 99 % and 95 % of its softmax mass (largest weights first), the
mass on the first token, and the mass on the last 64 keys. Needs numpy.
"""

import sys

import numpy as np


def main():
    path = sys.argv[1]
    queries = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    z = np.load(path)
    names = {n for n in z.files}
    heads = sorted(
        tuple(int(x) for x in n[1:-3].split("h"))
        for n in names
        if n.endswith("_kv") and "kv" not in n[:-3]
    )
    n = len(z["tokens"])
    rows = np.unique(np.linspace(1, n - 1, queries).astype(int))
    keep99, keep95, first, last64 = [], [], [], []
    for layer, head in heads:
        q = z[f"l{layer}h{head}_q"]
        g = int(z[f"l{layer}h{head}_kv"][0])
        k = z[f"l{layer}kv{g}_k"]
        d = q.shape[1]
        for i in rows:
            s = k[: i + 1].astype(np.float64) @ q[i].astype(np.float64) / np.sqrt(d)
            p = np.exp(s - s.max())
            p /= p.sum()
            c = np.cumsum(np.sort(p)[::-1])
            keep99.append((np.searchsorted(c, 0.99) + 1) / (i + 1))
            keep95.append((np.searchsorted(c, 0.95) + 1) / (i + 1))
            first.append(p[0])
            last64.append(p[-64:].sum())
    print(
        f"{path}: {n} tokens, {len(heads)} heads x {len(rows)} queries: "
        f"keys for 99% mass {100 * np.mean(keep99):.1f}%, for 95% {100 * np.mean(keep95):.1f}%, "
        f"first token {100 * np.mean(first):.1f}% of the mass, last 64 keys {100 * np.mean(last64):.1f}%"
    )


if __name__ == "__main__":
    main()
