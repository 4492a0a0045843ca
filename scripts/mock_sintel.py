#!/usr/bin/env python3
"""Writes a small stand-in for MPI Sintel in Sintel's own layout, for timing flyvis's and our
trainers on identical files (Sintel itself cannot be downloaded here):

    <out>/training/final/<scene>/frame_0001.png ...   RGB, 436 x 1024 like Sintel
    <out>/training/flow/<scene>/frame_0001.flo ...    Middlebury .flo, one fewer than frames

Each scene is a smooth random texture drifting at its own constant velocity, so the flow
files are the true motion. Deterministic in --seed. Needs numpy and Pillow.
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image

HEIGHT, WIDTH = 436, 1024


def texture(rng, height, width):
    """A smooth grey-level texture in [0, 1]: random noise blurred by a few box passes."""
    x = rng.random((height, width))
    for _ in range(3):
        x = (np.roll(x, 1, 0) + x + np.roll(x, -1, 0)) / 3
        x = (np.roll(x, 1, 1) + x + np.roll(x, -1, 1)) / 3
    x -= x.min()
    return x / max(x.max(), 1e-9)


def write_flo(path, u, v):
    with open(path, "wb") as f:
        np.array([202021.25], dtype="<f4").tofile(f)
        np.array([u.shape[1], u.shape[0]], dtype="<i4").tofile(f)
        np.stack([u, v], axis=-1).astype("<f4").tofile(f)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--scenes", type=int, default=8)
    p.add_argument("--frames", type=int, default=11)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    margin = 4 * a.frames
    for s in range(a.scenes):
        scene = f"mock_{s:02d}"
        final = a.out / "training" / "final" / scene
        flow = a.out / "training" / "flow" / scene
        final.mkdir(parents=True, exist_ok=True)
        flow.mkdir(parents=True, exist_ok=True)
        big = texture(rng, HEIGHT + 2 * margin, WIDTH + 2 * margin)
        du, dv = (int(d) for d in rng.integers(-3, 4, size=2))
        for k in range(a.frames):
            y0, x0 = margin - k * dv, margin - k * du
            grey = big[y0:y0 + HEIGHT, x0:x0 + WIDTH]
            rgb = (np.stack([grey, 0.9 * grey, 0.8 * grey], axis=-1) * 255).astype(np.uint8)
            Image.fromarray(rgb).save(final / f"frame_{k + 1:04d}.png")
            if k + 1 < a.frames:
                write_flo(flow / f"frame_{k + 1:04d}.flo",
                          np.full((HEIGHT, WIDTH), du, np.float32), np.full((HEIGHT, WIDTH), dv, np.float32))
    print(f"mock Sintel: {a.scenes} scenes x {a.frames} frames in {a.out}")


if __name__ == "__main__":
    main()
