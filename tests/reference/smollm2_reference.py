#!/usr/bin/env python3
"""Independent numpy reference of a Llama-family GGUF decoder (SmolLM2).

Usage: smollm2_reference.py MODEL.gguf INPUTS_JSON > OUTPUT_JSON
       smollm2_reference.py MODEL.gguf --perplexity TEXT_FILE > OUTPUT_JSON

INPUTS_JSON is {"texts": [...]}. The output is {"texts": [...],
"token_ids": [[...], ...], "logits": [[...], ...], "layer0": {...}}: each
text's token ids, the next-token logits of its last position (vocabulary
size values), and layer 0's query head 0 and KV head 1 of the last text
after RoPE ("q_head0", "k_head1": tokens x head_dim), their dimensions
reordered from llama.cpp's interleaved layout to Hugging Face's
half-split one (dimension j·d/2 + k is GGUF's 2k + j).

With --perplexity the output is {"token_ids": [...], "mean_nll": x,
"perplexity": y}: the text's token ids and, over its n − 1 next-token
predictions, the mean negative log-likelihood (nats) and its exponential.

Needs numpy, gguf (its GGUFReader and gguf.quants.dequantize) and regex
(for \\p{L}, \\p{N}). Nothing is shared with the Rust implementation:
- the tokenizer is written out here: GPT-2 byte-level BPE over the
  metadata's tokens and ranked merges, each digit split off first
  (tokenizer.ggml.pre = "smollm"), control tokens kept whole;
- the forward pass keeps the GGUF weights as they are, Q and K rows in
  llama.cpp's interleaved RoPE layout, and rotates the pairs (2k, 2k+1),
  as llama.cpp does (the Rust model un-permutes them to the half-split
  layout); it is computed in float64.
"""

import json
import sys

import numpy as np
import regex
from gguf import GGUFReader
from gguf.quants import dequantize

GPT2_SPLIT = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)
DIGIT = regex.compile(r"(\p{N})")
CONTROL = 3


def field(reader, key):
    return reader.fields[key].contents()


