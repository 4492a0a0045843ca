"""Checks an ensemble's stimulus responses and tuning indices with h5py and numpy only.

    python3 scripts/check_responses.py ENSEMBLE_DIR [--members 000,001,...]
    python3 scripts/check_responses.py --reference Tests/Fixtures/flyvis-responses-e15.h5

The first form reads `<ens>/responses/{flashes,moving_edge,tuning}.h5` (written by
`flyvis-ensemble responses <ens>`) and checks:
- shapes, dtypes and dims attributes; coordinates equal between the files (member,
  checkpoint, cells); the members equal the member directories run (every `<ens>/NNN` with
  `_meta.yaml`, or --members), each named checkpoint exists under `chkpts/`; tuning.txt names
  every member;
- the time axis is flyvis's k*dt - t_pre exactly (the FRI window's edge frame depends on it);
- NaN: none in flash responses; in moving-edge responses only as whole trailing frames (padding
  to the slowest edge) and never inside a DSI time mask; none in FRI, DSI or direction;
- every tuning index recomputed from the central cells' (u = v = 0) responses equals
  tuning.h5 within 1e-5 (NaN equal to NaN), and tuning.h5 holds the indices of exactly the
  stimuli that were run.
The second form runs the same index functions on flyvis 1.2.0's own analysis
of one model and compares them with the indices flyvis stored there. Exit status 1 and one line
per problem on any failure.

The index functions are an independent numpy statement of flyvis 1.2.0's formulas
(`flyvis.analysis.flash_responses`, `flyvis.analysis.moving_bar_responses`), written from the
formulas, not by calling flyvis. The subtleties that decide which numbers come out:
- FRI window: frames with -dt <= time <= t_stim, compared in float64 on the stored time. With
  time = k*dt - t_pre the nominal -dt frame falls just below -dt and is left out.
- FRI shift: every response at that radius (both intensities, window frames) is raised by
  |min| (not by -min: a positive minimum raises it further); NaN frames are skipped.
- DSI masks: per speed, frames with t_start <= time <= t_end, the edge passing the columns
  offsets[0]*2.25/5.8 .. (offsets[1]-1)*2.25/5.8 + 2.25/5.8 (one LED added on the far side).
  Outside the mask the response counts as 0, inside it is rectified; NaN frames are skipped.
- DSI normalisation: the sum of |peak| over angles, maximised over intensities (one
  denominator shared by ON and OFF edges), + 1e-15; then the mean over widths and speeds.
- Preferred direction: the angle of the vector sum over angles, widths and speeds together,
  compared modulo 2*pi and only where that sum is more than rounding noise.
- Correlations: Pearson (population moments) over the known cell types: polarity != 0 for
  the FRI (R1-R8 included), the 18 types of known_dsi_types for the DSI (max over intensity,
  1 for T4/T5, 0 for the rest).
"""
from __future__ import annotations

import argparse
import contextlib
import re
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np

TOLERANCE = 1e-5


