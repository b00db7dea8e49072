#!/usr/bin/env python3
"""The float32 ONNX graph of a BERT encoder (all-MiniLM-L6-v2), built from
its model.safetensors with numpy and onnx.helper, and run with onnxruntime.

Usage: onnx_graph.py MODEL_DIR [--threads N] < ids.json > outputs.json

ids.json is a JSON list of token id lists (as `sprint-rtl`'s tokenizer
gives them: [CLS] pieces... [SEP]); each list runs as a batch of one. The
output is a JSON list of {"last_hidden": tokens x hidden,
"embedding": hidden} in the same order. tests/onnx.rs uses this to compare
the graph with the Rust forward pass; benches/forward/compare.py imports
the functions below.

The graph uses standard ONNX operators only (opset 17): Gather for the
word embeddings, Slice of the position embeddings, LayerNormalization,
MatMul + Add for every linear layer (the weights transposed to in x out),
Reshape/Transpose to split and merge the heads, Softmax, the exact GELU
written with Erf, and the model's pooling: the mean of the last hidden
states over the tokens (no padding), divided by max(L2 norm, 1e-12).
Its input is `input_ids`, int64, batch x tokens (every text of a batch has
the same length: there is no attention mask); its outputs are
`last_hidden` (batch x tokens x hidden) and `embedding` (batch x hidden).
Needs numpy, onnx and onnxruntime (versions pinned in .ci/run).
"""

import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def read_safetensors(path):
    """The tensors of a safetensors file as numpy arrays: an 8-byte
    little-endian header length, a JSON header of dtypes, shapes and byte
    offsets, then the raw little-endian data."""
    data = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    body = data[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            continue  # embeddings.position_ids (I64) is not used
        start, end = info["data_offsets"]
        array = np.frombuffer(body[start:end], dtype="<f4").reshape(info["shape"])
        tensors[name] = array.astype(np.float32)
    return tensors


def build_graph(model_dir):
    """The ONNX model of the encoder in `model_dir` (config.json,
    model.safetensors), float32 throughout."""
    model_dir = Path(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "bert", config["model_type"]
    assert config["hidden_act"] == "gelu", config["hidden_act"]
    layers = config["num_hidden_layers"]
    heads = config["num_attention_heads"]
    hidden = config["hidden_size"]
    head_dim = hidden // heads
    eps = float(config["layer_norm_eps"])
    raw = read_safetensors(model_dir / "model.safetensors")
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in raw else ""

    def tensor(name):
        return raw[prefix + name]

    inits = []
    nodes = []

    def init(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    counter = [0]

    def node(op, inputs, **attrs):
        counter[0] += 1
        out = f"{op.lower()}_{counter[0]}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(x, name):
        w = init(name + ".weight_t", tensor(name + ".weight").T)
        b = init(name + ".bias", tensor(name + ".bias"))
        return node("Add", [node("MatMul", [x, w]), b])

    def layer_norm(x, name):
        g = init(name + ".weight", tensor(name + ".weight"))
        b = init(name + ".bias", tensor(name + ".bias"))
        return node("LayerNormalization", [x, g, b], axis=-1, epsilon=eps)

    i64 = lambda name, values: init(name, np.array(values, dtype=np.int64))
    f32 = lambda name, value: init(name, np.array(value, dtype=np.float32))
    zero = i64("zero", [0])
    one = i64("one", [1])
    heads_shape = i64("heads_shape", [0, 0, heads, head_dim])
    merged_shape = i64("merged_shape", [0, 0, hidden])
    scale = f32("scale", 1.0 / math.sqrt(head_dim))
    half = f32("half", 0.5)
    f_one = f32("f_one", 1.0)
    sqrt2 = f32("sqrt2", math.sqrt(2.0))
    tiny = f32("tiny", 1e-12)

    # Embeddings: word + position + token type 0, then LayerNorm.
    word = init("word", tensor("embeddings.word_embeddings.weight"))
    position = init("position", tensor("embeddings.position_embeddings.weight"))
    token_type0 = init("token_type0", tensor("embeddings.token_type_embeddings.weight")[0])
    n = node("Slice", [node("Shape", ["input_ids"]), one, i64("two", [2])])
    h = node("Add", [node("Gather", [word, "input_ids"]), node("Slice", [position, zero, n])])
    h = node("Add", [h, token_type0])
    h = layer_norm(h, "embeddings.LayerNorm")

    for l in range(layers):
        p = f"encoder.layer.{l}"

        def heads_of(name, perm):
            x = node("Reshape", [linear(h, f"{p}.attention.self.{name}"), heads_shape])
            return node("Transpose", [x], perm=perm)

        q = heads_of("query", [0, 2, 1, 3])  # batch x heads x tokens x d
        k = heads_of("key", [0, 2, 3, 1])  # batch x heads x d x tokens
        v = heads_of("value", [0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k]), scale])
        probs = node("Softmax", [scores], axis=-1)
        context = node("Transpose", [node("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merged_shape])
        a = node("Add", [linear(context, f"{p}.attention.output.dense"), h])
        a = layer_norm(a, f"{p}.attention.output.LayerNorm")
        up = linear(a, f"{p}.intermediate.dense")
        erf = node("Erf", [node("Div", [up, sqrt2])])
        act = node("Mul", [node("Mul", [up, half]), node("Add", [erf, f_one])])
        out = node("Add", [linear(act, f"{p}.output.dense"), a])
        h = layer_norm(out, f"{p}.output.LayerNorm")

    nodes.append(helper.make_node("Identity", [h], ["last_hidden"]))
    mean = node("ReduceMean", [h], axes=[1], keepdims=0)
    norm = node("Max", [node("ReduceL2", [mean], axes=[-1], keepdims=1), tiny])
    nodes.append(helper.make_node("Div", [mean, norm], ["embedding"]))

    graph = helper.make_graph(
        nodes,
        "bert_encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"])],
        [
            helper.make_tensor_value_info(
                "last_hidden", TensorProto.FLOAT, ["batch", "tokens", hidden]
            ),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def session(model, threads):
    """An onnxruntime CPU session of `model` on `threads` intra-op threads
    (one inter-op thread), with the default graph optimisations."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def run(sess, ids):
    """(last_hidden, embedding) of a batch of equally long id lists."""
    batch = np.asarray(ids, dtype=np.int64).reshape(len(ids), -1)
    hidden, embedding = sess.run(["last_hidden", "embedding"], {"input_ids": batch})
    return hidden, embedding


def main():
    args = sys.argv[1:]
    threads = 2
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    sess = session(build_graph(args[0]), threads)
    outputs = []
    for ids in json.load(sys.stdin):
        hidden, embedding = run(sess, [ids])
        outputs.append({"last_hidden": hidden[0].tolist(), "embedding": embedding[0].tolist()})
    json.dump(outputs, sys.stdout)


if __name__ == "__main__":
    main()