def bytes_to_unicode():
    """GPT-2's map from the 256 bytes to printable characters."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class Tokenizer:
    def __init__(self, reader):
        assert field(reader, "tokenizer.ggml.model") == "gpt2"
        assert field(reader, "tokenizer.ggml.pre") == "smollm"
        self.tokens = field(reader, "tokenizer.ggml.tokens")
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        merges = field(reader, "tokenizer.ggml.merges")
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(merges)}
        types = field(reader, "tokenizer.ggml.token_type")
        control = sorted(
            (t for t, ty in zip(self.tokens, types) if ty == CONTROL), key=len, reverse=True
        )
        self.control = regex.compile("(" + "|".join(map(regex.escape, control)) + ")")
        self.byte_char = bytes_to_unicode()
        self.bos = None
        if "tokenizer.ggml.add_bos_token" in reader.fields and field(
            reader, "tokenizer.ggml.add_bos_token"
        ):
            self.bos = field(reader, "tokenizer.ggml.bos_token_id")

    def bpe(self, word):
        parts = list(word)
        while len(parts) > 1:
            rank, i = min(
                (self.ranks.get((parts[i], parts[i + 1]), float("inf")), i)
                for i in range(len(parts) - 1)
            )
            if rank == float("inf"):
                break
            a, b = parts[i], parts[i + 1]
            merged, j = [], 0
            while j < len(parts):
                if j + 1 < len(parts) and parts[j] == a and parts[j + 1] == b:
                    merged.append(a + b)
                    j += 2
                else:
                    merged.append(parts[j])
                    j += 1
            parts = merged
        return parts

    def encode(self, text):
        ids = [] if self.bos is None else [self.bos]
        for chunk in self.control.split(text):
            if chunk == "":
                continue
            if chunk in self.ids and self.control.fullmatch(chunk):
                ids.append(self.ids[chunk])
                continue
            for piece in DIGIT.split(chunk):
                for word in GPT2_SPLIT.findall(piece):
                    mapped = "".join(self.byte_char[b] for b in word.encode("utf-8"))
                    ids.extend(self.ids[p] for p in self.bpe(mapped))
        return ids


class Model:
    def __init__(self, reader):
        assert field(reader, "general.architecture") == "llama"
        self.layers = int(field(reader, "llama.block_count"))
        self.heads = int(field(reader, "llama.attention.head_count"))
        self.kv_heads = int(field(reader, "llama.attention.head_count_kv"))
        self.hidden = int(field(reader, "llama.embedding_length"))
        self.d = self.hidden // self.heads
        self.base = float(field(reader, "llama.rope.freq_base"))
        self.eps = float(field(reader, "llama.attention.layer_norm_rms_epsilon"))
        self.w = {}
        for t in reader.tensors:
            a = dequantize(t.data, t.tensor_type).astype(np.float64)
            self.w[t.name] = a.reshape([int(x) for x in reversed(t.shape)])

    def rms_norm(self, x, gamma):
        return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + self.eps) * gamma

    def rope_interleaved(self, x):
        """x: heads × n × d; rotates pairs (2k, 2k+1) of position p by p·θ_k."""
        n, d = x.shape[1], x.shape[2]
        theta = self.base ** (-np.arange(0, d, 2) / d)
        ang = np.arange(n)[:, None] * theta[None, :]
        cos, sin = np.cos(ang), np.sin(ang)
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = b * cos + a * sin
        return out

    def heads_of(self, x, count):
        n = x.shape[0]
        return x.reshape(n, count, self.d).transpose(1, 0, 2)

    def layer0_qk(self, ids):
        """Layer 0's Q (all heads) and K after RoPE, half-split order."""
        w = self.w
        h = self.rms_norm(w["token_embd.weight"][ids], w["blk.0.attn_norm.weight"])
        q = self.rope_interleaved(self.heads_of(h @ w["blk.0.attn_q.weight"].T, self.heads))
        k = self.rope_interleaved(self.heads_of(h @ w["blk.0.attn_k.weight"].T, self.kv_heads))
        half = self.d // 2
        order = [2 * k + j for j in range(2) for k in range(half)]
        return q[..., order], k[..., order]

    def last_logits(self, ids):
        w = self.w
        out = w.get("output.weight", w["token_embd.weight"])
        return out @ self.final_hidden(ids)[-1]

    def mean_nll(self, ids):
        """Mean negative log-likelihood of ids[i + 1] given ids[..=i]."""
        w = self.w
        out = w.get("output.weight", w["token_embd.weight"])
        logits = self.final_hidden(ids)[:-1] @ out.T
        top = logits.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0]
        return float((log_z - logits[np.arange(len(ids) - 1), ids[1:]]).mean())

    def final_hidden(self, ids):
        """The hidden states after the output RMSNorm, n × hidden."""
        w = self.w
        n = len(ids)
        x = w["token_embd.weight"][ids]
        mask = np.triu(np.full((n, n), -np.inf), k=1)
        group = self.heads // self.kv_heads
        for layer in range(self.layers):
            p = f"blk.{layer}."
            h = self.rms_norm(x, w[p + "attn_norm.weight"])
            q = self.rope_interleaved(self.heads_of(h @ w[p + "attn_q.weight"].T, self.heads))
            k = self.rope_interleaved(self.heads_of(h @ w[p + "attn_k.weight"].T, self.kv_heads))
            v = self.heads_of(h @ w[p + "attn_v.weight"].T, self.kv_heads)
            ctx = np.empty((n, self.heads * self.d))
            for j in range(self.heads):
                g = j // group
                s = q[j] @ k[g].T / np.sqrt(self.d) + mask
                s = np.exp(s - s.max(axis=1, keepdims=True))
                s /= s.sum(axis=1, keepdims=True)
                ctx[:, j * self.d : (j + 1) * self.d] = s @ v[g]
            x = x + ctx @ w[p + "attn_output.weight"].T
            h = self.rms_norm(x, w[p + "ffn_norm.weight"])
            gate = h @ w[p + "ffn_gate.weight"].T
            up = h @ w[p + "ffn_up.weight"].T
            x = x + (gate / (1.0 + np.exp(-gate)) * up) @ w[p + "ffn_down.weight"].T
        return self.rms_norm(x, w["output_norm.weight"])


def main():
    reader = GGUFReader(sys.argv[1])
    if sys.argv[2] == "--perplexity":
        with open(sys.argv[3], encoding="utf-8") as f:
            ids = Tokenizer(reader).encode(f.read())
        nll = Model(reader).mean_nll(ids)
        json.dump({"token_ids": ids, "mean_nll": nll, "perplexity": float(np.exp(nll))}, sys.stdout)
        return
    with open(sys.argv[2]) as f:
        texts = json.load(f)["texts"]
    tokenizer = Tokenizer(reader)
    model = Model(reader)
    ids = [tokenizer.encode(t) for t in texts]
    logits = [model.last_logits(i).tolist() for i in ids]
    q, k = model.layer0_qk(ids[-1])
    layer0 = {"q_head0": q[0].tolist(), "k_head1": k[1].tolist()}
    json.dump(
        {"texts": texts, "token_ids": ids, "logits": logits, "layer0": layer0}, sys.stdout
    )


if __name__ == "__main__":
    main()