@contextlib.contextmanager
def quiet():
    """All-NaN slices and 0/0 give NaN, as in flyvis; no warnings about them."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield

# -- flyvis 1.2.0's ground truth (flyvis.utils.groundtruth_utils) --------------------------

# `polarity`: 1 ON, -1 OFF, 0 unknown; only the nonzero entries enter the FRI correlation.
POLARITY = {
    "R1": 1, "R2": 1, "R3": 1, "R4": 1, "R5": 1, "R6": 1, "R7": 1, "R8": 1,
    "L1": -1, "L2": -1, "L3": -1, "L4": -1, "L5": 1,
    "C3": 1, "CT1(Lo1)": -1, "CT1(M10)": 1, "Mi1": 1, "Mi4": 1, "Mi9": -1,
    "T4a": 1, "T4b": 1, "T4c": 1, "T4d": 1, "T5a": -1, "T5b": -1, "T5c": -1, "T5d": -1,
    "Tm1": -1, "Tm2": -1, "Tm3": 1, "Tm4": -1, "Tm9": -1,
}
# `no_motion_tuning` and `motion_tuning`; together `known_dsi_types`.
NO_MOTION_TUNING = ["Tm1", "Tm2", "Tm4", "Tm9", "CT1(Lo1)", "Mi1", "Tm3", "Mi4", "Mi9", "CT1(M10)"]
MOTION_TUNING = ["T5a", "T5b", "T5c", "T5d", "T4a", "T4b", "T4c", "T4d"]
# `preferred_directions`, degrees; T4 is taken at intensity 1, T5 at intensity 0.
PREFERRED_DIRECTIONS = {"T4a": 180, "T4b": 0, "T4c": 90, "T4d": 270,
                        "T5a": 180, "T5b": 0, "T5c": 90, "T5d": 270}


# -- flash response index -------------------------------------------------------------------

def flash_response_index(responses, radius, intensity, time, r, dt, t_stim,
                         on_intensity=1.0, off_intensity=0.0):
    """FRI per cell at flash radius r; responses (sample, frame, cell) float32."""
    window = (time >= -dt) & (time <= t_stim)
    at_radius = radius == r
    on = np.flatnonzero(at_radius & (intensity == on_intensity))
    off = np.flatnonzero(at_radius & (intensity == off_intensity))
    if len(on) != 1 or len(off) != 1:
        raise ValueError(f"radius {r}: need one ON and one OFF flash, found {len(on)} and {len(off)}")
    if not window.any():
        raise ValueError(f"no frame with {-dt} <= time <= {t_stim}")
    windowed = responses[:, window, :].astype(np.float32)
    with quiet():
        shift = np.abs(np.nanmin(windowed[at_radius], axis=(0, 1)))
        on_peak = np.nanmax(windowed[on[0]] + shift, axis=0)
        off_peak = np.nanmax(windowed[off[0]] + shift, axis=0)
        # Difference and sum in float32, the sum widened before the 1e-16, the quotient
        # rounded back to float32 (flyvis divides a float32 array in place).
        quotient = (on_peak - off_peak).astype(np.float64) / ((on_peak + off_peak).astype(np.float64) + 1e-16)
    return quotient.astype(np.float32).astype(np.float64)


# -- moving edges -----------------------------------------------------------------------------

def time_masks(speed, time, offsets):
    """(sample, frame) boolean: the frames in which the edge crosses the central columns."""
    start, end = float(offsets[0]), float(offsets[1])
    from_column = start * 2.25 / 5.8
    to_column = (end - 1) * 2.25 / 5.8 + 2.25 / 5.8
    start_column = start * 2.25 / 5.8
    end_column = end * 2.25 / 5.8
    if abs(start_column) < abs(from_column) or abs(end_column) < abs(to_column):
        raise ValueError(f"offsets {offsets} do not cover the central columns")
    masks = np.zeros((len(speed), len(time)), dtype=bool)
    for i, s in enumerate(speed):
        t_start = (abs(start_column) - abs(from_column)) / s
        t_end = t_start + (to_column - from_column) / s
        masks[i] = (time >= t_start) & (time <= t_end)
    return masks


def peak_responses(responses, speed, time, offsets):
    """(sample, cell) float32: the largest rectified response inside each sample's mask."""
    masks = time_masks(speed, time, offsets)
    masked = np.where(masks[:, :, None], responses.astype(np.float32), np.float32(0))
    with quiet():
        return np.nanmax(np.maximum(masked, np.float32(0)), axis=1)


def _grid(angle, width, intensity, speed):
    """Unique sorted values per parameter and each sample's index into the grid."""
    axes = [np.unique(a) for a in (angle, width, intensity, speed)]
    index = [np.searchsorted(u, a) for u, a in zip(axes, (angle, width, intensity, speed))]
    keys = set(zip(*[i.tolist() for i in index]))
    if len(keys) != len(angle):
        raise ValueError("repeated (angle, width, intensity, speed) sample")
    return axes, index


