#!/usr/bin/env python3
"""PyTorch's CPU scaled_dot_product_attention (causal, fp32) on the inputs of
`subq polysketch --bench`, for results/polysketch/.  A benchmark program only: never a
build or test dependency, never run by CI.

Usage (from the repository root):

    build/subq polysketch --bench --precision=f32 --save --out=out/psbench   # optional
    python3 tools/bench/torch_sdpa.py [--inputs=out/psbench] [--n=1024,...,32768]
        [--threads=1] [--reps=3] [--seed=42] [--d=64] [--pip-args="..."]
        [--out=results/polysketch/torch_sdpa_cpu_1thread_f32.csv]

The first run creates tools/bench/.venv (git-ignored) and pip-installs numpy and torch
into it, then re-runs itself with that interpreter.  --pip-args is passed to pip, e.g.
"--index-url https://download.pytorch.org/whl/cpu" for the 200 MB CPU-only wheel where
that index is reachable: PyPI's Linux torch wheel needs the CUDA runtime wheels (several
GB) even to import (see results/polysketch/README.md).

Inputs: with --inputs=DIR holding bench_{q,k,v,out_softmax}_n<N>.npy (written by
`subq polysketch --bench --save`), PyTorch runs on exactly subq's tokens and the CSV gives
the largest relative difference of its output from subq's exact softmax output; otherwise
q, k, v are i.i.d. N(0, 1) from numpy's default_rng(seed) (the same distribution as
subq's synthetic tokens; the timing of SDPA does not depend on the values).  Each time is
the fastest of --reps runs after one warm-up run; 1/sqrt(d) scale, shape (1, 1, n, d).
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
VPY = os.path.join(VENV, "bin", "python")


def ensure_venv(pip_args):
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(VPY):
        print(f"creating {VENV}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([VPY, "-m", "pip", "install", "-q", "numpy"])
        subprocess.check_call([VPY, "-m", "pip", "install", "torch"] + pip_args.split())
    os.execv(VPY, [VPY] + sys.argv)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", default="", help="directory of bench_*_n<N>.npy from subq")
    ap.add_argument("--n", default="1024,2048,4096,8192,16384,32768")
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--pip-args", default="", help="extra pip arguments for installing torch")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    ensure_venv(a.pip_args)

    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    import numpy as np
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - report why and stop
        sys.exit(f"torch_sdpa.py: cannot import torch in {VENV}: {e}")
    torch.set_num_threads(a.threads)
    out = a.out or os.path.join(HERE, "..", "..", "results", "polysketch",
                                f"torch_sdpa_cpu_{a.threads}thread_f32.csv")
    rows = ["n,d,threads,reps,t_torch_sdpa_s,inputs,max_rel_diff_vs_subq_softmax,torch,"
            "backend"]
    backend = torch.backends.cpu.get_cpu_capability()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), cpu {backend}")
    for n in [int(x) for x in a.n.split(",")]:
        src, ref = "synthetic", None
        qf = os.path.join(a.inputs, f"bench_q_n{n}.npy") if a.inputs else ""
        if qf and os.path.exists(qf):
            q, k, v = (np.load(os.path.join(a.inputs, f"bench_{w}_n{n}.npy")) for w in "qkv")
            ref = np.load(os.path.join(a.inputs, f"bench_out_softmax_n{n}.npy"))
            src = "subq"
        else:
            rng = np.random.default_rng(a.seed)
            q, k, v = (rng.standard_normal((n, a.d)) for _ in range(3))
        d = q.shape[1]
        T = [torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).view(1, 1, n, d)
             for x in (q, k, v)]
        with torch.inference_mode():
            o = F.scaled_dot_product_attention(*T, is_causal=True)  # warm-up
            best = float("inf")
            for _ in range(a.reps):
                t = time.perf_counter()
                o = F.scaled_dot_product_attention(*T, is_causal=True)
                best = min(best, time.perf_counter() - t)
        diff = float("nan")
        if ref is not None:
            o64 = o.view(n, d).double().numpy()
            diff = float(np.max(np.abs(o64 - ref)) / max(np.max(np.abs(ref)), 1e-300))
        print(f"  n={n:6d}  {best:9.4f} s  inputs={src}  max rel diff vs subq {diff:.2e}")
        rows.append(f"{n},{d},{a.threads},{a.reps},{best:.6f},{src},{diff:.3e},"
                    f"{torch.__version__},{backend}")
    with open(out + ".tmp", "w") as f:
        f.write("\n".join(rows) + "\n")
    os.replace(out + ".tmp", out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
