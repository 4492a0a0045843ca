#!/usr/bin/env python3
"""Checks that a checkpoint written by flyvis-swift is one flyvis can load, without torch.

Usage: check_flyvis_checkpoint.py OURS REFERENCE

OURS is a `chkpts/chkpt_NNNNN` we wrote; REFERENCE is one written by flyvis 1.2.0 for a model
of the same shapes (Tests/Fixtures/flyvis-results/...). Both are opened the way `torch.load`
opens them -- a zip archive with one top folder, `data.pkl` unpickled with `persistent_load`
resolving tensor storages from `data/<key>` -- using only the standard library and numpy.
Every key, type, dtype and shape that flyvis reads from the reference must be in ours; our
own extra keys are allowed. Exits non-zero, naming the first problem, otherwise prints a
one-line summary.
"""
import collections
import io
import pickle
import sys
import zipfile

import numpy as np

DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "LongStorage": np.int64,
          "IntStorage": np.int32, "ByteStorage": np.uint8, "BoolStorage": np.bool_, "HalfStorage": np.float16}


class Tensor:
    def __init__(self, array):
        self.array = array


class StorageType:
    def __init__(self, name):
        self.name = name


def load(path):
    """Returns the unpickled object with tensors as numpy arrays (like torch.load, CPU)."""
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
        if bad:
            raise SystemExit(f"{path}: record {bad} fails its CRC check")
        names = z.namelist()
        tops = {n.split("/")[0] for n in names}
        if len(tops) != 1:
            raise SystemExit(f"{path}: expected one top folder, found {sorted(tops)}")
        top = tops.pop()
        for required in ("data.pkl", "version"):
            if f"{top}/{required}" not in names:
                raise SystemExit(f"{path}: no {top}/{required}")
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise SystemExit(f"{path}: {info.filename} is compressed; torch writes stored entries")
        version = z.read(f"{top}/version").decode().strip()
        if version not in ("1", "2", "3"):
            raise SystemExit(f"{path}: serialization version {version!r}")
        if f"{top}/byteorder" in names and z.read(f"{top}/byteorder") != b"little":
            raise SystemExit(f"{path}: byteorder is not little")

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                    def rebuild(storage, offset, size, stride, requires_grad, hooks, *rest):
                        itemsize = storage.dtype.itemsize
                        a = np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                                            strides=[s * itemsize for s in stride])
                        return Tensor(np.array(a))
                    return rebuild
                if module == "torch" and name in DTYPES:
                    return StorageType(name)
                if (module, name) == ("collections", "OrderedDict"):
                    return collections.OrderedDict
                if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "scalar":
                    return lambda dtype, data: np.frombuffer(data, dtype=dtype)[0]
                if (module, name) == ("numpy", "dtype"):
                    return np.dtype
                if (module, name) == ("_codecs", "encode"):
                    return lambda text, enc: text.encode(enc)
                raise SystemExit(f"{path}: the pickle refers to {module}.{name}, which torch.load(weights_only) would refuse")

            def persistent_load(self, pid):
                kind, storage_type, key, location, numel = pid
                if kind != "storage" or not isinstance(storage_type, StorageType):
                    raise SystemExit(f"{path}: unexpected persistent id {pid!r}")
                record = f"{top}/data/{key}"
                if record not in names:
                    raise SystemExit(f"{path}: storage {record} is missing")
                dtype = DTYPES[storage_type.name]
                raw = z.read(record)
                if len(raw) < numel * np.dtype(dtype).itemsize:
                    raise SystemExit(f"{path}: storage {record} holds {len(raw)} bytes for {numel} elements")
                return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"), count=numel)

        return Unpickler(io.BytesIO(z.read(f"{top}/data.pkl"))).load()


def compare(ours, ref, where, counts):
    """Every key/type/dtype/shape of ref must be in ours."""
    if isinstance(ref, Tensor):
        if not isinstance(ours, Tensor):
            raise SystemExit(f"{where}: flyvis has a tensor, ours is {type(ours).__name__}")
        if ours.array.dtype != ref.array.dtype or ours.array.shape != ref.array.shape:
            raise SystemExit(f"{where}: ours {ours.array.dtype} {ours.array.shape}, flyvis {ref.array.dtype} {ref.array.shape}")
        counts["tensors"] += 1
    elif isinstance(ref, dict):
        if not isinstance(ours, dict):
            raise SystemExit(f"{where}: flyvis has a dict, ours is {type(ours).__name__}")
        for k, v in ref.items():
            if k not in ours:
                raise SystemExit(f"{where}: key {k!r} is missing (flyvis has {sorted(map(str, ref))})")
            counts["keys"] += 1
            compare(ours[k], v, f"{where}/{k}", counts)
    elif isinstance(ref, (list, tuple)):
        if not isinstance(ours, (list, tuple)) or len(ours) != len(ref):
            raise SystemExit(f"{where}: ours {ours!r}, flyvis {ref!r}")
        for i, (a, b) in enumerate(zip(ours, ref)):
            compare(a, b, f"{where}[{i}]", counts)
    elif isinstance(ref, (bool, np.bool_)) or ref is None:
        if ours != ref and not (ref is None and ours is None):
            raise SystemExit(f"{where}: ours {ours!r}, flyvis {ref!r}")
    elif isinstance(ref, (int, float, np.floating, np.integer)):
        # flyvis stores lr, val_loss and dt as numpy float64; Python floats load the same way.
        if not isinstance(ours, (int, float, np.floating, np.integer)) or isinstance(ours, bool):
            raise SystemExit(f"{where}: ours is {type(ours).__name__}, flyvis has a number")
    elif isinstance(ref, str):
        if not isinstance(ours, str):
            raise SystemExit(f"{where}: ours is {type(ours).__name__}, flyvis has a string")
    else:
        raise SystemExit(f"{where}: unexpected {type(ref).__name__} in the reference")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    ours, ref = load(sys.argv[1]), load(sys.argv[2])
    counts = {"keys": 0, "tensors": 0}
    compare(ours, ref, "checkpoint", counts)
    # flyvis's recover_* calls: strict load_state_dict of network and decoder need the same key sets.
    for key in ("network",):
        if set(ours[key]) != set(ref[key]):
            raise SystemExit(f"{key}: keys {sorted(ours[key])} differ from flyvis's {sorted(ref[key])}")
    for task in ref["decoder"]:
        if set(ours["decoder"][task]) != set(ref["decoder"][task]):
            raise SystemExit(f"decoder/{task}: keys differ from flyvis's")
    if set(ours["optim"]["state"]) != set(ref["optim"]["state"]):
        raise SystemExit(f"optim/state ids {sorted(ours['optim']['state'])} differ from flyvis's {sorted(ref['optim']['state'])}")
    extra = sorted(set(ours) - set(ref))
    print(f"check_flyvis_checkpoint: ok: {counts['keys']} keys and {counts['tensors']} tensors as flyvis writes them"
          + (f"; extra keys {extra}" if extra else ""))


if __name__ == "__main__":
    main()
