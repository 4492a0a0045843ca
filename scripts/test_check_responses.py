"""Tests of scripts/check_responses.py (standard library, h5py and numpy only):

    python3 scripts/test_check_responses.py [--reference Tests/Fixtures/flyvis-responses-e15.h5]

A synthetic ensemble whose tuning indices follow by hand is written to a temporary directory;
the checker must accept it as written and reject each of a list of single defects with the
message that names it. With --reference, the checker's index functions must also reproduce
flyvis 1.2.0's stored indices.

Synthetic responses (2 members, the 65 types' central cells plus three off-centre cells that
must be ignored), flyvis's default time axes (time_k = k*0.005 - 1, as flyvis computes it):
- Flashes, samples (radius, intensity) = (-1, 0), (6, 0), (-1, 1), (6, 1), 600 frames. A type of
  known polarity p has, at radius 6, an ON peak 1 + a*p and an OFF peak 1 - a*p at frame 300
  (inside the window 200..400), baseline 0, and a decoy of 100 at frame 150 (outside), so
  FRI = (on - off)/(on + off) = a*p, with a = 1/2 for member 000 and 1/4 for 001; at radius -1
  the peaks swap, FRI = -a*p. Both correlations of a*p with p are 1.
- Moving edges, angles 0, 90, 180, 270, width 80, intensities 0 and 1, speeds 19 and 25, 485
  frames, NaN padding from frame 465 on for speed 25. T4x at intensity 1 and T5x at intensity
  0 respond 2 + cos(theta - phi_x) (phi_x its known direction) at frame 240 (inside both masks),
  every other type and intensity responds 1 there; -0.3 elsewhere, decoys of 50 at frames 199
  and 300 (outside the masks). With N = 4 angles the tuned vector sum is 2*e^{i phi},
  the magnitudes sum to 8 (tuned) and 4 (flat), so DSI = 2/8 = 1/4 for the tuned intensity,
  0 for the other (shared normalisation) and for every other type; preferred direction phi.
  The DSI correlation is 1.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_responses as cr  # noqa: E402

TYPES = ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "L1", "L2", "L3", "L4", "L5", "Lawf1", "Lawf2",
         "Am", "C2", "C3", "CT1(Lo1)", "CT1(M10)", "Mi1", "Mi2", "Mi3", "Mi4", "Mi9", "Mi10", "Mi11", "Mi12",
         "Mi13", "Mi14", "Mi15", "T1", "T2", "T2a", "T3", "T4a", "T4b", "T4c", "T4d", "T5a", "T5b", "T5c",
         "T5d", "Tm1", "Tm2", "Tm3", "Tm4", "Tm5Y", "Tm5a", "Tm5b", "Tm5c", "Tm9", "Tm16", "Tm20", "Tm28",
         "Tm30", "TmY3", "TmY4", "TmY5a", "TmY9", "TmY10", "TmY13", "TmY14", "TmY15", "TmY18"]
MEMBERS = ["000", "001"]
CHECKPOINTS = [2, 1]
AMPLITUDE = [0.5, 0.25]
STRINGS = h5py.string_dtype()


def cells():
    """Central cells of every type, then three off-centre cells."""
    types = TYPES + ["T4a", "Mi1", "L1"]
    u = [0] * 65 + [1, -1, 2]
    v = [0] * 65 + [0, 1, -2]
    return types, np.array(u, dtype=np.int64), np.array(v, dtype=np.int64)


def polarity(t):
    return cr.POLARITY.get(t, 0)


def write_common(f, params, time, config):
    types, u, v = cells()
    f["member"] = np.array(MEMBERS, dtype=STRINGS)
    f["checkpoint"] = np.array(CHECKPOINTS, dtype=np.int64)
    for k, values in params.items():
        f[f"sample_{k}"] = np.asarray(values, dtype=np.float64)
    f["time"] = time
    f["cell_type"] = np.array(types, dtype=STRINGS)
    f["cell_u"], f["cell_v"] = u, v
    for k, value in config.items():
        f.attrs[f"config_{k}"] = value
    f.attrs["dims_responses"] = "member,sample,frame,cell"


def flash_responses():
    radius = np.array([-1.0, 6.0, -1.0, 6.0])
    intensity = np.array([0.0, 0.0, 1.0, 1.0])
    types, _, _ = cells()
    r = np.zeros((2, 4, 600, len(types)), dtype=np.float32)
    rng = np.random.default_rng(0)
    r[:, :, :, 65:] = rng.normal(size=(2, 4, 600, 3))
    for m, a in enumerate(AMPLITUDE):
        for c, t in enumerate(TYPES):
            p = polarity(t)
            for s in range(4):
                on = intensity[s] == 1
                sign = 1 if radius[s] == 6 else -1
                r[m, s, 300, c] = 1 + a * p * sign if on else 1 - a * p * sign
                r[m, s, 150, c] = 100
    return r, radius, intensity


def edge_responses():
    angles, intensities, speeds = [0.0, 90.0, 180.0, 270.0], [0.0, 1.0], [19.0, 25.0]
    samples = [(a, i, s) for a in angles for i in intensities for s in speeds]
    angle = np.array([x[0] for x in samples])
    intensity = np.array([x[1] for x in samples])
    speed = np.array([x[2] for x in samples])
    types, _, _ = cells()
    r = np.full((2, len(samples), 485, len(types)), -0.3, dtype=np.float32)
    r[:, :, 199, :] = 50
    r[:, :, 300, :] = 50
    for c, t in enumerate(TYPES):
        for s, (a, i, _) in enumerate(samples):
            tuned = t in cr.PREFERRED_DIRECTIONS and (i == 1) == t.startswith("T4")
            phi = cr.PREFERRED_DIRECTIONS.get(t, 0)
            r[:, s, 240, c] = 2 + np.cos(np.deg2rad(a - phi)) if tuned else 1
    r[:, speed == 25, 465:, :] = np.nan
    return r, angle, intensity, speed


def expected_tuning():
    """The indices derived by hand in the module docstring: (member, cell_type[, intensity])."""
    pol = np.array([polarity(t) for t in TYPES], dtype=np.float64)
    fri6 = np.stack([a * pol for a in AMPLITUDE])
    dsi = np.zeros((2, 65, 2))
    pd = np.zeros((2, 65, 2))
    for c, t in enumerate(TYPES):
        if t in cr.PREFERRED_DIRECTIONS:
            column = 1 if t.startswith("T4") else 0
            dsi[:, c, column] = 0.25
            pd[:, c, column] = np.angle(np.exp(1j * np.deg2rad(cr.PREFERRED_DIRECTIONS[t])))
    return {"fri_radius_6": fri6, "fri_radius_-1": -fri6, "dsi": dsi, "preferred_direction": pd,
            "fri_correlation_to_known": np.ones(2), "dsi_correlation_to_known": np.ones(2),
            "radius": np.array([6.0, -1.0])}


def build_ensemble(root):
    ens = Path(root) / "flow" / "0007"
    for m, c in zip(MEMBERS, CHECKPOINTS):
        (ens / m / "chkpts").mkdir(parents=True)
        (ens / m / "_meta.yaml").write_text("config:\n  type: NetworkDir\nstatus: done\n")
        for k in range(c + 1):
            (ens / m / "chkpts" / f"chkpt_{k:05d}").write_bytes(b"")
    rdir = ens / "responses"
    rdir.mkdir()
    r, radius, intensity = flash_responses()
    with h5py.File(rdir / "flashes.h5", "w") as f:
        f["responses"] = r
        write_common(f, {"radius": radius, "intensity": intensity}, np.arange(600) * 0.005 - 1.0,
                     {"dt": 0.005, "t_stim": 1.0, "t_pre": 1.0, "alternations": np.array([0.0, 1.0, 0.0]),
                      "radius": np.array([-1.0, 6.0]), "dynamic_range": np.array([0.0, 1.0])})
    r, angle, intensity, speed = edge_responses()
    with h5py.File(rdir / "moving_edge.h5", "w") as f:
        f["responses"] = r
        write_common(f, {"angle": angle, "width": np.full(len(angle), 80.0), "intensity": intensity, "speed": speed},
                     np.arange(485) * 0.005 - 1.0,
                     {"offsets": np.array([-10.0, 11.0]), "dt": 0.005, "t_pre": 1.0, "t_post": 1.0, "height": 80.0,
                      "angles": np.array([0.0, 90.0, 180.0, 270.0]), "speeds": np.array([19.0, 25.0]),
                      "widths": np.array([80.0]), "intensities": np.array([0.0, 1.0]), "post_pad_mode": "continue"})
    with h5py.File(rdir / "tuning.h5", "w") as f:
        for k, v in expected_tuning().items():
            f[k] = v
        f["member"] = np.array(MEMBERS, dtype=STRINGS)
        f["checkpoint"] = np.array(CHECKPOINTS, dtype=np.int64)
        f["cell_type"] = np.array(TYPES, dtype=STRINGS)
        f["intensity"] = np.array([0.0, 1.0])
    (rdir / "tuning.txt").write_text("member checkpoint fri_correlation_to_known dsi_correlation_to_known\n"
                                     "000 2 1.000 1.000\n001 1 1.000 1.000\n")
    return ens


class CheckResponsesTests(unittest.TestCase):
    reference = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="check-responses-")
        self.ens = build_ensemble(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def problems(self, members=None):
        return cr.check_ensemble(self.ens, members, report=lambda line: None)

    def assertRejected(self, fragment, members=None):
        problems = self.problems(members)
        self.assertTrue(problems, f"expected a failure naming {fragment!r}, the check passed")
        self.assertTrue(any(fragment in p for p in problems), f"no problem names {fragment!r}: {problems}")

    def edit(self, name, key, change):
        with h5py.File(self.ens / "responses" / name, "r+") as f:
            data = f[key][()]
            data = change(data)
            del f[key]
            f[key] = data

    # -- the index functions against the hand-derived values ---------------------------------

    def test_index_functions_reproduce_hand_values(self):
        want = expected_tuning()
        r, radius, intensity = flash_responses()
        time = np.arange(600) * 0.005 - 1.0
        for m in range(2):
            for rad, key in ((6.0, "fri_radius_6"), (-1.0, "fri_radius_-1")):
                fri = cr.flash_response_index(r[m][:, :, :65], radius, intensity, time, rad, 0.005, 1.0)
                np.testing.assert_allclose(fri, want[key][m], atol=1e-7)
        r, angle, intensity, speed = edge_responses()
        args = (angle, np.full(len(angle), 80.0), intensity, speed, np.arange(485) * 0.005 - 1.0, [-10, 11])
        dsi, levels = cr.direction_selectivity_index(r[0][:, :, :65], *args)
        np.testing.assert_allclose(dsi, want["dsi"][0], atol=1e-7)
        self.assertEqual(levels.tolist(), [0.0, 1.0])
        pd, relative, _ = cr.preferred_direction(r[0][:, :, :65], *args)
        tuned = want["dsi"][0] > 0
        gaps = [cr.angle_distance(a, b) for a, b in zip(pd[tuned], want["preferred_direction"][0][tuned])]
        self.assertEqual(len(gaps), 8)
        self.assertLess(max(gaps), 1e-7)
        self.assertTrue((relative[~tuned] < 1e-6).all())
        self.assertAlmostEqual(cr.dsi_correlation_to_known(dsi, TYPES), 1.0, places=9)
        self.assertAlmostEqual(cr.fri_correlation_to_known(want["fri_radius_6"][0], TYPES), 1.0, places=12)

    def test_time_masks_are_flyvis_frames(self):
        time = np.arange(485) * 0.005 - 1.0
        masks = cr.time_masks(np.array([19.0, 25.0]), time, [-10, 11])
        self.assertEqual((np.flatnonzero(masks[0])[[0, -1]]).tolist(), [200, 285])
        self.assertEqual((np.flatnonzero(masks[1])[[0, -1]]).tolist(), [200, 265])
        window = (np.arange(600) * 0.005 - 1.0 >= -0.005) & (np.arange(600) * 0.005 - 1.0 <= 1.0)
        self.assertEqual(np.flatnonzero(window)[[0, -1]].tolist(), [200, 400])

    def test_degenerate_responses_give_flyvis_values(self):
        zeros = np.zeros((4, 600, 3), dtype=np.float32)
        fri = cr.flash_response_index(zeros, np.array([-1.0, 6, -1, 6]), np.array([0.0, 0, 1, 1]),
                                      np.arange(600) * 0.005 - 1.0, 6.0, 0.005, 1.0)
        self.assertEqual(fri.tolist(), [0.0, 0.0, 0.0])
        self.assertTrue(np.isnan(cr.pearson([0.0, 0.0, 0.0], [1.0, -1.0, 1.0])))

    # -- the ensemble check -----------------------------------------------------------------

    def test_synthetic_ensemble_passes(self):
        self.assertEqual(self.problems(), [])
        self.assertEqual(self.problems(["000", "001"]), [])
        self.assertEqual(cr.main([str(self.ens)]), 0)

    def test_changed_index_is_caught(self):
        self.edit("tuning.h5", "fri_radius_6", lambda x: x + np.where(np.arange(65) == 40, 2e-5, 0))
        self.assertRejected("fri_radius_6: max |recomputed - stored|")
        self.assertEqual(cr.main([str(self.ens)]), 1)

    def test_changed_dsi_and_direction_are_caught(self):
        self.edit("tuning.h5", "dsi", lambda x: x * 1.001)
        self.edit("tuning.h5", "preferred_direction", lambda x: x + 1e-3)
        self.assertRejected("tuning.h5 dsi: max |recomputed - stored|")
        self.assertRejected("preferred_direction: largest angular gap")

    def test_direction_at_pi_matches_minus_pi(self):
        self.edit("tuning.h5", "preferred_direction", lambda x: np.where(np.isclose(x, np.pi), -np.pi, x))
        self.assertEqual(self.problems(), [])

    def test_correlation_is_caught(self):
        self.edit("tuning.h5", "dsi_correlation_to_known", lambda x: x - 1e-4)
        self.assertRejected("dsi_correlation_to_known: max |recomputed - stored|")

    def test_nan_where_a_number_belongs(self):
        self.edit("tuning.h5", "fri_radius_-1", lambda x: np.where(np.arange(65) == 3, np.nan, x))
        self.assertRejected("NaN in fri_radius_-1")

    def test_member_directories(self):
        extra = self.ens / "002"
        extra.mkdir()
        (extra / "_meta.yaml").write_text("status: done\n")
        self.assertRejected("but the members run are ['000', '001', '002']")
        self.assertEqual(self.problems(["000", "001"]), [])
        self.assertRejected("expected member 005 has no 005/_meta.yaml", ["000", "001", "005"])

    def test_member_names_differ_between_files(self):
        self.edit("moving_edge.h5", "member", lambda x: np.array(["001", "000"], dtype=STRINGS))
        self.assertRejected("moving_edge.h5: members ['001', '000'] differ")

    def test_checkpoint_must_exist_and_agree(self):
        self.edit("flashes.h5", "checkpoint", lambda x: x + 1)
        self.assertRejected("flashes.h5: checkpoints [3, 2] differ")
        (self.ens / "001" / "chkpts" / "chkpt_00001").unlink()
        self.assertRejected("chkpt_00001 does not exist")

    def test_nan_in_flashes(self):
        self.edit("flashes.h5", "responses", lambda x: np.where(np.arange(600)[None, None, :, None] == 10, np.nan, x))
        self.assertRejected("flashes.h5: NaN in responses")

    def test_nan_padding_must_trail(self):
        def hole(x):
            x = x.copy()
            x[0, 0, 100, :] = np.nan
            return x
        self.edit("moving_edge.h5", "responses", hole)
        self.assertRejected("NaN in one frame and finite in a later one")

    def test_nan_reaches_cells_over_frames(self):
        # flyvis's NaN input reaches the cells over a few frames: a cell may turn NaN before the
        # others, but never back.
        def earlier(x):
            x = x.copy()
            x[1, 1, 463:, 5] = np.nan
            return x
        self.edit("moving_edge.h5", "responses", earlier)
        self.assertEqual(self.problems(), [])

        def back(x):
            x = x.copy()
            x[1, 1, 470:480, 5] = 0.0
            return x
        self.edit("moving_edge.h5", "responses", back)
        self.assertRejected("NaN in one frame and finite in a later one")

    def test_nan_inside_mask(self):
        def early(x):
            x = x.copy()
            x[0, 1, 250:, :] = np.nan
            return x
        self.edit("moving_edge.h5", "responses", early)
        self.assertRejected("NaN inside the DSI time mask")

    def test_shapes(self):
        self.edit("flashes.h5", "time", lambda x: x[:-1])
        self.assertRejected("flashes.h5: coordinates do not fit the responses: time (599,) (responses give (600,))")

    def test_time_axis_is_flyvis(self):
        # A time axis rounded to nanoseconds puts frame 199 on -0.005 exactly, inside the FRI
        # window (flyvis's -0.0050000000000000044 lies outside).
        self.edit("flashes.h5", "time", lambda x: np.round(x, 9))
        self.assertRejected("flashes.h5: time differs from k*dt - t_pre")

    def test_cell_coordinates_agree(self):
        self.edit("moving_edge.h5", "cell_u", lambda x: np.where(np.arange(len(x)) == 66, 3, x))
        self.assertRejected("flashes.h5 and moving_edge.h5 differ in cell_u")

    def test_central_cell_missing(self):
        self.edit("flashes.h5", "cell_v", lambda x: np.where(np.arange(len(x)) == 36, 1, x))
        self.assertRejected("no central cell (u = v = 0) of types ['T4b']")

    def test_indices_of_stimuli_not_run(self):
        (self.ens / "responses" / "moving_edge.h5").unlink()
        self.assertRejected("datasets ['dsi', 'dsi_correlation_to_known', 'intensity', 'preferred_direction'] "
                            "not expected for the stimuli that were run (flashes)")

    def test_only_flashes_run(self):
        (self.ens / "responses" / "moving_edge.h5").unlink()
        with h5py.File(self.ens / "responses" / "tuning.h5", "r+") as f:
            for k in ("dsi", "dsi_correlation_to_known", "intensity", "preferred_direction"):
                del f[k]
        self.assertEqual(self.problems(), [])

    def test_missing_index(self):
        with h5py.File(self.ens / "responses" / "tuning.h5", "r+") as f:
            del f["fri_radius_-1"]
        self.assertRejected("tuning.h5: missing fri_radius_-1")

    def test_tuning_table(self):
        (self.ens / "responses" / "tuning.txt").write_text("member\n000\n")
        self.assertRejected("no row for members ['001']")
        (self.ens / "responses" / "tuning.txt").unlink()
        self.assertRejected("tuning.txt missing or empty")

    def test_dtypes(self):
        self.edit("moving_edge.h5", "responses", lambda x: x.astype(np.float64))
        self.assertRejected("moving_edge.h5: responses are float64, expected float32")

    def test_dims_attribute(self):
        with h5py.File(self.ens / "responses" / "flashes.h5", "r+") as f:
            f.attrs["dims_responses"] = "sample,member,frame,cell"
        self.assertRejected("dims_responses is 'sample,member,frame,cell'")

    def test_missing_config(self):
        with h5py.File(self.ens / "responses" / "moving_edge.h5", "r+") as f:
            del f.attrs["config_offsets"]
        self.assertRejected("moving_edge.h5: missing root attribute config_offsets")

    def test_main_reports_missing_files(self):
        shutil.rmtree(self.ens / "responses")
        self.assertRejected("tuning.h5 missing")
        self.assertEqual(cr.main([str(self.ens)]), 1)

    # -- flyvis's own analysis ----------------------------------------------------------------

    def test_reference(self):
        if self.reference is None:
            self.skipTest("no --reference FILE given")
        self.assertEqual(cr.check_reference(self.reference, report=lambda line: None), [])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", help="flyvis's analysis of one model (Tests/Fixtures/flyvis-responses-e15.h5)")
    args, rest = ap.parse_known_args()
    CheckResponsesTests.reference = args.reference
    unittest.main(argv=[sys.argv[0], *rest])
