#!/usr/bin/env python3
"""PyTorch's CPU scaled_dot_product_attention (causal, fp32) against subq's exact
flash-style causal softmax attention on the same inputs, for results/polysketch/.  A
benchmark program only: never a build or test dependency, never run by CI.

Usage (from the repository root, after `BUILD_DIR=build tools/build.sh`):

    python3 -m venv /work/torchvenv && /work/torchvenv/bin/pip install torch numpy
    /work/torchvenv/bin/python tools/bench/torch_sdpa.py --subq=build/subq --n=32768
        [--threads=1] [--reps=3] [--subq-reps=2] [--d=64] [--inputs=DIR] [--out=CSV]

With --subq=BIN, for each n this runs, in one session: `BIN polysketch --bench
--precision=f32 --bench-n=N --save` (synthetic N(0, 1) tokens; writes
bench_{q,k,v,out_softmax}_n<N>.npy and bench.csv into a temporary directory), then PyTorch
on exactly those q, k, v, then subq once more (drift on a shared machine), and reports
subq's softmax time (the faster of the two subq runs, each the fastest of --subq-reps) over
PyTorch's (the fastest of --reps after one warm-up), by wall and by process CPU time, and
the largest difference of PyTorch's output from subq's, relative to max |subq output|;
also subq's polysketch time from the same runs (PyTorch's time over it).
Without --subq: --inputs=DIR reads those .npy files as written by `subq polysketch --bench
--save --out=DIR`, or, without them, q, k, v are N(0, 1) from numpy's default_rng(seed).
Threads: OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = --threads for subq, torch.set_num_threads
for PyTorch; OPENBLAS_CORETYPE is passed on to subq as set.  1/sqrt(d) scale, shape
(1, 1, n, d).

If torch cannot be imported by the interpreter running this script, it creates
tools/bench/.venv (git-ignored), pip-installs numpy and torch (+ --pip-args) there and
re-runs itself with that interpreter.
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
    try:
        import torch  # noqa: F401 - this interpreter already has it
        return
    except Exception:  # noqa: BLE001
        pass
    if not os.path.exists(VPY):
        print(f"creating {VENV}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([VPY, "-m", "pip", "install", "-q", "numpy"])
        subprocess.check_call([VPY, "-m", "pip", "install", "torch"] + pip_args.split())
    os.execv(VPY, [VPY] + sys.argv)


def run_subq(binary, n, d, reps, threads, tmp):
    """One `subq polysketch --bench` at n (f32, 1 rank): (wall s, CPU s) of the exact softmax,
    the bench.csv row (also polysketch's times); writes the inputs and subq's softmax output as .npy into tmp."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    cmd = [binary, "polysketch", "--bench", "--precision=f32", f"--bench-n={n}", f"--d={d}",
           f"--bench-reps={reps}", "--save", f"--out={tmp}"]
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    import csv
    row = next(csv.DictReader(open(os.path.join(tmp, "bench.csv"))))
    return float(row["t_softmax_s"]), float(row["cpu_softmax_s"]), row


