"""Times the flyvis 1.2.0 (PyTorch, CPU) reference workload, for comparison with
`flyvis-ensemble bench` on the same machine. Prints one `name: median_ms` line per phase.

Workload (the same as ours): batch 4, a 25-step grey steady state without gradients,
40 movie frames forward with gradients, the backward; and one whole training iteration
(forward, DecoderGAVP, l2norm, backward, Adam step, activity-penalty SGD step, clamp).
"""
import argparse
import statistics
import time

import numpy as np
import torch


def median_ms(fn, reps):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--frames", type=int, default=40)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    from flyvis import Network
    from flyvis.task.decoder import DecoderGAVP
    from flyvis.task.objectives import l2norm

    net = Network()
    B, T, dt = args.batch, args.frames, 0.02
    rng = np.random.default_rng(0)
    lum = torch.tensor(rng.uniform(0.2, 0.8, size=(B, T, 1, 721)), dtype=torch.float32)
    target = torch.tensor(rng.normal(0, 0.1, size=(B, T, 2, 721)), dtype=torch.float32)

    def steady():
        with torch.no_grad():
            return net.steady_state(t_pre=0.5, dt=dt, batch_size=B, value=0.5)

    state = steady()

    def forward():
        net.stimulus.zero(B, T)
        net.stimulus.add_input(lum)
        return net(net.stimulus(), dt, state=state)

    central = torch.tensor(net.connectome.central_cells_index[:], dtype=torch.long)

    def backward_only():
        act = forward()
        loss = (act[:, :, central] ** 2).mean()
        t0 = time.perf_counter()
        loss.backward()
        return (time.perf_counter() - t0) * 1e3

    fwd_ms = median_ms(lambda: forward(), args.reps)
    bwd_times = [backward_only() for _ in range(args.reps + 1)][1:]
    bwd_ms = statistics.median(bwd_times)
    ss_ms = median_ms(steady, args.reps)

    # One whole training iteration, as MultiTaskSolver.train does it.
    decoder = DecoderGAVP(net.connectome, shape=[8, 2], kernel_size=5, const_weight=0.001,
                          n_out_features=None, p_dropout=0.5)
    optim = torch.optim.Adam([
        {"params": net.parameters(), "lr": 5e-5},
        {"params": decoder.parameters(), "lr": 5e-5},
    ])
    pen_optim = torch.optim.SGD([net.nodes_bias], lr=5e-5)
    n_frames = T

    def iteration():
        optim.zero_grad()
        act = forward()
        y = decoder(act)
        loss = l2norm(y, target)
        loss.backward(retain_graph=True)
        optim.step()
        # activity penalty on the same forward activity (flyvis's Penalty.activity_penalty)
        pen_optim.zero_grad()
        c = act[:, n_frames // 4:, central].mean(dim=1)
        pen = 0.1 * (((c - 5.0) * torch.where(c < 5.0, 1.0, 0.1)) ** 2).mean()
        pen.backward()
        pen_optim.step()
        net.clamp()
        decoder.zero_grad()

    def decode_only():
        act = forward().detach()
        t0 = time.perf_counter()
        y = decoder(act)
        l2norm(y, target).backward()
        return (time.perf_counter() - t0) * 1e3

    it_ms = median_ms(iteration, args.reps)
    dec_ms = statistics.median([decode_only() for _ in range(args.reps + 1)][1:])

    print(f"pytorch threads: {args.threads}")
    print(f"pytorch steady_state_25_ms: {ss_ms:.2f}")
    print(f"pytorch forward_{T}_ms: {fwd_ms:.2f}")
    print(f"pytorch backward_{T}_ms: {bwd_ms:.2f}")
    print(f"pytorch network_fwd_bwd_ms: {fwd_ms + bwd_ms:.2f}")
    print(f"pytorch decoder_fwd_bwd_ms: {dec_ms:.2f}")
    print(f"pytorch iteration_ms: {it_ms:.2f}")


if __name__ == "__main__":
    main()
