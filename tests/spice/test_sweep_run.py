"""Sweep runner: HDF5 layout, checkpoint/resume after a kill, refusal of changed descriptions.

These tests use stand-in engines (closed-form currents) so that they test the runner, not the solvers;
tests/spice/test_sweep_spice.py runs the real nodal solver and ngspice.
"""

import h5py
import numpy as np
import pytest

from devicelab.errors import ConfigError, SimulationError
from devicelab.files import check_header, sha256_file
from devicelab.spice.sweep.config import parse_description
from devicelab.spice.sweep.engines import EngineOutput
from devicelab.spice.sweep.results import read_sweep, summarize_sweep
from devicelab.spice.sweep.run import checkpoint_dir, run_sweep

DESCRIPTION = {
    "name": "standin",
    "n_vectors": 3,
    "engines": "both",
    "ngspice_max_size": 4,
    "array": {"sizes": [[2, 3], [4, 4], [6, 2]], "r_wire": [0.0, 1.0], "differential": [False, True]},
    "conductances": [{"kind": "uniform", "g_min": 1e-6, "g_max": 1e-5}],
    "inputs": [{"kind": "dense"}, {"kind": "onehot"}],
}


def ideal(point, g, v):
    """I = V G (differential: V (G+ - G-))."""
    return EngineOutput(v @ (g[0] - g[1] if point.differential else g), {})


def lossy(point, g, v):
    """Stand-in for a wire-aware solver: the ideal current reduced by a size- and r-dependent factor."""
    factor = 1.0 - 1e-3 * point.r_row * (point.rows + point.cols)
    return EngineOutput(factor * ideal(point, g, v).currents, {})


def spice_like(point, g, v):
    """Stand-in for ngspice: lossy plus a 1e-9 relative disagreement and the attributes ngspice leaves."""
    out = lossy(point, g, v).currents * (1 + 1e-9)
    return EngineOutput(out, {"ngspice_version": "standin-1", "netlist_sha256": f"{point.index:064x}"})


ENGINES = {"ideal": ideal, "nodal": lossy, "ngspice": spice_like}


class CountingEngines(dict):
    """The stand-in engines, counting nodal calls per point and raising after ``fail_after`` calls."""

    def __init__(self, fail_after=None):
        self.calls = []
        self.fail_after = fail_after
        super().__init__(ideal=ideal, nodal=self.nodal, ngspice=spice_like)

    def nodal(self, point, g, v):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls.append(point.index)
        return lossy(point, g, v)


def _datasets(path):
    out = {}
    with h5py.File(path, "r") as fh:
        fh.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def test_sweep_file_has_header_grid_units_and_engine_arrays(tmp_path):
    desc = parse_description(DESCRIPTION, source="standin.toml", source_text="# toml text")
    out = run_sweep(desc, tmp_path / "s.h5", engines=ENGINES, progress=False)
    with h5py.File(out, "r") as fh:
        prov = check_header(fh, out, "devicelab.sweep", (1,))
        assert prov["description_sha256"] == desc.sha256()
        assert prov["source_text"] == "# toml text" and prov["ngspice_version"] == "standin-1"
        assert list(fh["grid/rows"][()]) == [p.rows for p in desc.points()]
        assert fh["grid/r_row"].attrs["units"] == "ohm"
        assert fh["grid/engines"][0].decode() == "nodal,ngspice"
        p = fh["points/p00004"]
        assert (p["g"].attrs["units"], p["v"].attrs["units"], p["i_nodal"].attrs["units"],
                p["time_nodal"].attrs["units"]) == ("S", "V", "A", "s")
        assert p.attrs["netlist_sha256"] == f"{4:064x}"
        def check_units(name, obj):
            if isinstance(obj, h5py.Dataset):
                assert "units" in obj.attrs, name
        fh.visititems(check_units)
    assert not checkpoint_dir(out).exists()


def test_records_hold_the_arrays_and_summary_errors_compare_engines(tmp_path):
    desc = parse_description(DESCRIPTION)
    data = read_sweep(run_sweep(desc, tmp_path / "s.h5", engines=ENGINES, progress=False))
    assert len(data.records) == len(desc.points()) == 24
    for rec, row in zip(data.records, summarize_sweep(data)):
        diff = rec.params["differential"]
        np.testing.assert_allclose(rec.i_ideal, rec.v @ (rec.g[0] - rec.g[1] if diff else rec.g))
        assert rec.g.shape == ((2,) if diff else ()) + (rec.params["rows"], rec.params["cols"])
        big = rec.params["rows"] > 4
        assert set(rec.currents) == ({"nodal"} if big else {"nodal", "ngspice"})
        factor = 1 - 1e-3 * rec.params["r_row"] * (rec.params["rows"] + rec.params["cols"])
        reference_factor = factor * (1 if big else 1 + 1e-9)
        expected_ideal_err = abs(1 / reference_factor - 1)
        assert row["err_ideal"] == pytest.approx(expected_ideal_err, rel=1e-6, abs=1e-12)
        if big:
            assert np.isnan(row["err_nodal_ngspice"]) and row["reference"] == "nodal"
        else:
            assert row["err_nodal_ngspice"] == pytest.approx(1e-9 / (1 + 1e-9), rel=1e-5)


