"""Real sweeps: the nodal solver and ngspice on small arrays, through the runner, the CLI and Dask."""

import math
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.cli import cli
from devicelab.spice.sweep.config import load_description, parse_description
from devicelab.spice.sweep.data import point_arrays
from devicelab.spice.sweep.engines import crossbar_spec, nodal_engine
from devicelab.spice.sweep.executor import DaskExecutor
from devicelab.spice.sweep.results import read_sweep, summarize_sweep
from devicelab.spice.sweep.run import run_sweep

pytestmark = pytest.mark.spice

SMALL = {
    "name": "small", "n_vectors": 5, "engines": "both", "seed": 3,
    "array": {"sizes": [[3, 4], [6, 6]], "r_wire": 2.0},
    "devices": [{"kind": "linear"}, {"kind": "sinh", "v0": 0.25}],
    "conductances": [{"kind": "uniform", "g_min": 1e-6, "g_max": 25e-6}],
    "inputs": [{"kind": "dense", "v_read": 0.3}],
}


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("spice") / "small.h5"
    return read_sweep(run_sweep(parse_description(SMALL), out, progress=False))


def test_nodal_agrees_with_ngspice_on_every_point(small_sweep):
    rows = summarize_sweep(small_sweep)
    assert len(rows) == 4 and all(r["reference"] == "ngspice" for r in rows)
    # the required agreement between the nodal solver and ngspice is 1e-6 relative
    assert max(r["err_nodal_ngspice"] for r in rows) < 1e-6


def test_ideal_model_error_is_visible_with_wires_and_sinh_devices(small_sweep):
    for r in summarize_sweep(small_sweep):
        assert r["err_ideal"] > 1e-5, r  # 10x the solvers' agreement target


def test_ideal_error_grows_with_array_size_at_fixed_wire_resistance(small_sweep):
    rows = [r for r in summarize_sweep(small_sweep) if r["device"] == "linear"]
    errs = {(r["rows"], r["cols"]): r["err_ideal"] for r in rows}
    assert errs[(6, 6)] > errs[(3, 4)]


def test_ngspice_points_carry_version_and_netlist_hash(small_sweep):
    for rec in small_sweep.records:
        assert rec.params["ngspice_version"] not in ("", "unknown")
        assert len(rec.params["netlist_sha256"]) == 64
        assert rec.times["ngspice"] > 0 and rec.times["nodal"] > 0
    hashes = {rec.params["netlist_sha256"] for rec in small_sweep.records}
    assert len(hashes) == 4


@pytest.mark.parametrize("cell", ["passive", "1t1r"])
def test_points_map_onto_crossbar_specs_field_by_field(cell):
    desc = parse_description({**SMALL, "array": {"sizes": [[3, 5]], "r_row": 1.5, "r_col": 2.5, "r_driver": 10.0,
                                                 "r_sense": 20.0, "cell": cell, "differential": True},
                              "devices": [{"kind": "sinh", "v0": 0.3}]})
    (point,) = desc.points()
    spec = crossbar_spec(point)
    assert (spec.rows, spec.cols, spec.r_row, spec.r_col, spec.r_driver, spec.r_sense) == (3, 5, 1.5, 2.5, 10.0, 20.0)
    assert (spec.device, spec.v0, spec.cell, spec.differential) == ("sinh", 0.3, cell, True)
    g, v = point_arrays(point)
    assert nodal_engine(point, g, v).currents.shape == (5, 5)


def test_without_wire_resistance_the_ideal_model_is_exact_also_for_differential_pairs(tmp_path):
    desc = parse_description({**SMALL, "array": {"sizes": [[4, 3]], "r_wire": 0.0, "differential": [False, True]},
                              "devices": [{"kind": "linear"}]})
    data = read_sweep(run_sweep(desc, tmp_path / "zero.h5", progress=False))
    single, diff = data.records
    assert single.g.shape == (4, 3) and diff.g.shape == (2, 4, 3)
    np.testing.assert_allclose(diff.i_ideal, diff.v @ (diff.g[0] - diff.g[1]))
    for row in summarize_sweep(data):
        # ngspice's reltol = 1e-9 bounds its disagreement with the closed form
        assert row["err_ideal"] < 1e-8 and row["err_nodal_ngspice"] < 1e-8


def test_cli_sweep_run_writes_a_file_that_show_summarizes(tmp_path):
    toml = tmp_path / "cli.toml"
    toml.write_text(textwrap.dedent("""
        name = "cli"
        n_vectors = 3
        engines = "both"
        [array]
        sizes = [[2, 2], [4, 4]]
        r_wire = 1.0
        [[conductances]]
        kind = "uniform"
        g_min = 1e-6
        g_max = 1e-5
        [[inputs]]
        kind = "sparse"
        density = 0.5
    """))
    runner = CliRunner()
    out = tmp_path / "cli.h5"
    result = runner.invoke(cli, ["sweep", "run", str(toml), "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(cli, ["sweep", "show", str(out)])
    assert shown.exit_code == 0 and "2 points" in shown.output
    assert read_sweep(out).provenance["description_sha256"] == load_description(toml).sha256()
    # a changed description is refused with one clear line
    toml.write_text(toml.read_text().replace("r_wire = 1.0", "r_wire = 1.5"))
    refused = runner.invoke(cli, ["sweep", "run", str(toml), "-o", str(out), "--no-progress"])
    assert refused.exit_code == 2
    assert "exists and was made from a different sweep description" in refused.output


@pytest.mark.slow
def test_dask_process_workers_can_run_ngspice(tmp_path):
    pytest.importorskip("distributed")
    desc = parse_description({**SMALL, "array": {"sizes": [[3, 3]], "r_wire": [0.5, 1.0]},
                              "devices": [{"kind": "linear"}]})
    with DaskExecutor("local", jobs=2, processes=True) as ex:
        data = read_sweep(run_sweep(desc, tmp_path / "dask.h5", executor=ex, progress=False))
    errs = [r["err_nodal_ngspice"] for r in summarize_sweep(data)]
    assert len(errs) == 2 and not any(math.isnan(e) for e in errs) and max(errs) < 1e-6
