"""Reads a flyvis-swift network directory with h5py and PyYAML, as flyvis's own tools would:
every key file holds one dataset named `data`, and `_meta.yaml` holds the config."""
import sys
from pathlib import Path

import h5py
import yaml

netdir = Path(sys.argv[1])
with h5py.File(netdir / "loss.h5", "r") as f:
    assert list(f.keys()) == ["data"], list(f.keys())
    loss = f["data"][:]
    assert loss.dtype.kind == "f" and loss.ndim == 1 and len(loss) > 0
with h5py.File(netdir / "validation" / "loss.h5", "r") as f:
    val = f["data"][:]
with h5py.File(netdir / "chkpt_index.h5", "r") as f:
    assert len(f["data"][:]) == len(val)
with h5py.File(netdir / "best_chkpt_index.h5", "r") as f:
    assert f["data"].shape == ()
meta = yaml.safe_load((netdir / "_meta.yaml").read_text())
assert meta["config"]["type"] == "NetworkDir", meta["config"].get("type")
assert meta["status"] == "done"
assert meta["config"]["task"]["dataset"]["dt"] == 0.02
# Post-training validation (what flyvis's EnsembleView.task_error reads).
for name in ("epe", "l2norm"):
    with h5py.File(netdir / "validation" / f"{name}.h5", "r") as f:
        assert f["data"].shape == (len(val),), (name, f["data"].shape)
print(f"h5py check ok: {len(loss)} iterations, {len(val)} checkpoints, meta type {meta['config']['type']}")
