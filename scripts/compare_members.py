#!/usr/bin/env python3
"""Compares two trained members bit for bit: every HDF5 dataset of the results directory
(loss, activity, validation, ...; the wall-clock time_trained.h5 excepted) and every tensor
of every checkpoint (network, decoders). For kernel changes that must not change results:
train the same short member before and after, then

    .venv-bench/bin/python scripts/compare_members.py BEFORE/results/flow/0001/000 AFTER/results/flow/0001/000

Exit status 0 when everything is equal, 1 on any difference or missing file.
"""
import os
import sys

import h5py
import numpy as np
import torch


def datasets(root):
    """Relative paths of the member's HDF5 files, wall-clock times left out."""
    found = []
    for folder, _, files in os.walk(root):
        if os.path.relpath(folder, root).startswith("chkpts"):
            continue
        for name in files:
            if name.endswith(".h5") and not name.startswith("time_"):
                found.append(os.path.relpath(os.path.join(folder, name), root))
    return sorted(found)


def h5_equal(a, b):
    with h5py.File(a) as fa, h5py.File(b) as fb:
        names = []
        fa.visit(lambda n: names.append(n) if isinstance(fa[n], h5py.Dataset) else None)
        other = []
        fb.visit(lambda n: other.append(n) if isinstance(fb[n], h5py.Dataset) else None)
        if sorted(names) != sorted(other):
            return False
        return all(np.array_equal(fa[n][()], fb[n][()]) for n in names)


def tensors(state, prefix=""):
    """Flattens nested state dicts to {name: tensor}."""
    out = {}
    for key, value in state.items():
        if isinstance(value, dict):
            out.update(tensors(value, f"{prefix}{key}/"))
        elif isinstance(value, torch.Tensor):
            out[prefix + key] = value
    return out


def checkpoint_equal(a, b):
    ca, cb = torch.load(a, weights_only=False), torch.load(b, weights_only=False)
    ta = tensors({k: ca[k] for k in ("network", "decoder") if k in ca})
    tb = tensors({k: cb[k] for k in ("network", "decoder") if k in cb})
    return ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = sys.argv[1], sys.argv[2]
    differences = []
    files = datasets(a)
    if not files:
        sys.exit(f"compare_members: no HDF5 files in {a}: is it a member directory (results/<task>/<ensemble>/<member>)?")
    for rel in files:
        other = os.path.join(b, rel)
        if not os.path.exists(other) or not h5_equal(os.path.join(a, rel), other):
            differences.append(rel)
    chkpts = sorted(os.listdir(os.path.join(a, "chkpts"))) if os.path.isdir(os.path.join(a, "chkpts")) else []
    for name in chkpts:
        other = os.path.join(b, "chkpts", name)
        if not os.path.exists(other) or not checkpoint_equal(os.path.join(a, "chkpts", name), other):
            differences.append(f"chkpts/{name}")
    print(f"compared {len(files)} HDF5 files and {len(chkpts)} checkpoints")
    for rel in differences:
        print(f"DIFFERENT: {rel}")
    print("bit for bit equal" if not differences else f"{len(differences)} differ")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
