"""Writes Tests/Fixtures/flyvis-stimuli-e15.h5: stimuli made by flyvis 1.2.0 itself, for what
flyvis-responses-e15.h5 does not cover: edges rotated by angles that are not multiples of 90
degrees (PIL's bilinear rotation), the slowest default speed (long NaN padding), the "value"
and "reflect" post-padding modes, shuffled offsets, another dt, offsets beyond +-10, a narrow moving bar, and
flashes with other parameters.

Each group has the schema of flyvis-responses-e15.h5 (see /work/shared/reference/README.md):
`stimulus` (sample, frame, 1, 721) float32, `time` (frame), `sample_*` (sample) and the
dataset's parameters as `config_*` attributes, so the same tests read both files.

Usage (flyvis 1.2.0 and torch installed; flyvis renders for about half an hour on one core):
    FLYVIS_ROOT_DIR=/tmp/flyvis-data python scripts/make_stimulus_fixture.py OUT.h5
"""

import sys
import time

import h5py
import numpy as np
import torch

torch.set_num_threads(1)

from flyvis.datasets.flashes import Flashes  # noqa: E402
from flyvis.datasets.moving_bar import MovingBar, MovingEdge  # noqa: E402

EDGE_KEYS = ["angles", "bar_loc_horizontal", "dt", "height", "intensities", "offsets",
             "post_pad_mode", "shuffle_offsets", "speeds", "t_post", "t_pre", "widths"]


def write_group(f, name, dataset, config, columns):
    """One group as flyvis's generic_responses lays it out (stimulus is the dataset item)."""
    dataset.dt = config["dt"]  # what network.stimulus_response does first
    stimulus = np.stack([dataset[i].cpu().numpy() for i in range(len(dataset))])
    g = f.create_group(name)
    g.create_dataset("stimulus", data=stimulus[:, :, None, :].astype(np.float32),
                     compression="gzip", compression_opts=9, shuffle=True)
    n_frames = stimulus.shape[1]
    g["time"] = np.arange(n_frames).astype(float) * config["dt"] - config.get("t_pre", 0.0)
    for col in columns:
        g[f"sample_{col}"] = dataset.arg_df[col].values.astype(float)
    for key, value in config.items():
        if isinstance(value, str):
            g.attrs[f"config_{key}"] = value
        else:
            g.attrs[f"config_{key}"] = np.asarray(value, dtype=float)
    g.attrs["dims_stimulus"] = "sample,frame,channel,hex_pixel"
    print(name, stimulus.shape, flush=True)


def write_hex_eye(f):
    """HexEye(721, 25)'s float16 masks: each hexal's monitor pixels (row * 775 + column,
    ascending), hexal after hexal, and their counts."""
    from flyvis.datasets.rendering import HexEye

    eye = HexEye(721, 25)
    _, pixel = np.nonzero(eye.is_inside.cpu().numpy().T)
    g = f.create_group("hex_eye")
    g.create_dataset("pixel", data=pixel.astype(np.int32), compression="gzip", compression_opts=9, shuffle=True)
    g["kernel_sum"] = eye.kernel_sum.cpu().numpy().astype(np.int64)
    print("hex_eye", pixel.shape, flush=True)


def edge_config(dataset):
    c = dataset.config.to_dict()
    return {k: (c[k] if k != "offsets" else list(c[k])) for k in EDGE_KEYS}


def main(out):
    t0 = time.time()
    with h5py.File(out, "w") as f:
        f.attrs["generator"] = "flyvis 1.2.0 (Flashes, MovingEdge, MovingBar), scripts/make_stimulus_fixture.py"

        flashes = dict(dynamic_range=[0.2, 0.9], t_stim=0.3, t_pre=0.2, dt=1 / 100,
                       radius=[-1, 0, 3, 20], alternations=(0, 1, 0, 1, 0))
        write_group(f, "flashes", Flashes(**flashes), flashes, ["radius", "intensity"])

        columns = ["angle", "width", "intensity", "speed"]
        common = dict(angles=[30, 225], intensities=[0, 1], offsets=(-10, 11), height=80)
        variants = {
            "moving_edge": dict(speeds=[2.4, 25], post_pad_mode="continue", t_pre=1.0, t_post=1.0, dt=1 / 200),
            "moving_edge_value": dict(speeds=[4.8, 13], post_pad_mode="value", t_pre=0.5, t_post=0.3, dt=1 / 100),
            "moving_edge_reflect": dict(speeds=[9.7, 19], post_pad_mode="reflect", t_pre=0.25, t_post=0.2, dt=1 / 200),
            # The analysis rebuilds a dataset from its config, which has no seed: seed 0.
            "moving_edge_shuffled": dict(speeds=[19, 25], post_pad_mode="continue", t_pre=0.5, t_post=0.5, dt=1 / 200,
                                         shuffle_offsets=True),
        }
        for name, v in variants.items():
            ds = MovingEdge(**common, **v)
            write_group(f, name, ds, edge_config(ds), columns)
            print(f"{time.time() - t0:.0f} s", flush=True)

        wide = MovingEdge(angles=[0], intensities=[1], offsets=(-18, 19), height=80, speeds=[25],
                          post_pad_mode="continue", t_pre=1.0, t_post=1.0, dt=1 / 200)
        write_group(f, "moving_edge_wide", wide, edge_config(wide), columns)
        print(f"{time.time() - t0:.0f} s", flush=True)

        bar = MovingBar(widths=[4], angles=[60], intensities=[1], speeds=[13], height=9,
                        post_pad_mode="value", t_pre=0.5, t_post=0.5, dt=1 / 200)
        write_group(f, "moving_bar", bar, edge_config(bar), columns)
        write_hex_eye(f)
        print(f"done in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