def angular_view(responses, angle, width, intensity, speed, time, offsets):
    """Peaks on the grid (cell, angle, width, intensity, speed) as complex vectors, NaN where
    the grid has no sample; and the grid's intensities."""
    peaks = peak_responses(responses, speed, time, offsets)
    (angles, widths, intensities, speeds), (ia, iw, ii, isp) = _grid(angle, width, intensity, speed)
    view = np.full((peaks.shape[1], len(angles), len(widths), len(intensities), len(speeds)),
                   np.nan, dtype=np.complex128)
    phase = np.exp(1j * np.deg2rad(angles))
    for s in range(len(angle)):
        view[:, ia[s], iw[s], ii[s], isp[s]] = peaks[s].astype(np.float64) * phase[ia[s]]
    return view, intensities


def direction_selectivity_index(responses, angle, width, intensity, speed, time, offsets):
    """DSI (cell, intensity) and the intensities."""
    view, intensities = angular_view(responses, angle, width, intensity, speed, time, offsets)
    length = np.abs(np.nansum(view, axis=1))                       # (cell, width, intensity, speed)
    norm = np.nansum(np.abs(view), axis=1).max(axis=2, keepdims=True)
    dsi = length / (norm + 1e-15)
    return np.nanmean(dsi, axis=(1, 3)), intensities


def preferred_direction(responses, angle, width, intensity, speed, time, offsets):
    """Angle (radians) of the vector sum over angles, widths and speeds; (cell, intensity).
    Also the sum's length relative to the summed magnitudes: where that is at rounding level
    (a cell without direction preference), the angle is noise that differs between correct
    implementations, so the ensemble check compares angles only where it exceeds 1e-6."""
    view, intensities = angular_view(responses, angle, width, intensity, speed, time, offsets)
    total = np.nansum(view, axis=(1, 2, 4))
    with quiet():
        relative = np.abs(total) / np.nansum(np.abs(view), axis=(1, 2, 4))
    return np.angle(total), np.nan_to_num(relative), intensities


# -- correlations -----------------------------------------------------------------------------

