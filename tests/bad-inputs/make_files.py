#!/usr/bin/env python3
"""Writes the bad-input corpus files into tests/bad-inputs/files/ (committed; rerun this
script after changing it).  Standard library only: .npy, IDX, CSV, gzip, KV dumps and INI
files are written byte by byte so that each file has exactly the defect its name says.

Each file is tiny.  Files whose defect sits in "the second half" of the rows are read by
rank 1 only at np = 2 (row blocks [0, 5) and [5, 10) of 10 rows), so the test also checks
that an error seen by one rank reaches every rank."""
import gzip
import hashlib
import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "files")


def w(name, data, mode="wb"):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def npy(descr, shape, payload, fortran=False, version=(1, 0), header=None):
    if header is None:
        sh = f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
        header = (f"{{'descr': '{descr}', 'fortran_order': {fortran}, "
                  f"'shape': {sh}, }}")
    pre = 10 if version[0] == 1 else 12
    header += " " * ((64 - (pre + len(header) + 1) % 64) % 64) + "\n"
    hb = header.encode("latin1")
    ln = struct.pack("<H", len(hb)) if version[0] == 1 else struct.pack("<I", len(hb))
    return b"\x93NUMPY" + bytes(version) + ln + hb + payload


def f8(vals):
    return struct.pack(f"<{len(vals)}d", *vals)


def f4(vals):
    return struct.pack(f"<{len(vals)}f", *vals)


def idx(magic_type, dims, payload, ndim=None):
    nd = len(dims) if ndim is None else ndim
    return bytes([0, 0, magic_type, nd]) + b"".join(struct.pack(">I", d) for d in dims) + payload


GOOD = [float(i % 7) + 0.25 * i for i in range(30)]  # 10 x 3, full column rank


def make_npy():
    w("npy/ok.npy", npy("<f8", (10, 3), f8(GOOD)))
    w("npy/bad_magic.npy", b"\x93NUMPX" + npy("<f8", (10, 3), f8(GOOD))[6:])
    w("npy/truncated_data.npy", npy("<f8", (10, 3), f8(GOOD))[:-16])
    w("npy/extra_data.npy", npy("<f8", (10, 3), f8(GOOD) + f8([1.0])))
    full = npy("<f8", (10, 3), f8(GOOD))
    w("npy/truncated_header.npy", full[:40])
    w("npy/version_4.npy", npy("<f8", (10, 3), f8(GOOD), version=(4, 0)))
    w("npy/big_endian.npy", npy(">f8", (10, 3), struct.pack(">30d", *GOOD)))
    w("npy/int64.npy", npy("<i8", (10, 3), struct.pack("<30q", *range(30))))
    w("npy/fortran_2d.npy", npy("<f8", (10, 3), f8(GOOD), fortran=True))
    w("npy/zero_rows.npy", npy("<f8", (0, 3), b""))
    w("npy/three_d.npy", npy("<f8", (2, 3, 4), f8([0.5 * i for i in range(24)])))
    w("npy/zero_cols.npy", npy("<f8", (10, 0), b""))
    w("npy/zero_d.npy", npy("<f8", (), f8([1.0]), header="{'descr': '<f8', 'fortran_order': False, 'shape': (), }"))
    nan = list(GOOD)
    nan[1] = float("nan")  # row 0: rank 0
    w("npy/nan_row0.npy", npy("<f8", (10, 3), f8(nan)))
    inf = list(GOOD)
    inf[28] = float("-inf")  # row 9: rank 1 at np = 2
    w("npy/inf_row9.npy", npy("<f8", (10, 3), f8(inf)))
    # float16 +inf (0x7c00) at row 7
    h = [0x3c00] * 30
    h[22] = 0x7C00
    w("npy/f16_inf_row7.npy", npy("<f2", (10, 3), struct.pack("<30H", *h)))
    w("npy/structured.npy", npy("", (10,), b"\0" * 80,
                                header="{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (10,), }"))
    w("npy/missing_shape.npy", npy("<f8", (10, 3), f8(GOOD),
                                   header="{'descr': '<f8', 'fortran_order': False, }"))
    w("npy/repeated_key.npy", npy("<f8", (10, 3), f8(GOOD),
                                  header="{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (10, 3), }"))
    w("npy/shape_overflow.npy", npy("<f8", (10, 3), f8(GOOD),
                                    header="{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"))
    w("npy/shape_negative.npy", npy("<f8", (10, 3), f8(GOOD),
                                    header="{'descr': '<f8', 'fortran_order': False, 'shape': (-10, 3), }"))
    w("npy/empty.npy", b"")
    w("npy/header_len_huge.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{}")
    w("npy/f32_overflow.npy", npy("<f8", (10, 3), f8(GOOD[:20] + [1e300] + GOOD[21:])))


