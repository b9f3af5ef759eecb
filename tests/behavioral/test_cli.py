"""`devicelab behavioral build|check|apply` end to end on a small nodal-solver sweep."""

import numpy as np
from click.testing import CliRunner

from devicelab.cli import cli


def test_build_check_apply(tmp_path, nodal_sweep, rng):
    runner = CliRunner()
    model = tmp_path / "xbar_model.h5"
    res = runner.invoke(cli, ["behavioral", "build", str(nodal_sweep), "-o", str(model)])
    assert res.exit_code == 0, res.output
    assert "crossbar model written" in res.output and "points: target met" in res.output
    res = runner.invoke(cli, ["behavioral", "check", str(model)])
    assert res.exit_code == 0, res.output
    assert "err_model" in res.output and "valid for 8-16 rows" in res.output
    res = runner.invoke(cli, ["behavioral", "check", str(model), "--against", str(nodal_sweep)])
    assert res.exit_code == 0, res.output
    assert res.output.count("\n") > 8  # all 8 points of the sweep, not just the held-out half
    g = rng.uniform(1e-6, 2e-5, (16, 16))
    np.save(tmp_path / "g.npy", g)
    np.save(tmp_path / "v.npy", rng.uniform(0, 0.2, (4, 16)))
    res = runner.invoke(cli, ["behavioral", "apply", str(model), "--conductances", str(tmp_path / "g.npy"),
                              "--inputs", str(tmp_path / "v.npy"), "-o", str(tmp_path / "i.npy")])
    assert res.exit_code == 0, res.output
    assert np.load(tmp_path / "i.npy").shape == (4, 16)


def test_cli_errors_are_one_line_with_exit_code_2(tmp_path):
    (tmp_path / "bad.h5").write_text("nope")
    res = CliRunner().invoke(cli, ["behavioral", "check", str(tmp_path / "bad.h5")])
    assert res.exit_code == 2
    assert "devicelab: error:" in res.output and "bad.h5" in res.output


def test_every_command_has_help():
    for cmd in ("build", "check", "apply"):
        res = CliRunner().invoke(cli, ["behavioral", cmd, "--help"])
        assert res.exit_code == 0 and "Usage" in res.output


def test_build_refuses_a_sweep_without_held_out_draws(nodal_sweep):
    import pytest

    from devicelab.behavioral import build_crossbar_model
    from devicelab.errors import ConfigError
    from devicelab.spice.sweep.results import SweepData, read_sweep

    data = read_sweep(nodal_sweep)
    one_draw = SweepData(data.path, data.provenance, data.records[:1])
    with pytest.raises(ConfigError, match="at least two distinct conductance/input draws"):
        build_crossbar_model(one_draw)


def test_build_binds_the_requested_wire_resistance(tmp_path, nodal_sweep):
    from devicelab.behavioral import load_crossbar_model

    model = tmp_path / "xbar_5ohm.h5"
    res = CliRunner().invoke(cli, ["behavioral", "build", str(nodal_sweep), "-o", str(model), "--r-wire", "5"])
    assert res.exit_code == 0, res.output
    circuit = load_crossbar_model(model).circuit
    assert (circuit.r_row, circuit.r_col) == (5.0, 5.0)  # the sweep's largest is 80 ohm, the default


def test_build_refuses_a_wire_resistance_the_sweep_does_not_have(tmp_path, nodal_sweep):
    res = CliRunner().invoke(cli, ["behavioral", "build", str(nodal_sweep), "-o", str(tmp_path / "x.h5"),
                                   "--r-wire", "3"])
    assert res.exit_code == 2
    assert "no sweep point has r_row = r_col = 3 ohm" in res.output and "5, 80" in res.output
    assert not (tmp_path / "x.h5").exists()
