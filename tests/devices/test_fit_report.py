"""Fit report: plot functions return Figures (no pyplot), the folder holds PNGs and a Markdown/HTML summary."""

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

from devicelab.devices import fit_pcm_model, plots, preset, write_fit_report
from devicelab.devices import synthetic as syn


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(5)
    model = preset("joshi2020")
    levels = np.geomspace(2e-6, 25e-6, 6)
    tables = [syn.program_table(model, levels, 60, rng), syn.drift_table(model, levels, 30, [20, 200, 2e3, 2e4], rng),
              syn.read_noise_series(model, levels[::2], 1024, 50.0, rng)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small data: bound warnings are not what this test is about
        return fit_pcm_model(*tables)


def test_plot_functions_return_figures(result):
    m, p = result.model, result.parts
    figures = [plots.plot_drift(result.drift_summary, m), plots.plot_sigma_prog(p["sigma_prog"], m),
               plots.plot_nu(p["nu_mean"], p["nu_std"], m, result.device_drift.g_target, result.device_drift.nu),
               plots.plot_read_noise(p["read_noise"], m), plots.plot_psd(result.psd_fits)]
    assert all(isinstance(f, Figure) and f.axes for f in figures)


def test_report_folder_has_plots_tables_and_html(result, tmp_path):
    md = write_fit_report(result, tmp_path / "r")
    text = md.read_text()
    for name in ("drift.png", "sigma_prog.png", "nu.png", "read_noise.png", "psd.png"):
        assert f"]({name})" in text and (tmp_path / "r" / name).stat().st_size > 1000
    assert "| parameter | value ± stderr | unit | bounds |" in text
    html = (tmp_path / "r" / "report.html").read_text()
    assert "<table" in html and "<img src='drift.png'" in html


def _labels_inside(fig) -> bool:
    """Every axis label and title lies inside the saved figure (nothing cut off)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    texts = [t for ax in fig.axes for t in (ax.xaxis.label, ax.yaxis.label, ax.title) if t.get_text()]
    return all(box.x0 <= b.x0 and b.x1 <= box.x1 and box.y0 <= b.y0 and b.y1 <= box.y1
               for b in (t.get_window_extent(renderer) for t in texts))


def test_every_fit_report_plot_keeps_its_labels_inside_the_figure():
    """read_noise.png had its y label cut off; every devices plot is checked the same way."""
    from devicelab.devices import plots
    from devicelab.devices.fitbase import PartFit
    from devicelab.devices.pcm import PRESETS

    model = PRESETS["joshi2020"]()
    g = np.array([2e-6, 5e-6, 10e-6, 20e-6])
    part = PartFit.__new__(PartFit)
    object.__setattr__(part, "data", {"g": g, "y": model.q_s(g), "yerr": 0.1 * model.q_s(g)})
    assert _labels_inside(plots.plot_read_noise(part, model))
