"""Fit report folders: PNG plots plus a short Markdown and HTML summary with parameter tables.

:func:`write_fit_report` documents a :class:`~devicelab.devices.fit_pcm.PCMFitResult`;
:func:`write_relaxation_report` a :class:`~devicelab.devices.relaxation.RelaxationResult`.
Every file is written atomically; the functions return the Markdown path.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from devicelab.devices import plots
from devicelab.devices.fitbase import PartFit
from devicelab.files import atomic_folder, atomic_output
from devicelab.markdown import write_markdown_report


def _fmt(value: float, err: float = math.nan) -> str:
    if value is None or not np.isfinite(value):
        return str(value)
    return f"{value:.4g}" if not np.isfinite(err) else f"{value:.4g} ± {err:.2g}"


def _save(fig, path: Path) -> str:
    with atomic_output(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path.name


def _part_table(part: PartFit) -> list[str]:
    lines = [f"**{part.name}**: {part.formula}  ",
             f"n = {part.n_points}, χ² = {part.chisqr:.4g}, reduced χ² = {part.redchi:.3g}, "
             f"AIC = {part.aic:.4g}, BIC = {part.bic:.4g}, converged: {part.success}", "",
             "| parameter | value ± stderr | unit | bounds |", "|---|---|---|---|"]
    lines += [f"| {k} | {_fmt(p.value, p.stderr)} | {p.units} | [{p.min:.3g}, {p.max:.3g}] |"
              for k, p in part.params.items()]
    if len(part.candidates) > 1:
        lines += ["", f"Candidates ({part.criterion.upper()}, lower is better): "
                  + ", ".join(f"{c['model']}: {c[part.criterion]:.4g}" for c in part.candidates)]
    return lines + [""]


def write_markdown_html(folder: Path, title: str, lines: list[str]) -> Path:
    """Write ``report.md`` and ``report.html`` into ``folder``; return the Markdown path."""
    return write_markdown_report(folder / "report.md", "\n".join([f"# {title}", ""] + lines), title)


def write_fit_report(result, folder, *, model_path=None, overwrite: bool = True) -> Path:
    """Write plots (drift, sigma_prog, nu(G), read noise, PSD) and the summary of a PCM fit into ``folder``
    (atomically, see :func:`devicelab.files.atomic_folder`); returns the path of ``report.md``."""
    with atomic_folder(folder, overwrite=overwrite) as tmp:
        _fit_report(result, tmp, model_path)
    return Path(folder) / "report.md"


def _fit_report(result, folder: Path, model_path) -> None:
    model, parts = result.model, result.parts
    images = []
    if result.drift_summary:
        images.append(("Measured vs fitted drift per level", _save(plots.plot_drift(result.drift_summary, model),
                                                                   folder / "drift.png")))
    if "sigma_prog" in parts:
        images.append(("Programming noise", _save(plots.plot_sigma_prog(parts["sigma_prog"], model),
                                                  folder / "sigma_prog.png")))
    if "nu_mean" in parts:
        dd = result.device_drift
        fig = plots.plot_nu(parts["nu_mean"], parts["nu_std"], model, dd.g_target if dd else None,
                            dd.nu if dd else None)
        images.append(("Drift exponent mean and spread", _save(fig, folder / "nu.png")))
    if "read_noise" in parts:
        images.append(("Read-noise amplitude", _save(plots.plot_read_noise(parts["read_noise"], model),
                                                     folder / "read_noise.png")))
    if result.psd_fits:
        images.append(("Read-noise PSD", _save(plots.plot_psd(result.psd_fits), folder / "psd.png")))
    lines = [f"Model `{model.name}`: g_max = {model.g_max:.4g} S, t0 = {model.t0:g} s, t_read = {model.t_read:g} s"
             + (f"; written to `{model_path}`" if model_path else "") + ".", ""]
    lines += ["## Sources", "", "| file | kind | rows | devices | SHA-256 |", "|---|---|---|---|---|"]
    lines += [f"| {s['source']} | {s['kind']} | {s['rows']} | {s['devices']} | {(s['sha256'] or '-')[:16]} |"
              for s in result.sources]
    lines += ["", "## Where each part came from", ""] + [f"- {n}" for n in result.notes] + [""]
    if result.validity:
        lines += ["Validity range of the data: " + ", ".join(f"{k} = {v:.4g}" for k, v in result.validity.items()),
                  ""]
    lines += ["## Parameters", ""]
    for part in parts.values():
        lines += _part_table(part)
    if result.psd_fits:
        lines += ["## PSD fits per series", "", "| G_target (S) | mean G (S) | A (1/Hz) | alpha | Q_s |",
                  "|---|---|---|---|---|"]
        lines += [f"| {float(p.data['g_target']):.4g} | {float(p.data['mean_g']):.4g} | "
                  f"{_fmt(p.value('A'), p.stderr('A'))} | {_fmt(p.value('alpha'), p.stderr('alpha'))} | "
                  f"{_fmt(p.value('Q_s'), p.stderr('Q_s'))} |" for p in result.psd_fits]
        lines.append("")
    lines += ["## Plots", ""]
    for title, name in images:
        lines += [f"### {title}", "", f"![{title}]({name})", ""]
    write_markdown_html(folder, "PCM model fit report", lines)


def write_relaxation_report(result, folder, *, overwrite: bool = True) -> Path:
    """Write spread-growth and PSD plots and tables of a relaxation fit into ``folder`` (atomically, see
    :func:`devicelab.files.atomic_folder`); returns the path of ``report.md``."""
    with atomic_folder(folder, overwrite=overwrite) as tmp:
        _relaxation_report(result, tmp)
    return Path(folder) / "report.md"


def _relaxation_report(result, folder: Path) -> None:
    rows = result.rows()
    lines = ["## Sources", ""] + [f"- {s['source']} ({s['kind']}, {s['rows']} rows)" for s in result.sources] + [""]
    if result.spread:
        name = _save(plots.plot_spread_growth(result.spread), folder / "spread_growth.png")
        grows = sum(r["growth_per_decade"] > 0 for r in rows["spread"])
        caveat = result.quality_caveat()
        lines += ["## Spread growth vs log time", "",
                  f"{grows} of {len(rows['spread'])} levels show a spread that grows with time; form per level "
                  f"chosen by {result.spread[0].criterion.upper()} between linear and sqrt in log10 t.", "",
                  f"**Caveat**: {caveat}." if caveat else "Every spread fit passes the chi-square and end-residual "
                  "checks.", "",
                  "| G_target (uS) | form | sigma first (uS) | sigma last (uS) | growth (uS/decade) | red. χ² | fit |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['g_target'] * 1e6:.3g} | {r['form']} | {r['sigma_first'] * 1e6:.3g} | "
                  f"{r['sigma_last'] * 1e6:.3g} | {r['growth_per_decade'] * 1e6:.3g} | {r['redchi']:.3g} | "
                  f"{'poor: ' + r['quality'] if r['poor'] else 'ok'} |" for r in rows["spread"]]
        lines += ["", "Cells beyond 5 robust sigmas (1.4826 MAD) of their level's median, per read time:", "",
                  "| t (s) | cells | beyond 5 robust sigmas | largest level |", "|---|---|---|---|"]
        lines += [f"| {r['t']:g} | {r['cells']} | {r['fraction'] * 100:.2f} % | {r['max_level_fraction'] * 100:.2f} % |"
                  for r in rows["tails"]]
        lines += ["", f"![spread growth]({name})", ""]
    if result.spectra:
        name = _save(plots.plot_psd(result.spectra), folder / "psd.png")
        lines += ["## 1/f read-noise spectra", "", "S_G(f)/G^2 = A / f^alpha (+ W), Welch PSD, log-binned.", "",
                  "| G_target (uS) | mean G (uS) | A (1/Hz) | alpha | S_G(1 Hz) (S^2/Hz) | model |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['g_target'] * 1e6:.4g} | {r['mean_g'] * 1e6:.4g} | {_fmt(r['A'], r['A_err'])} | "
                  f"{_fmt(r['alpha'], r['alpha_err'])} | {r['S_abs_1Hz']:.3g} | {r['model']} |"
                  for r in rows["spectra"]]
        lines += ["", f"![PSD]({name})", ""]
    write_markdown_html(folder, "Relaxation and read-noise fit report", lines)


def model_comparison(model, reference, g_levels) -> str:
    """Markdown table comparing a fitted model's laws with a reference (e.g. the truth of synthetic data).

    ``g_levels`` are conductances (S) at which sigma_prog, mu_nu, sigma_nu and Q_s are compared; scalar
    parameters (Ea, V0) are listed with the fit's standard errors.
    """
    g_levels = np.asarray(g_levels, dtype=float)
    rows = ["| G (uS) | sigma_prog fit / ref (uS) | mu_nu fit / ref | sigma_nu fit / ref | Q_s fit / ref |",
            "|---|---|---|---|---|"]
    mean, std = model.nu_stats(g_levels)
    ref_mean, ref_std = reference.nu_stats(g_levels)
    sp, ref_sp = model.sigma_prog(g_levels), reference.sigma_prog(g_levels)
    q, ref_q = model.q_s(g_levels), reference.q_s(g_levels)
    for k, g in enumerate(g_levels):
        rows.append(f"| {g * 1e6:.3g} | {sp[k] * 1e6:.3f} / {ref_sp[k] * 1e6:.3f} | {mean[k]:.4f} / {ref_mean[k]:.4f} "
                    f"| {std[k]:.4f} / {ref_std[k]:.4f} | {q[k]:.4f} / {ref_q[k]:.4f} |")
    unc = model.uncertainties or {}
    for name, unit in (("activation_energy", "eV"), ("v0", "V")):
        value, ref = getattr(model, name), getattr(reference, name)
        if value is not None:
            rows.append("")
            rows.append(f"{name}: fit {_fmt(value, unc.get(name, math.nan))} {unit}, reference {ref} {unit}")
    return "\n".join(rows)
