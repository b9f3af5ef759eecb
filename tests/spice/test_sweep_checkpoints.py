"""Sweep checkpoints that were damaged, swapped or made from another description are named and recomputed;
sweeps too large for the machine are refused before anything is allocated."""

import json
import shutil

import numpy as np
import pytest
from test_sweep_run import DESCRIPTION, ENGINES, CountingEngines, _datasets

from devicelab.errors import ConfigError
from devicelab.spice.sweep.budget import check_budget, estimate_cost
from devicelab.spice.sweep.config import parse_description
from devicelab.spice.sweep.run import checkpoint_dir, run_sweep


def _interrupted(desc, output, after=6):
    with pytest.raises(KeyboardInterrupt):
        run_sweep(desc, output, engines=CountingEngines(fail_after=after), progress=False)
    return checkpoint_dir(output)


def _same_results(a, b):
    da, db = _datasets(a), _datasets(b)
    assert da.keys() == db.keys()
    for name in da:
        if "/time_" not in name:
            np.testing.assert_array_equal(da[name], db[name], err_msg=name)


def test_truncated_checkpoint_is_named_and_recomputed(tmp_path):
    desc = parse_description(DESCRIPTION)
    ckpt = _interrupted(desc, tmp_path / "s.h5")
    bad = ckpt / "p00003.npz"
    bad.write_bytes(bad.read_bytes()[:300])
    messages, engines = [], CountingEngines()
    out = run_sweep(desc, tmp_path / "s.h5", engines=engines, progress=False, notify=messages.append)
    assert any("p00003.npz: corrupt or truncated checkpoint" in m for m in messages)
    assert 3 in engines.calls and 2 not in engines.calls
    _same_results(out, run_sweep(desc, tmp_path / "fresh.h5", engines=ENGINES, progress=False))


def test_checkpoint_of_another_point_copied_over_is_recomputed(tmp_path):
    desc = parse_description(DESCRIPTION)
    ckpt = _interrupted(desc, tmp_path / "s.h5")
    shutil.copy(ckpt / "p00001.npz", ckpt / "p00004.npz")
    messages = []
    out = run_sweep(desc, tmp_path / "s.h5", engines=ENGINES, progress=False, notify=messages.append)
    assert any("p00004.npz: holds another point (index 1), not point 4" in m for m in messages)
    _same_results(out, run_sweep(desc, tmp_path / "fresh.h5", engines=ENGINES, progress=False))


def test_deleted_description_json_and_changed_toml_never_mix_two_descriptions(tmp_path):
    old = parse_description(DESCRIPTION)
    ckpt = _interrupted(old, tmp_path / "s.h5")
    (ckpt / "description.json").unlink()
    new = parse_description({**DESCRIPTION, "seed": 99})
    messages = []
    out = run_sweep(new, tmp_path / "s.h5", engines=ENGINES, progress=False, notify=messages.append)
    assert sum("made from another sweep description" in m for m in messages) == 6
    _same_results(out, run_sweep(new, tmp_path / "fresh.h5", engines=ENGINES, progress=False))


def test_garbage_description_json_is_reported_and_checkpoints_are_checked_one_by_one(tmp_path):
    desc = parse_description(DESCRIPTION)
    ckpt = _interrupted(desc, tmp_path / "s.h5")
    (ckpt / "description.json").write_bytes(b"\x00\xffgarbage")
    messages, engines = [], CountingEngines()
    out = run_sweep(desc, tmp_path / "s.h5", engines=engines, progress=False, notify=messages.append)
    assert any("description.json is unreadable" in m for m in messages)
    assert min(engines.calls) == 6  # the 6 sound checkpoints were kept
    _same_results(out, run_sweep(desc, tmp_path / "fresh.h5", engines=ENGINES, progress=False))


def test_resume_says_how_many_points_are_done(tmp_path):
    desc = parse_description(DESCRIPTION)
    _interrupted(desc, tmp_path / "s.h5", after=5)
    messages = []
    run_sweep(desc, tmp_path / "s.h5", engines=ENGINES, progress=False, notify=messages.append)
    assert f"resuming: 5 of {len(desc.points())} points done" in messages


def test_checkpoints_carry_description_and_point_hashes(tmp_path):
    desc = parse_description(DESCRIPTION)
    ckpt = _interrupted(desc, tmp_path / "s.h5", after=1)
    with np.load(ckpt / "p00000.npz", allow_pickle=False) as z:
        check = json.loads(str(z["__check__"]))
    assert check["description_sha256"] == desc.sha256() and len(check["point_sha256"]) == 64


def test_huge_array_is_refused_before_allocation_with_the_estimate():
    desc = parse_description({**DESCRIPTION, "array": {"sizes": [[100000, 100000]], "r_wire": 1.0},
                              "engines": "nodal"})
    cost = estimate_cost(desc)
    assert cost.peak_bytes >= 100000 * 100000 * 8  # at least the G array itself (74.5 GiB)
    with pytest.raises(ConfigError, match=r"sweep too large: estimated peak memory .* GiB .*--max-memory"):
        check_budget(cost, max_memory=64 * 2**30)


def test_max_memory_can_be_raised_and_jobs_multiply_the_need(tmp_path):
    desc = parse_description({**DESCRIPTION, "array": {"sizes": [[256, 256]], "r_wire": 1.0}, "engines": "nodal"})
    cost = estimate_cost(desc)
    check_budget(cost, max_memory=cost.peak_bytes)
    with pytest.raises(ConfigError, match="2 worker"):
        check_budget(cost, max_memory=cost.peak_bytes, jobs=2)
    with pytest.raises(ConfigError, match="sweep too long"):
        check_budget(cost, max_memory=cost.peak_bytes, max_hours=cost.total_seconds / 3600 / 2)


def test_estimate_bounds_the_measured_256_solve():
    """benchmarks/sweep_budget.py measured 185 MiB and 4.7 s for one linear 256 x 256 solve of 16 vectors;
    the estimate must not be below it (it exists to refuse, so it errs high)."""
    desc = parse_description({**DESCRIPTION, "n_vectors": 16, "repeats": 1, "inputs": [{"kind": "dense"}],
                              "array": {"sizes": [[256, 256]], "r_wire": 1.0}, "engines": "nodal"})
    cost = estimate_cost(desc)
    assert cost.peak_bytes >= 185 * 2**20 and cost.total_seconds >= 4.7
    assert cost.peak_bytes <= 4 * 185 * 2**20  # and not absurdly high


def test_run_sweep_refuses_before_starting(tmp_path):
    desc = parse_description({**DESCRIPTION, "array": {"sizes": [[4096, 4096]], "r_wire": 1.0}, "engines": "nodal"})
    with pytest.raises(ConfigError, match="sweep too large"):
        run_sweep(desc, tmp_path / "s.h5", engines=ENGINES, progress=False, max_memory=2**30)
    assert not checkpoint_dir(tmp_path / "s.h5").exists()


def test_ngspice_estimate_bounds_the_measured_64_run():
    """benchmarks/sweep_budget.py: ngspice on 64 x 64 linear cells, 16 vectors, 67 MiB and 38 s."""
    desc = parse_description({**DESCRIPTION, "n_vectors": 16, "repeats": 1, "inputs": [{"kind": "dense"}],
                              "array": {"sizes": [[64, 64]], "r_wire": 1.0}, "engines": "ngspice",
                              "ngspice_max_size": 64})
    cost = estimate_cost(desc)
    assert cost.peak_bytes >= 67 * 2**20 and cost.total_seconds >= 38
