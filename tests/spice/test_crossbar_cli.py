"""``devicelab crossbar simulate``: files in and out, clear errors, nothing half-written; and the plots."""

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure

from devicelab.cli import cli
from devicelab.spice import CrossbarSpec, solve_nodal
from devicelab.spice.crossbar.plots import plot_error_vs_size, plot_ir_drop

BASE = ["crossbar", "simulate", "--rows", "6", "--cols", "4", "--r-row", "2", "--r-col", "2"]


@pytest.fixture
def arrays(tmp_path, rng):
    g = rng.uniform(0.25e-6, 25e-6, (6, 4))
    v = rng.uniform(0.0, 0.2, (3, 6))
    np.save(tmp_path / "G.npy", g)
    np.save(tmp_path / "V.npy", v)
    return tmp_path, g, v


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_nodal_engine_writes_the_output_currents(arrays):
    folder, g, v = arrays
    result = run(BASE + ["--conductances", str(folder / "G.npy"), "--inputs", str(folder / "V.npy"),
                         "-o", str(folder / "I.npy"), "--plot", str(folder / "heat.png")])
    assert result.exit_code == 0, result.output
    expected = solve_nodal(CrossbarSpec(6, 4, r_row=2.0, r_col=2.0), g, v)
    np.testing.assert_array_equal(np.load(folder / "I.npy"), expected)
    assert (folder / "heat.png").read_bytes()[:4] == b"\x89PNG"
    assert "max deviation from ideal" in result.output


@pytest.mark.spice
def test_ngspice_engine_agrees_with_nodal(arrays):
    folder, g, v = arrays
    result = run(BASE + ["--conductances", str(folder / "G.npy"), "--inputs", str(folder / "V.npy"),
                         "--engine", "ngspice", "--device", "sinh", "--v0", "0.25", "-o", str(folder / "I.npy")])
    assert result.exit_code == 0, result.output
    expected = solve_nodal(CrossbarSpec(6, 4, r_row=2.0, r_col=2.0, device="sinh", v0=0.25), g, v)
    np.testing.assert_allclose(np.load(folder / "I.npy"), expected, rtol=1e-6)


def test_wrong_conductance_shape_names_file_and_expected_shape(arrays):
    folder, _, _ = arrays
    result = CliRunner().invoke(cli, BASE + ["--differential", "--conductances", str(folder / "G.npy"),
                                             "--inputs", str(folder / "V.npy"), "-o", str(folder / "I.npy")])
    assert result.exit_code == 2
    assert "G.npy" in result.output and "expected shape (2, 6, 4)" in result.output
    assert not (folder / "I.npy").exists()


def test_wrong_input_width_is_explained(arrays, tmp_path):
    folder, _, _ = arrays
    np.save(tmp_path / "bad.npy", np.zeros((2, 5)))
    result = CliRunner().invoke(cli, BASE + ["--conductances", str(folder / "G.npy"),
                                             "--inputs", str(tmp_path / "bad.npy"), "-o", str(folder / "I.npy")])
    assert result.exit_code == 2 and "expected shape (n_vectors, 6)" in result.output


def test_pickled_arrays_are_refused(arrays, tmp_path):
    folder, _, _ = arrays
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    result = CliRunner().invoke(cli, BASE + ["--conductances", str(tmp_path / "obj.npy"),
                                             "--inputs", str(folder / "V.npy"), "-o", str(folder / "I.npy")])
    assert result.exit_code == 2 and "obj.npy" in result.output
    assert not (folder / "I.npy").exists()


def test_non_finite_inputs_are_refused(arrays, tmp_path):
    folder, _, v = arrays
    v = v.copy()
    v[1, 2] = np.nan
    np.save(tmp_path / "nan.npy", v)
    result = CliRunner().invoke(cli, BASE + ["--conductances", str(folder / "G.npy"),
                                             "--inputs", str(tmp_path / "nan.npy"), "-o", str(folder / "I.npy")])
    assert result.exit_code == 2 and "finite" in result.output