def pearson(a, b):
    """Pearson correlation over the pairs where both are finite; NaN when either is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    valid = ~(np.isnan(a) | np.isnan(b))
    a, b = a[valid], b[valid]
    if len(a) == 0:
        return float("nan")
    da, db = a - a.mean(), b - b.mean()
    with quiet():
        return float(np.mean(da * db) / (np.sqrt(np.mean(da * da)) * np.sqrt(np.mean(db * db))))


def fri_correlation_to_known(fri, cell_types):
    cell_types = list(cell_types)
    for t in POLARITY:
        if cell_types.count(t) != 1:
            raise ValueError(f"cell type {t} appears {cell_types.count(t)} times; need exactly once")
    return pearson([fri[cell_types.index(t)] for t in POLARITY], list(POLARITY.values()))


def dsi_correlation_to_known(dsi, cell_types):
    """dsi: (cell, intensity) with two intensities."""
    if dsi.shape[1] != 2:
        raise ValueError(f"the DSI correlation needs two intensities, found {dsi.shape[1]}")
    known = set(NO_MOTION_TUNING) | set(MOTION_TUNING)
    rows = [i for i, t in enumerate(cell_types) if t in known]
    with quiet():
        values = np.nanmax(dsi[rows], axis=1)
    return pearson(values, [1.0 if cell_types[i] in MOTION_TUNING else 0.0 for i in rows])


def angle_distance(a, b):
    a, b = a % (2 * np.pi), b % (2 * np.pi)
    d = abs(a - b)
    return 2 * np.pi - d if d > np.pi else d


def angular_distance_to_known(pd, cell_types, intensities):
    """Distances (T4a-d at intensity 1, then T5a-d at intensity 0) to the known directions."""
    cell_types = list(cell_types)
    out = []
    for family, level in (("T4", 1.0), ("T5", 0.0)):
        column = np.flatnonzero(np.isclose(intensities, level))
        if len(column) != 1:
            raise ValueError(f"no intensity {level} for {family}")
        for sub in "abcd":
            t = family + sub
            out.append(angle_distance(pd[cell_types.index(t), column[0]], np.deg2rad(PREFERRED_DIRECTIONS[t])))
    return np.array(out)


# -- reading -----------------------------------------------------------------------------------

def strings(dataset):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in dataset[()]]


def radius_key(r):
    return f"fri_radius_{int(r) if float(r).is_integer() else r}"


class Problems:
    def __init__(self):
        self.lines = []

    def add(self, message):
        self.lines.append(message)

    def compare(self, name, ours, stored, tolerance=TOLERANCE):
        ours = np.asarray(ours, dtype=np.float64)
        stored = np.asarray(stored, dtype=np.float64)
        if ours.shape != stored.shape or ours.size == 0:
            self.add(f"{name}: shape {stored.shape} stored, {ours.shape} recomputed")
            return float("inf")
        nan_mismatch = np.isnan(ours) != np.isnan(stored)
        if nan_mismatch.any():
            self.add(f"{name}: NaN in {int(nan_mismatch.sum())} places where the other has a number")
            return float("inf")
        both = ~np.isnan(ours)
        worst = float(np.max(np.abs(ours[both] - stored[both]))) if both.any() else 0.0
        if worst > tolerance:
            self.add(f"{name}: max |recomputed - stored| = {worst:.3g} > {tolerance:g}")
        return worst


# -- reference mode ------------------------------------------------------------------------------

def check_reference(path, report=print):
    """Our numpy indices against the ones flyvis 1.2.0 stored in the responses fixture."""
    p = Problems()
    with h5py.File(path, "r") as f:
        fl = f["flashes"]
        r = fl["responses"][0]
        cell_types = strings(fl["cell_type"])
        dt, t_stim = float(fl.attrs["config_dt"]), float(fl.attrs["config_t_stim"])
        fris = {}
        for rad in np.unique(fl["sample_radius"][()]):
            fris[rad] = flash_response_index(r, fl["sample_radius"][()], fl["sample_intensity"][()],
                                             fl["time"][()], rad, dt, t_stim)
            w = p.compare(radius_key(rad), fris[rad], fl[radius_key(rad)][()])
            report(f"reference: {radius_key(rad)} max diff {w:.2e}")
        w = p.compare("fri_correlation_to_known", fri_correlation_to_known(fris[6.0], cell_types),
                      fl["fri_correlation_to_known"][()].reshape(()))
        report(f"reference: fri_correlation_to_known max diff {w:.2e}")

        me = f["moving_edge"]
        r = me["responses"][0]
        args = [me[f"sample_{k}"][()] for k in ("angle", "width", "intensity", "speed")]
        offsets = me.attrs["config_offsets"]
        dsi, intensities = direction_selectivity_index(r, *args, me["time"][()], offsets)
        w = p.compare("dsi", dsi, me["dsi"][()])
        report(f"reference: dsi max diff {w:.2e}")
        p.compare("dsi intensities", intensities, me["dsi_intensity"][()], 0.0)
        pd, _, _ = preferred_direction(r, *args, me["time"][()], offsets)
        stored_pd = me["preferred_direction"][0]
        tuned = me["dsi"][()] > 1e-4
        gap = np.array([angle_distance(a, b) for a, b in zip(pd[tuned], stored_pd[tuned])])
        if not tuned.any() or gap.max() > 0.05:
            p.add(f"preferred_direction: {int(tuned.sum())} entries with DSI > 1e-4, largest gap "
                  f"{gap.max() if len(gap) else float('nan'):.3g} rad > 0.05")
        else:
            report(f"reference: preferred_direction max gap {gap.max():.2e} rad over {int(tuned.sum())} entries")
        w = p.compare("dsi_correlation_to_known", dsi_correlation_to_known(dsi, cell_types),
                      me["dsi_correlation_to_known"][()])
        report(f"reference: dsi_correlation_to_known max diff {w:.2e}")
        w = p.compare("angular_distance_to_known", angular_distance_to_known(pd, cell_types, intensities),
                      me["angular_distance_to_known"][()].reshape(-1), 0.05)
        report(f"reference: angular_distance_to_known max diff {w:.2e}")
    return p.lines


# -- ensemble mode ------------------------------------------------------------------------------

FLASH_PARAMS = ("radius", "intensity")
EDGE_PARAMS = ("angle", "width", "intensity", "speed")


def member_dirs(ens):
    return sorted(d.name for d in ens.iterdir()
                  if d.is_dir() and re.fullmatch(r"\d{3}", d.name) and (d / "_meta.yaml").is_file())


def read_responses(path, params, p):
    """The arrays of one responses file, or None after reporting what is wrong."""
    name = path.name
    with h5py.File(path, "r") as f:
        need = ["responses", "member", "checkpoint", "time", "cell_type", "cell_u", "cell_v"] + \
               [f"sample_{k}" for k in params]
        missing = [k for k in need if k not in f]
        if missing:
            p.add(f"{name}: missing datasets {missing}")
            return None
        d = {k: f[k][()] for k in need if k not in ("member", "cell_type")}
        d["member"] = strings(f["member"])
        d["cell_type"] = strings(f["cell_type"])
        d["attrs"] = dict(f.attrs)
        d["dtype"] = f["responses"].dtype
    shape = d["responses"].shape
    if d["dtype"] != np.float32:
        p.add(f"{name}: responses are {d['dtype']}, expected float32")
    dims = d["attrs"].get("dims_responses")
    dims = dims.decode() if isinstance(dims, bytes) else dims
    if dims != "member,sample,frame,cell":
        p.add(f"{name}: attribute dims_responses is {dims!r}, expected 'member,sample,frame,cell'")
    if len(shape) != 4:
        p.add(f"{name}: responses have shape {shape}, expected (member, sample, frame, cell)")
        return None
    m, s, t, c = shape
    checks = [("member", len(d["member"]), m), ("checkpoint", d["checkpoint"].shape, (m,)),
              ("time", d["time"].shape, (t,)), ("cell_type", len(d["cell_type"]), c),
              ("cell_u", d["cell_u"].shape, (c,)), ("cell_v", d["cell_v"].shape, (c,))] + \
             [(f"sample_{k}", d[f"sample_{k}"].shape, (s,)) for k in params]
    bad = [f"{k} {got} (responses give {want})" for k, got, want in checks if got != want]
    if bad:
        p.add(f"{name}: coordinates do not fit the responses: {', '.join(bad)}")
        return None
    if min(shape) == 0:
        p.add(f"{name}: empty responses {shape}")
        return None
    # flyvis's time axis is exactly k*dt - t_pre; the FRI window's edge frame depends on it.
    dt, t_pre = d["attrs"].get("config_dt"), d["attrs"].get("config_t_pre")
    if dt is None or t_pre is None:
        p.add(f"{name}: missing root attribute config_dt or config_t_pre")
        return None
    flyvis_time = np.arange(t).astype(np.float64) * float(dt) - float(t_pre)
    if not np.array_equal(d["time"], flyvis_time):
        p.add(f"{name}: time differs from k*dt - t_pre (dt {float(dt)}, t_pre {float(t_pre)}) by up to "
              f"{np.max(np.abs(d['time'] - flyvis_time)):.3g} s")
    central = np.flatnonzero((d["cell_u"] == 0) & (d["cell_v"] == 0))
    types = [d["cell_type"][i] for i in central]
    if len(set(types)) != len(types):
        p.add(f"{name}: more than one central cell (u = v = 0) of a type")
        return None
    d["central"] = dict(zip(types, central))
    return d


def attr(d, key, name, p):
    if key not in d["attrs"]:
        p.add(f"{name}: missing root attribute {key}")
        return None
    return d["attrs"][key]


def check_nan_padding(d, masks, name, p):
    """NaN only as trailing frames: flyvis pads faster edges with NaN input, which reaches the
    cells over a few frames (so a frame may be NaN in some cells only), and a NaN state stays
    NaN. Never NaN inside a time mask."""
    r = d["responses"]
    nan = np.isnan(r)
    if not nan.any():
        return
    if (nan[:, :, :-1, :] & ~nan[:, :, 1:, :]).any():
        p.add(f"{name}: a cell's response is NaN in one frame and finite in a later one (padding is trailing)")
        return
    whole = nan.all(axis=3)
    for m in range(r.shape[0]):
        for s in range(r.shape[1]):
            frames = np.flatnonzero(whole[m, s])
            if len(frames) and frames[0] + len(frames) != r.shape[2]:
                p.add(f"{name}: member {d['member'][m]} sample {s}: NaN frames are not a trailing block")
                return
            if (whole[m, s] & masks[s]).any():
                p.add(f"{name}: member {d['member'][m]} sample {s}: NaN inside the DSI time mask")
                return


def check_ensemble(ens, expected_members=None, report=print):
    p = Problems()
    ens = Path(ens)
    rdir = ens / "responses"
    if not ens.is_dir():
        p.add(f"{ens}: no such ensemble directory")
        return p.lines
    run = list(expected_members) if expected_members else member_dirs(ens)
    if not run:
        p.add(f"{ens}: no member directories (NNN with _meta.yaml)")
        return p.lines
    for m in run:
        if not (ens / m / "_meta.yaml").is_file():
            p.add(f"{ens}: expected member {m} has no {m}/_meta.yaml")
    paths = {k: rdir / f"{k}.h5" for k in ("flashes", "moving_edge", "tuning")}
    if not paths["tuning"].is_file():
        p.add(f"{rdir}: tuning.h5 missing")
        return p.lines
    if not paths["flashes"].is_file() and not paths["moving_edge"].is_file():
        p.add(f"{rdir}: neither flashes.h5 nor moving_edge.h5")
        return p.lines
    table = rdir / "tuning.txt"
    if not table.is_file() or table.stat().st_size == 0:
        p.add(f"{rdir}: tuning.txt missing or empty")
    else:
        text = table.read_text()
        absent = [m for m in run if m not in text]
        if absent:
            p.add(f"{table}: no row for members {absent}")

    data = {}
    for k, params in (("flashes", FLASH_PARAMS), ("moving_edge", EDGE_PARAMS)):
        if paths[k].is_file():
            d = read_responses(paths[k], params, p)
            if d is None:
                return p.lines
            data[k] = d

    with h5py.File(paths["tuning"], "r") as f:
        tuning = {k: f[k][()] for k in f.keys() if k not in ("member", "cell_type")}
        for k in ("member", "checkpoint", "cell_type"):
            if k not in f:
                p.add(f"tuning.h5: missing coordinate {k}")
                return p.lines
        tuning["member"] = strings(f["member"])
        tuning["cell_type"] = strings(f["cell_type"])
        dtypes = {k: f[k].dtype for k in f.keys()}

    members, types = tuning["member"], tuning["cell_type"]
    if len(set(members)) != len(members):
        p.add(f"tuning.h5: repeated member names {members}")
    if sorted(members) != sorted(run):
        p.add(f"tuning.h5: members {members}, but the members run are {run}")
    if len(types) != 65 or len(set(types)) != 65:
        p.add(f"tuning.h5: {len(types)} cell types ({len(set(types))} distinct), expected the 65 types")
    if tuning["checkpoint"].shape != (len(members),):
        p.add(f"tuning.h5: checkpoint shape {tuning['checkpoint'].shape}, expected ({len(members)},)")
        return p.lines
    for k, d in data.items():
        if d["member"] != members:
            p.add(f"{k}.h5: members {d['member']} differ from tuning.h5's {members}")
        elif not np.array_equal(d["checkpoint"], tuning["checkpoint"]):
            p.add(f"{k}.h5: checkpoints {d['checkpoint'].tolist()} differ from tuning.h5's "
                  f"{tuning['checkpoint'].tolist()}")
        missing = [t for t in types if t not in d["central"]]
        if missing:
            p.add(f"{k}.h5: no central cell (u = v = 0) of types {missing}")
    if len(data) == 2:
        a, b = data["flashes"], data["moving_edge"]
        for c in ("cell_type", "cell_u", "cell_v"):
            if not np.array_equal(np.asarray(a[c]), np.asarray(b[c])):
                p.add(f"flashes.h5 and moving_edge.h5 differ in {c}")
    for i, m in enumerate(members):
        c = int(tuning["checkpoint"][i])
        chk = ens / m / "chkpts"
        if c < 0:
            p.add(f"tuning.h5: member {m} has checkpoint {c}")
        elif chk.is_dir() and not (chk / f"chkpt_{c:05d}").is_file():
            p.add(f"tuning.h5: member {m} names checkpoint {c}, but {chk}/chkpt_{c:05d} does not exist")
    if p.lines:
        return p.lines

    expected_keys = {"member", "checkpoint", "cell_type"}
    m_count = len(members)

    if "flashes" in data:
        d = data["flashes"]
        if np.isnan(d["responses"]).any():
            p.add("flashes.h5: NaN in responses (flashes have no padding)")
        dt = attr(d, "config_dt", "flashes.h5", p)
        t_stim = attr(d, "config_t_stim", "flashes.h5", p)
        alternations = attr(d, "config_alternations", "flashes.h5", p)
        if alternations is not None and tuple(np.asarray(alternations).tolist()) != (0, 1, 0):
            p.add(f"flashes.h5: config_alternations {alternations}; the FRI needs (0, 1, 0)")
        if p.lines:
            return p.lines
        cells = [d["central"][t] for t in types]
        # The radii, as a coordinate beside the fri_radius_<r> datasets.
        expected_keys.add("radius")
        if "radius" not in tuning or sorted(np.asarray(tuning["radius"]).tolist()) != sorted(np.unique(d["sample_radius"]).tolist()):
            p.add(f"tuning.h5: radius {tuning.get('radius')} differs from the flashes' radii {np.unique(d['sample_radius'])}")
        for rad in np.unique(d["sample_radius"]):
            key = radius_key(rad)
            expected_keys.add(key)
            if key not in tuning:
                p.add(f"tuning.h5: missing {key}")
                continue
            ours = np.stack([flash_response_index(d["responses"][i][:, :, cells], d["sample_radius"],
                                                  d["sample_intensity"], d["time"], rad, float(dt), float(t_stim))
                             for i in range(m_count)])
            if np.isnan(tuning[key]).any():
                p.add(f"tuning.h5: NaN in {key}")
            w = p.compare(f"tuning.h5 {key}", ours, tuning[key])
            report(f"check: {key} max diff {w:.2e}")
            if rad == 6:
                expected_keys.add("fri_correlation_to_known")
                corr = [fri_correlation_to_known(o, types) for o in ours]
                if "fri_correlation_to_known" not in tuning:
                    p.add("tuning.h5: missing fri_correlation_to_known")
                else:
                    w = p.compare("tuning.h5 fri_correlation_to_known", corr, tuning["fri_correlation_to_known"])
                    report(f"check: fri_correlation_to_known max diff {w:.2e}")

    if "moving_edge" in data:
        d = data["moving_edge"]
        offsets = attr(d, "config_offsets", "moving_edge.h5", p)
        if p.lines:
            return p.lines
        masks = time_masks(d["sample_speed"], d["time"], offsets)
        check_nan_padding(d, masks, "moving_edge.h5", p)
        cells = [d["central"][t] for t in types]
        args = [d[f"sample_{k}"] for k in EDGE_PARAMS]
        dsi, pd, relative = [], [], []
        for i in range(m_count):
            r = d["responses"][i][:, :, cells]
            x, intensities = direction_selectivity_index(r, *args, d["time"], offsets)
            dsi.append(x)
            angle, length, _ = preferred_direction(r, *args, d["time"], offsets)
            pd.append(angle)
            relative.append(length)
        dsi, pd, relative = np.stack(dsi), np.stack(pd), np.stack(relative)
        expected_keys |= {"dsi", "preferred_direction", "intensity"}
        for key in ("dsi", "preferred_direction"):
            if key not in tuning:
                p.add(f"tuning.h5: missing {key}")
            elif np.isnan(tuning[key]).any():
                p.add(f"tuning.h5: NaN in {key}")
        if "dsi" in tuning:
            w = p.compare("tuning.h5 dsi", dsi, tuning["dsi"])
            report(f"check: dsi max diff {w:.2e}")
        if "preferred_direction" in tuning:
            stored = tuning["preferred_direction"]
            if stored.shape != pd.shape:
                p.add(f"tuning.h5 preferred_direction: shape {stored.shape} stored, {pd.shape} recomputed")
            else:
                if (np.abs(stored) > np.pi + 1e-12).any():
                    p.add("tuning.h5 preferred_direction: values outside [-pi, pi]")
                directed = relative > 1e-6
                gaps = np.abs(np.angle(np.exp(1j * (pd[directed] - stored[directed]))))
                worst = float(gaps.max()) if gaps.size else 0.0
                if worst > TOLERANCE:
                    p.add(f"tuning.h5 preferred_direction: largest angular gap {worst:.3g} rad > {TOLERANCE:g}")
                report(f"check: preferred_direction max gap {worst:.2e} rad over {int(directed.sum())} "
                      f"of {directed.size} entries (the rest have no direction)")
        if "intensity" not in tuning or not np.array_equal(tuning["intensity"], intensities):
            p.add(f"tuning.h5: intensity {tuning.get('intensity')} differs from the edges' {intensities}")
        if len(intensities) == 2:
            expected_keys.add("dsi_correlation_to_known")
            corr = [dsi_correlation_to_known(x, types) for x in dsi]
            if "dsi_correlation_to_known" not in tuning:
                p.add("tuning.h5: missing dsi_correlation_to_known")
            else:
                w = p.compare("tuning.h5 dsi_correlation_to_known", corr, tuning["dsi_correlation_to_known"])
                report(f"check: dsi_correlation_to_known max diff {w:.2e}")

    extra = sorted(set(tuning) - expected_keys)
    if extra:
        p.add(f"tuning.h5: datasets {extra} not expected for the stimuli that were run "
              f"({', '.join(sorted(data))})")
    for k, dt in dtypes.items():
        if k not in ("member", "cell_type", "checkpoint") and dt != np.float64:
            p.add(f"tuning.h5: {k} is {dt}, expected float64")
    if dtypes.get("checkpoint") not in (np.int64,):
        p.add(f"tuning.h5: checkpoint is {dtypes.get('checkpoint')}, expected int64")
    return p.lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ensemble", nargs="?", help="ensemble directory (holds NNN/ and responses/)")
    ap.add_argument("--members", help="comma-separated member names that were run (default: every NNN/ with _meta.yaml)")
    ap.add_argument("--reference", metavar="FILE", help="check the index functions against flyvis's stored indices")
    args = ap.parse_args(argv)
    if (args.ensemble is None) == (args.reference is None):
        ap.error("give an ensemble directory or --reference FILE")
    try:
        if args.reference:
            problems = check_reference(args.reference)
            what = f"reference {args.reference}"
        else:
            members = args.members.split(",") if args.members else None
            problems = check_ensemble(args.ensemble, members)
            what = f"responses of {args.ensemble}"
    except (OSError, KeyError, ValueError) as e:
        problems = [f"{type(e).__name__}: {e}"]
        what = args.reference or args.ensemble
    if problems:
        for line in problems:
            print(f"check_responses: FAIL: {line}", file=sys.stderr)
        print(f"check_responses: {len(problems)} problem(s) in {what}", file=sys.stderr)
        return 1
    print(f"check_responses: ok ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
