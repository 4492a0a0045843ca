"""Times flyvis 1.2.0's stimulus-response analysis (PyTorch, CPU), for comparison with
`flyvis-ensemble bench --workload responses` in the same run. Prints `name: value` lines.

- responses_ms: `Network.stimulus_response` (a batch-1 grey steady state of 1 s, then the
  samples in batches of 4, as `moving_edge_responses` runs it) on the reference file's moving
  edges (4 angles x 2 speeds x 2 intensities, 16 samples). The stimuli come from the file, so
  rendering is excluded, as with a warm rendering cache.
- render_s: rendering one angle-intensity set of `moving_edge_responses`'s default moving
  edges (angle 0, intensity 1, the six default speeds) into an empty renderings folder.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=1, help="timed runs (each takes minutes on a CPU)")
    p.add_argument("--member", required=True, help="flyvis network directory (e.g. .../flow/9995/000)")
    p.add_argument("--responses", required=True, help="flyvis-responses-e15.h5")
    p.add_argument("--skip-render", action="store_true")
    args = p.parse_args()
    # flyvis resolves its renderings folder at import: give it an empty one.
    render_root = tempfile.mkdtemp(prefix="flyvis-bench-render-")
    os.environ["FLYVIS_ROOT_DIR"] = render_root

    import h5py
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    import flyvis
    from flyvis.datasets.datasets import SequenceDataset

    with h5py.File(args.responses, "r") as f:
        g = f["moving_edge"]
        stimulus = g["stimulus"][:, :, 0, :]  # (sample, frame, hexal)
        dt = float(g.attrs["config_dt"])

    class Stored(SequenceDataset):
        """The file's rendered stimuli as a flyvis dataset (the rendering cache, in memory)."""

        def __init__(self, movies, dt):
            self.movies = torch.tensor(movies)
            self.dt = dt
            self.t_pre = 0.0
            self.t_post = 0.0
            import pandas as pd

            self.arg_df = pd.DataFrame({"sample": range(len(movies))})

        def __len__(self):
            return len(self.movies)

        def __getitem__(self, i):
            return self.movies[i]

    network = flyvis.NetworkView(os.path.abspath(args.member)).init_network(checkpoint="best")
    data = Stored(stimulus, dt)

    def responses():
        with torch.no_grad():
            out = [r for _, r in network.stimulus_response(data, dt, t_pre=1.0, batch_size=4)]
        return np.concatenate(out)

    # No separate warm-up: one run takes minutes, start-up costs are noise against it.
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        out = responses()
        times.append((time.perf_counter() - t0) * 1e3)
        assert out.shape[:2] == stimulus.shape[:2], out.shape
    print(f"pytorch_responses_ms: {statistics.median(times):.2f}")
    print(f"pytorch_responses_samples: {len(stimulus)}")
    sys.stdout.flush()

    if not args.skip_render:
        from flyvis.datasets.moving_bar import MovingEdge

        t0 = time.perf_counter()
        MovingEdge(offsets=(-10, 11), intensities=[1], speeds=[2.4, 4.8, 9.7, 13, 19, 25], height=80,
                   post_pad_mode="continue", dt=dt, t_pre=1.0, t_post=1.0, angles=[0], device="cpu")
        print(f"pytorch_render_s: {time.perf_counter() - t0:.2f}")


if __name__ == "__main__":
    main()