def test_help_describes_units():
    result = run(["crossbar", "simulate", "--help"])
    assert result.exit_code == 0 and "(ohm)" in result.output and "(S)" in result.output


def test_ir_drop_plot_is_a_figure_with_a_colorbar():
    fig = plot_ir_drop(np.full((4, 3), 0.18), applied=np.full(4, 0.2))
    assert isinstance(fig, Figure) and len(fig.axes) == 2


def test_ir_drop_map_is_in_volts_and_rows_at_zero_volts_are_not_blank():
    cells = np.array([[0.19, 0.18], [0.0005, 0.001], [0.009, 0.008]])
    applied = np.array([0.2, 0.0, 0.01])
    data = plot_ir_drop(cells, applied=applied).axes[0].get_images()[0].get_array()
    assert np.all(np.isfinite(data))  # the 0 V row is drawn, not NaN
    np.testing.assert_allclose(data, (applied[:, None] - cells) * 1e3, rtol=1e-12)  # mV, not per-row ratios


def test_error_vs_size_plot_has_one_line_per_label():
    fig = plot_error_vs_size([16, 32, 64], {"ideal": [1e-2, 3e-2, 1e-1], "nodal": [1e-12, 2e-12, 4e-12]})
    assert len(fig.axes[0].get_lines()) == 2


def test_netlist_command_writes_the_same_text_as_the_api(arrays):
    from devicelab.spice import crossbar_netlist

    folder, g, v = arrays
    args = ["crossbar", "netlist"] + BASE[2:] + ["--conductances", str(folder / "G.npy"),
                                                 "--inputs", str(folder / "V.npy"), "-o", str(folder / "x.cir")]
    result = run(args)
    assert result.exit_code == 0, result.output
    from devicelab.spice.crossbar.files import with_print

    expected = with_print(crossbar_netlist(CrossbarSpec(6, 4, r_row=2.0, r_col=2.0), g, v))
    assert (folder / "x.cir").read_text() == expected


@pytest.mark.spice
def test_exported_netlist_prints_the_output_currents_under_ngspice_batch(arrays):
    """README: `devicelab crossbar netlist ... -o x.cir` then `ngspice -b x.cir` shows one line per vector."""
    import subprocess

    folder, g, v = arrays
    result = run(["crossbar", "netlist", "--rows", "6", "--cols", "4", "--r-row", "2", "--r-col", "2",
                  "--conductances", str(folder / "G.npy"), "--inputs", str(folder / "V.npy"),
                  "-o", str(folder / "x.cir")])
    assert result.exit_code == 0, result.output
    out = subprocess.run(["ngspice", "-b", str(folder / "x.cir")], capture_output=True, text=True, timeout=60).stdout
    rows = [line.split() for line in out.splitlines() if line[:1].isdigit() and "\t" in line]
    printed = np.array([[float(x) for x in row[2:]] for row in rows])
    expected = solve_nodal(CrossbarSpec(6, 4, r_row=2.0, r_col=2.0), g, v)
    np.testing.assert_allclose(printed, expected, rtol=1e-5)  # .print shows 7 significant digits


def test_multi_device_unit_cells_from_the_command_line(tmp_path, rng):
    spec = CrossbarSpec(6, 4, r_row=2.0, r_col=2.0, differential=True, devices_per_polarity=2,
                        significance=(3.0, 1.0))
    g = rng.uniform(0.25e-6, 25e-6, spec.g_shape)
    v = rng.uniform(0.0, 0.2, (3, 6))
    np.save(tmp_path / "G.npy", g)
    np.save(tmp_path / "V.npy", v)
    result = run(BASE + ["--differential", "--devices-per-polarity", "2", "--significance", "3,1",
                         "--conductances", str(tmp_path / "G.npy"), "--inputs", str(tmp_path / "V.npy"),
                         "-o", str(tmp_path / "I.npy")])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "I.npy"), solve_nodal(spec, g, v))