def time_torch(T, reps):
    import torch.nn.functional as F
    import torch
    with torch.inference_mode():
        o = F.scaled_dot_product_attention(*T, is_causal=True)  # warm-up
        best, bestc = float("inf"), float("inf")
        for _ in range(reps):
            c, t = time.process_time(), time.perf_counter()
            o = F.scaled_dot_product_attention(*T, is_causal=True)
            best = min(best, time.perf_counter() - t)
            bestc = min(bestc, time.process_time() - c)
    return o, best, bestc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", default="", help="directory of bench_*_n<N>.npy from subq")
    ap.add_argument("--subq", default="", help="subq binary: time its softmax on the same inputs")
    ap.add_argument("--subq-reps", type=int, default=2, help="--bench-reps of each subq run")
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
    import tempfile
    import numpy as np
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - report why and stop
        sys.exit(f"torch_sdpa.py: cannot import torch with {sys.executable}: {e}")
    torch.set_num_threads(a.threads)
    out = a.out or os.path.join(HERE, "..", "..", "results", "polysketch",
                                f"torch_sdpa_cpu_{a.threads}thread_f32.csv")
    rows = ["n,d,threads,reps,t_torch_sdpa_s,cpu_torch_sdpa_s,inputs,"
            "max_rel_diff_vs_subq_softmax,t_subq_softmax_s,cpu_subq_softmax_s,"
            "subq_over_torch_wall,subq_over_torch_cpu,t_subq_polysketch_s,cpu_subq_polysketch_s,"
            "torch_over_polysketch_cpu,torch,backend,openblas_coretype"]
    backend = torch.backends.cpu.get_cpu_capability()
    core = os.environ.get("OPENBLAS_CORETYPE", "default")
    print(f"torch {torch.__version__} ({sys.executable}), {torch.get_num_threads()} thread(s), "
          f"cpu capability {backend}; OPENBLAS_CORETYPE={core}")
    tmpdir = tempfile.TemporaryDirectory(prefix="torch_sdpa_") if a.subq else None
    for n in [int(x) for x in a.n.split(",")]:
        src, ref, ts, tsc = "synthetic", None, float("nan"), float("nan")
        tp, tpc = float("nan"), float("nan")
        idir = a.inputs
        if a.subq:
            idir = os.path.join(tmpdir.name, f"n{n}")
            ts, tsc, row = run_subq(a.subq, n, a.d, a.subq_reps, a.threads, idir)
            tp, tpc = float(row["t_polysketch_s"]), float(row["cpu_polysketch_s"])
        qf = os.path.join(idir, f"bench_q_n{n}.npy") if idir else ""
        if qf and os.path.exists(qf):
            q, k, v = (np.load(os.path.join(idir, f"bench_{w}_n{n}.npy")) for w in "qkv")
            ref = np.load(os.path.join(idir, f"bench_out_softmax_n{n}.npy"))
            src = "subq"
        else:
            rng = np.random.default_rng(a.seed)
            q, k, v = (rng.standard_normal((n, a.d)) for _ in range(3))
        d = q.shape[1]
        T = [torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).view(1, 1, n, d)
             for x in (q, k, v)]
        o, best, bestc = time_torch(T, a.reps)
        if a.subq:  # again after PyTorch: the faster of the two subq runs
            ts2, tsc2, row = run_subq(a.subq, n, a.d, a.subq_reps, a.threads,
                                      os.path.join(tmpdir.name, f"n{n}b"))
            ts, tsc = min(ts, ts2), min(tsc, tsc2)
            tp, tpc = min(tp, float(row["t_polysketch_s"])), min(tpc, float(row["cpu_polysketch_s"]))
        diff = float("nan")
        if ref is not None:
            o64 = o.view(n, d).double().numpy()
            diff = float(np.max(np.abs(o64 - ref)) / max(np.max(np.abs(ref)), 1e-300))
        rw, rc = ts / best, tsc / bestc
        print(f"  n={n:6d}  torch {best:9.4f} s wall {bestc:9.4f} s CPU   subq softmax {ts:9.4f} s "
              f"wall {tsc:9.4f} s CPU   subq/torch {rw:6.3f} (wall) {rc:6.3f} (CPU)   inputs={src}  "
              f"max rel diff {diff:.2e}   subq polysketch {tpc:.4f} s CPU (torch/polysketch "
              f"{bestc / tpc:.2f})")
        rows.append(f"{n},{d},{a.threads},{a.reps},{best:.6f},{bestc:.6f},{src},{diff:.3e},"
                    f"{ts:.6f},{tsc:.6f},{rw:.4f},{rc:.4f},{tp:.6f},{tpc:.6f},{bestc / tpc:.4f},"
                    f"{torch.__version__},{backend},{core}")
    with open(out + ".tmp", "w") as f:
        f.write("\n".join(rows) + "\n")
    os.replace(out + ".tmp", out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
