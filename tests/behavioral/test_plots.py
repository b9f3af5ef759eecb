"""Plots return matplotlib Figures built without pyplot, with the expected panels."""

import numpy as np
from matplotlib.figure import Figure

from devicelab.behavioral import plot_column_errors, plot_error_vs_size, plot_model_vs_reference


def _rows():
    return [{"rows": n, "r_row": r, "err_model": 1e-4 * n * r, "err_ideal": 1e-3 * n * r}
            for n in (16, 32, 64) for r in (0.5, 2.0, 5.0)]


def test_scatter_has_model_ideal_and_identity(rng):
    ref = rng.uniform(0, 1e-5, (4, 8))
    fig = plot_model_vs_reference(ref, ref * 1.01, ref * 1.3)
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["ideal V.G", "behavioral model", "y = x"]


def test_error_vs_size_and_wire_resistance_has_two_panels():
    fig = plot_error_vs_size(_rows())
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[1].get_xlabel() == "wire resistance per segment (ohm)"


def test_column_error_map_shape_follows_the_batch(rng):
    ref = rng.uniform(0, 1e-5, (6, 10))
    fig = plot_column_errors(ref, ref + 1e-8, ref * 1.2)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (6, 10)
    np.testing.assert_allclose(image, 100 * 1e-8 / np.sqrt(np.mean(ref**2)))


def test_demo_report_writes_model_and_plots(tmp_path, nodal_sweep):
    from devicelab.behavioral import load_crossbar_model
    from devicelab.behavioral.report import crossbar_model_report

    path, body = crossbar_model_report(nodal_sweep, tmp_path)
    assert load_crossbar_model(path).error_table
    for name in ("behavioral_error_vs_size.png", "behavioral_scatter.png", "behavioral_column_errors.png"):
        assert (tmp_path / name).stat().st_size > 1000 and f"({name})" in body
    assert "held-out" in body and "err_model" in body
