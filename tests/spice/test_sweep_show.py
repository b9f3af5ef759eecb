"""`devicelab sweep show`, the summary table and the sweep plots, on a sweep made with stand-in engines."""

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure

from devicelab.cli import cli
from devicelab.errors import ModelFileError
from devicelab.spice.sweep.config import parse_description
from devicelab.spice.sweep.engines import EngineOutput
from devicelab.spice.sweep.plots import plot_engine_agreement, plot_ideal_error
from devicelab.spice.sweep.results import format_summary, read_sweep, summarize_sweep
from devicelab.spice.sweep.run import run_sweep


def ideal(point, g, v):
    """Stand-in ideal model: I = V G."""
    return EngineOutput(v @ g, {})


def lossy(point, g, v):
    """Stand-in wire-aware engine: relative loss 1e-3 r_row (rows + cols)."""
    return EngineOutput((1 - 1e-3 * point.r_row * (point.rows + point.cols)) * (v @ g), {"ngspice_version": "39"})


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    desc = parse_description({
        "n_vectors": 2, "engines": "both", "ngspice_max_size": 4,
        "array": {"sizes": [[2, 2], [4, 4], [8, 8]], "r_wire": [0.5, 2.0]},
        "conductances": [{"kind": "uniform", "g_min": 1e-6, "g_max": 1e-5}], "inputs": [{"kind": "dense"}]})
    out = tmp_path_factory.mktemp("show") / "s.h5"
    return run_sweep(desc, out, engines={"ideal": ideal, "nodal": lossy, "ngspice": lossy}, progress=False)


def test_summary_table_has_one_line_per_point_with_errors(sweep_file):
    rows = summarize_sweep(read_sweep(sweep_file))
    lines = format_summary(rows).splitlines()
    assert len(lines) == 1 + 6
    assert "nodal vs ngspice" in lines[0] and "ideal err" in lines[0]
    # 8x8 at 2 ohm: ideal error 1/(1 - 0.032) - 1, reference nodal (ngspice not run beyond 4x4)
    assert f"{1 / (1 - 0.032) - 1:.2e} (nodal)" in lines[-1]
    assert lines[1].split()[7] == "0.00e+00"  # nodal and ngspice stand-ins agree exactly


def test_show_command_prints_the_table_and_saves_the_plot(sweep_file, tmp_path):
    result = CliRunner().invoke(cli, ["sweep", "show", str(sweep_file), "--plot", str(tmp_path / "err.png")])
    assert result.exit_code == 0, result.output
    assert "6 points, ngspice 39" in result.output
    assert (tmp_path / "err.png").stat().st_size > 1000


def test_show_rejects_a_file_of_another_format(tmp_path):
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as fh:
        fh.attrs["format"] = "devicelab.model"
    result = CliRunner().invoke(cli, ["sweep", "show", str(tmp_path / "other.h5")])
    assert result.exit_code == 2
    assert "expected a devicelab 'devicelab.sweep' file" in result.output
    with pytest.raises(ModelFileError):
        read_sweep(tmp_path / "other.h5")


def test_ideal_error_plot_has_a_line_per_wire_resistance_and_per_size(sweep_file):
    rows = summarize_sweep(read_sweep(sweep_file))
    fig = plot_ideal_error(rows)
    assert isinstance(fig, Figure)
    ax_size, ax_r = fig.axes
    assert [t.get_text() for t in ax_size.get_legend().get_texts()] == ["r = 0.5 ohm", "r = 2 ohm"]
    assert [t.get_text() for t in ax_r.get_legend().get_texts()] == ["2x2", "4x4", "8x8"]
    x, y = ax_size.get_lines()[2].get_data()  # mean line of r = 2 ohm
    np.testing.assert_allclose(y, 1 / (1 - 2e-3 * 2 * np.sqrt(x)) - 1, rtol=1e-9)


def test_engine_agreement_plot_shows_points_where_both_engines_ran(sweep_file):
    fig = plot_engine_agreement(summarize_sweep(read_sweep(sweep_file)))
    x, _ = fig.axes[0].get_lines()[0].get_data()
    assert sorted(x) == [4, 4, 16, 16]


def test_markdown_report_states_the_errors_and_links_its_figures(sweep_file, tmp_path):
    from devicelab.spice.sweep.report import sweep_report

    text = sweep_report(sweep_file, tmp_path)
    assert "6 points, sizes 2x2, 4x4, 8x8; ngspice 39 on 2x2, 4x4" in text
    assert "nodal solver vs ngspice, full-scale relative error over 4 points: max 0.00e+00" in text
    assert f"worst {1 / (1 - 0.032) - 1:.2e} at 8x8, r_row = 2 ohm" in text
    for name in ("sweep_ideal_error.png", "sweep_engine_agreement.png"):
        assert f"]({name})" in text and (tmp_path / name).stat().st_size > 1000