def make_idx():
    px = bytes(range(40))  # 10 rows x 2 x 2
    w("idx/ok.idx", idx(0x08, (10, 2, 2), px))
    w("idx/bad_magic.idx", b"\x01\x02\x08\x03" + idx(0x08, (10, 2, 2), px)[4:])
    w("idx/truncated.idx", idx(0x08, (10, 2, 2), px[:-5]))
    w("idx/float_type.idx", idx(0x0D, (10, 2), struct.pack(">20f", *range(20))))
    w("idx/zero_rows.idx", idx(0x08, (0, 4), b""))
    w("idx/zero_dim.idx", idx(0x08, (10, 0), b""))
    w("idx/too_many_dims.idx", idx(0x08, (1,) * 20, b"\x01"))
    w("idx/header_only.idx", b"\x00\x00\x08")
    gz = gzip.compress(idx(0x08, (10, 2, 2), px), mtime=0)
    w("idx/truncated.idx.gz", gz[: len(gz) // 2])
    corrupt = bytearray(gz)
    for i in range(12, len(corrupt) - 8):
        corrupt[i] ^= 0x5A
    w("idx/corrupt.idx.gz", bytes(corrupt))


def make_csv():
    w("csv/ok.csv", "".join(f"{GOOD[3*i]},{GOOD[3*i+1]},{GOOD[3*i+2]}\n" for i in range(10)), "w")
    w("csv/ragged.csv", "1,2,3\n4,5,6\n7,8\n1,2,3\n", "w")
    w("csv/identical.csv", "0.5,-1,2\n" * 6, "w")
    w("csv/one_row.csv", "0.5,-1,2\n", "w")
    w("csv/header.csv", "a,b,c\n1,2,3\n4,5,6\n", "w")
    w("csv/nan_row8.csv", "".join(f"{i},{i+1},{'nan' if i == 8 else i+2}\n" for i in range(10)), "w")
    w("csv/empty_field.csv", "1,2,3\n4,,6\n", "w")
    w("csv/empty.csv", "\n  \n", "w")
    w("csv/overflow.csv", "1,2,3\n4,1e999,6\n", "w")
    w("csv/word.csv", "1,2,3\n4,five,6\n", "w")
    gz = gzip.compress(b"1,2,3\n" * 200, mtime=0)
    c = bytearray(gz)
    for i in range(12, len(c) - 8):
        c[i] ^= 0x33
    w("csv/corrupt.csv.gz", bytes(c))


def kv_dump(name, tamper=None, arrays=None, raw_meta=None):
    """A tiny valid KV dump (2 query heads, 1 KV head, 8 tokens, head_dim 4, float32,
    layer 0), modified by tamper(meta) / arrays(dict of name -> float list)."""
    d = os.path.join(OUT, "kv", name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    shapes = {"q": (2, 8, 4), "k": (1, 8, 4), "v": (1, 8, 4)}
    vals = {}
    for wch, sh in shapes.items():
        n = sh[0] * sh[1] * sh[2]
        vals[wch] = [((i * 37 + ord(wch)) % 17 - 8) / 8.0 for i in range(n)]
    if arrays:
        arrays(vals)
    meta = {"model": "tiny-test", "dtype": "float32", "layers": [0], "n_q_heads": 2,
            "n_kv_heads": 1, "gqa": [0, 0], "head_dim": 4, "tokens": 8, "rope_base": 10000.0,
            "files": {}}
    for wch, sh in shapes.items():
        data = npy("<f4", sh, f4(vals[wch]))
        fn = f"{wch}_L0.npy"
        with open(os.path.join(d, fn), "wb") as f:
            f.write(data)
        meta["files"][f"{wch}_L0"] = {"file": fn, "shape": list(sh),
                                      "sha256": hashlib.sha256(data).hexdigest()}
    if tamper:
        tamper(meta, d)
    with open(os.path.join(d, "meta.json"), "w") as f:
        f.write(raw_meta if raw_meta is not None else json.dumps(meta, indent=1))


def make_kv():
    kv_dump("ok")
    kv_dump("bad_json", raw_meta='{"model": "tiny-test", "dtype": "float32",, }')
    kv_dump("not_object", raw_meta="[1, 2, 3]")
    kv_dump("missing_tokens", lambda m, d: m.pop("tokens"))
    kv_dump("gqa_out_of_range", lambda m, d: m.update(gqa=[0, 3]))
    kv_dump("heads_not_multiple", lambda m, d: m.update(n_kv_heads=3))

    def shape_mismatch(m, d):
        m["files"]["k_L0"]["shape"] = [1, 8, 5]
    kv_dump("shape_mismatch", shape_mismatch)

    def sha(m, d):
        m["files"]["v_L0"]["sha256"] = "0" * 64
    kv_dump("sha_mismatch", sha)

    def escape(m, d):
        m["files"]["q_L0"]["file"] = "../ok/q_L0.npy"
    kv_dump("path_escape", escape)

    def nan_q(v):
        v["q"][6 * 4 + 1] = float("nan")  # head 0, token 6: rank 1 at np = 2
    kv_dump("nan_token6", arrays=nan_q)

    def dtype(m, d):
        m["dtype"] = "float16"
    kv_dump("dtype_mismatch", dtype)

    def missing_file(m, d):
        os.remove(os.path.join(d, "v_L0.npy"))
    kv_dump("missing_array", missing_file)
    kv_dump("no_meta", lambda m, d: None)
    os.remove(os.path.join(OUT, "kv", "no_meta", "meta.json"))
    kv_dump("tokens_string", lambda m, d: m.update(tokens="8"))
    kv_dump("layers_dup", lambda m, d: m.update(layers=[0, 0]))
    w("kv/not_a_dir", "this is a file, not a KV dump directory\n", "w")


def make_ini():
    w("ini/syntax.ini", "[levscores]\ndata = synthetic:gauss:20,3\nthis line has no equals sign\n", "w")
    w("ini/unknown_key.ini", "[levscores]\ndata = synthetic:gauss:20,3\nmethd = qr\n", "w")
    w("ini/bad_value.ini", "[levscores]\ndata = synthetic:gauss:20,3\nridge = lots\n", "w")
    w("ini/out_of_range.ini", "[common]\nseed = -5\n[levscores]\ndata = synthetic:gauss:20,3\n", "w")
    w("ini/suite_no_jobs.ini", "[suite]\n[levscores]\ndata = synthetic:gauss:20,3\n", "w")
    w("ini/suite_empty_jobs.ini", "[suite]\njobs = ,\n", "w")
    w("ini/suite_unknown_job.ini", "[suite]\njobs = levscores, nosuchjob\n[levscores]\ndata = synthetic:gauss:20,3\n", "w")
    w("ini/suite_self.ini", "[suite]\njobs = suite\n", "w")
    w("ini/suite_second_fails.ini",
      "[suite]\njobs = levscores, polysketch\n[levscores]\ndata = synthetic:gauss:20,3\n"
      "[polysketch]\nn = 16\nd = 4\nr = 4\np = 3\n", "w")
    w("ini/unterminated_section.ini", "[levscores\ndata = synthetic:gauss:20,3\n", "w")
    w("ini/binary.ini", b"\x00\x01\x02[levscores]\x00\ndata\x00=\x01\n")
    # misspelled section, [common] / top-level keys no job knows, a typo in another job's section
    w("ini/unknown_section.ini", "[levscroes]\ndata = synthetic:gauss:20,3\n", "w")
    w("ini/unknown_common_key.ini", "[common]\nsed = 7\n[levscores]\ndata = synthetic:gauss:20,3\n", "w")
    w("ini/unknown_top_key.ini", "porgress = 1\n[levscores]\ndata = synthetic:gauss:20,3\n", "w")
    w("ini/other_job_typo.ini", "[levscores]\ndata = synthetic:gauss:20,3\n[kde]\nbandwith = 2\n", "w")
    w("ini/common_other_job_key.ini", "[common]\nbandwidth = 2\n[levscores]\ndata = synthetic:gauss:20,3\n", "w")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    make_npy()
    make_idx()
    make_csv()
    make_kv()
    make_ini()
    return 0


if __name__ == "__main__":
    sys.exit(main())
