#!/usr/bin/env python3
"""Writes what flyvis itself reports for an ensemble directory, as the expected values of our
ranking test: EnsembleView(ens).task_error() (each member's task error, flyvis's
min_validation_losses over validation/epe), the order argsort gives, and each member's best
checkpoint by best_checkpoint_default_fn with EnsembleView's defaults.

Usage (with flyvis 1.2.0 installed, e.g. the .venv-bench interpreter):
    python scripts/flyvis_task_error.py Tests/Fixtures/flyvis-ensemble-4/flow/0001 \
        Tests/Fixtures/flyvis-ensemble-4/expected.json
"""
import json
import pathlib
import re
import sys

ensemble = pathlib.Path(sys.argv[1]).resolve()
out = pathlib.Path(sys.argv[2])
# flyvis reads FLYVIS_ROOT_DIR at import and caches connectomes there: a scratch directory,
# so that nothing is written beside the fixture.
import os
import shutil
import tempfile
scratch = tempfile.mkdtemp(prefix="flyvis-task-error-")
os.environ["FLYVIS_ROOT_DIR"] = scratch

from flyvis import EnsembleView  # noqa: E402
from flyvis.utils.chkpt_utils import best_checkpoint_default_fn  # noqa: E402

view = EnsembleView(ensemble)
error = view.task_error()
names = list(view.keys())
best = []
for name in names:
    path = best_checkpoint_default_fn(view[name].dir.path, **view[name].best_checkpoint_fn_kwargs)
    best.append(int(re.findall(r"\d{1,10}", pathlib.Path(path).name)[0]))
result = {
    "flyvis_version": __import__("flyvis").__version__ if hasattr(__import__("flyvis"), "__version__") else "1.2.0",
    "ensemble": str(ensemble.relative_to(ensemble.parent.parent)),
    "members": [pathlib.Path(n).name for n in names],
    "task_error": [float(v) for v in error.values],
    "argsort": [int(i) for i in view.argsort()],
    "best_checkpoint": best,
}
out.write_text(json.dumps(result, indent=2) + "\n")
# datamate leaves a __cache__ folder in every directory it opened.
for cache in ensemble.rglob("__cache__"):
    shutil.rmtree(cache)
shutil.rmtree(scratch, ignore_errors=True)
print(json.dumps(result, indent=2))
