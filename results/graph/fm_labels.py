"""Write fm_labels_<n>.npy (n x 1 float64) with the first n Fashion-MNIST train labels into
DIR, for `subq cluster --labels=npy:...` (no numpy needed).  Usage: fm_labels.py DIR N..."""
import gzip
import struct
import sys

SRC = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"
labels = gzip.open(SRC).read()[8:]  # IDX1: magic, count, then one byte per label
for n in map(int, sys.argv[2:]):
    head = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, 1), }" % n
    head += " " * (64 - (10 + len(head) + 1) % 64) + "\n"
    with open("%s/fm_labels_%d.npy" % (sys.argv[1], n), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode())
        f.write(struct.pack("<%dd" % n, *labels[:n]))