def test_kill_and_resume_equals_an_uninterrupted_run_without_recomputing(tmp_path):
    desc = parse_description(DESCRIPTION)
    n = len(desc.points())
    whole = run_sweep(desc, tmp_path / "whole.h5", engines=ENGINES, progress=False)

    killed = CountingEngines(fail_after=7)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(desc, tmp_path / "resumed.h5", engines=killed, progress=False)
    assert not (tmp_path / "resumed.h5").exists()
    assert len(list(checkpoint_dir(tmp_path / "resumed.h5").glob("p*.npz"))) == 7

    resumed = CountingEngines()
    out = run_sweep(desc, tmp_path / "resumed.h5", engines=resumed, progress=False)
    assert sorted(resumed.calls) == list(range(7, n))  # finished points were not recomputed
    a, b = _datasets(whole), _datasets(out)
    assert a.keys() == b.keys()
    for name in a:
        if not name.startswith("points/") or "/time_" not in name:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_changed_description_is_refused_on_resume(tmp_path):
    desc = parse_description(DESCRIPTION)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(desc, tmp_path / "s.h5", engines=CountingEngines(fail_after=2), progress=False)
    changed = parse_description({**DESCRIPTION, "n_vectors": 4})
    with pytest.raises(ConfigError, match=r"s.h5.ckpt: these checkpoints were made from a different sweep"):
        run_sweep(changed, tmp_path / "s.h5", engines=ENGINES, progress=False)
    # --overwrite starts over
    out = run_sweep(changed, tmp_path / "s.h5", engines=ENGINES, progress=False, overwrite=True)
    assert read_sweep(out).records[0].v.shape == (4, 2)


def test_finished_output_is_kept_for_the_same_description_and_refused_for_another(tmp_path):
    desc = parse_description(DESCRIPTION)
    out = run_sweep(desc, tmp_path / "s.h5", engines=ENGINES, progress=False)
    counting = CountingEngines()
    run_sweep(desc, out, engines=counting, progress=False)
    assert counting.calls == []
    with pytest.raises(ConfigError, match="s.h5 exists and was made from a different sweep description"):
        run_sweep(parse_description({**DESCRIPTION, "seed": 1}), out, engines=ENGINES, progress=False)


def test_engine_failure_names_the_point(tmp_path):
    def failing(point, g, v):
        raise SimulationError("did not converge", log="ngspice log text")

    desc = parse_description(DESCRIPTION)
    with pytest.raises(SimulationError, match=r"sweep point 0 \(2x3, r_row=0 ohm.*did not converge") as info:
        run_sweep(desc, tmp_path / "s.h5", engines={**ENGINES, "ngspice": failing}, progress=False)
    assert info.value.log == "ngspice log text"


def test_engine_returning_the_wrong_shape_is_an_error(tmp_path):
    def wrong(point, g, v):
        return EngineOutput(np.zeros((1, 1)), {})

    with pytest.raises(SimulationError, match=r"engine 'nodal' returned currents of shape \(1, 1\)"):
        run_sweep(parse_description(DESCRIPTION), tmp_path / "s.h5", engines={**ENGINES, "nodal": wrong},
                  progress=False)


def test_weight_sweep_stores_conductance_pairs_encoding_a_tile_of_the_weights(tmp_path, rng):
    w = rng.standard_normal((5, 7))  # (out, in), PyTorch layout
    np.savez(tmp_path / "net.npz", fc=w)
    desc = parse_description({
        "n_vectors": 2, "array": {"sizes": [[4, 3]], "r_wire": 1.0, "differential": True},
        "conductances": [{"kind": "weights", "file": "net.npz", "g_max": 2e-5}], "inputs": [{"kind": "dense"}]},
        base_dir=tmp_path)
    rec = read_sweep(run_sweep(desc, tmp_path / "w.h5", engines=ENGINES, progress=False)).records[0]
    diff = rec.g[0] - rec.g[1]
    assert np.abs(diff).max() == pytest.approx(2e-5)
    blocks = [w.T[i:i + 4, j:j + 3] for i in range(4) for j in range(3)]
    assert any(np.allclose(diff / 2e-5, b / np.abs(b).max(), rtol=0, atol=1e-12) for b in blocks)
    files = read_sweep(tmp_path / "w.h5").provenance["files"]
    assert files == {str(tmp_path / "net.npz"): sha256_file(tmp_path / "net.npz")}


def test_restart_if_changed_replaces_stale_results_but_keeps_current_ones(tmp_path):
    desc = parse_description(DESCRIPTION)
    out = run_sweep(desc, tmp_path / "s.h5", engines=ENGINES, progress=False)
    counting = CountingEngines()
    run_sweep(desc, out, engines=counting, progress=False, restart_if_changed=True)
    assert counting.calls == []  # same description: kept
    changed = parse_description({**DESCRIPTION, "seed": 5})
    run_sweep(changed, out, engines=counting, progress=False, restart_if_changed=True)
    assert len(counting.calls) == len(changed.points())
    assert read_sweep(out).provenance["description_sha256"] == changed.sha256()
    # stale checkpoints are replaced as well
    with pytest.raises(KeyboardInterrupt):
        run_sweep(desc, tmp_path / "k.h5", engines=CountingEngines(fail_after=3), progress=False)
    run_sweep(changed, tmp_path / "k.h5", engines=ENGINES, progress=False, restart_if_changed=True)
    assert read_sweep(tmp_path / "k.h5").provenance["description_sha256"] == changed.sha256()


def test_unexpected_engine_exception_keeps_its_type_and_names_the_point(tmp_path):
    def buggy(point, g, v):
        raise ValueError("need at least one array to concatenate")

    with pytest.raises(ValueError, match="concatenate") as info:
        run_sweep(parse_description(DESCRIPTION), tmp_path / "s.h5", engines={**ENGINES, "nodal": buggy},
                  progress=False)
    assert any("while running sweep point 0 (2x3" in note for note in info.value.__notes__)
