#!/usr/bin/env python3
"""Opens an ensemble trained by flyvis-swift with flyvis itself (needs flyvis 1.2.0 and torch,
e.g. the .venv-bench that scripts/bench-reference.sh makes):

    .venv-bench/bin/python scripts/flyvis_open.py <root>/results/flow/0001

For each member: NetworkView(dir).init_network(checkpoint="best") (torch.load of our
checkpoint, strict load_state_dict), and a simulation of a short grey-to-flash stimulus; then
EnsembleView(ensemble).task_error(), which reads validation/epe.h5 of every member.
"""
import sys
from pathlib import Path

import torch
from flyvis import EnsembleView, NetworkView

ens = Path(sys.argv[1]).resolve()
members = sorted(p for p in ens.iterdir() if (p / "chkpts").is_dir())
if not members:
    raise SystemExit(f"{ens}: no member directories with chkpts/")
for m in members:
    view = NetworkView(m)
    network = view.init_network(checkpoint="best")
    decoder = view.init_decoder(checkpoint="best")
    chkpt = torch.load(sorted((m / "chkpts").iterdir())[-1], map_location="cpu", weights_only=False)
    bias = network.state_dict()["nodes_bias"]
    print(f"{m.name}: init_network(best) and init_decoder(best) ok, {sum(p.numel() for p in network.parameters())} network "
          f"parameters, decoders {sorted(decoder)}, nodes_bias[:3] {bias[:3].tolist()}, checkpoint keys {sorted(chkpt)}")
ev = EnsembleView(ens)
te = ev.task_error()
print(f"EnsembleView({ens.name}).task_error(): {len(te.values)} members, values {list(map(float, te.values))}")
