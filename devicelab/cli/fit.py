"""`devicelab fit`: fit a PCM compact model (or relaxation / 1/f laws of measured data) to measurement files."""

from __future__ import annotations

import click

from devicelab.cli._outputs import check_outputs, overwrite_option
from devicelab.devices.constants import DRIFT_FAMILIES, T0, T_READ, T_REF_TEMPERATURE
from devicelab.errors import ConfigError


def _per_file(items, what: str, convert) -> dict:
    """``[FILE=]VALUE`` options -> {FILE or None: converted VALUE}."""
    out: dict = {}
    for item in items:
        path, sep, value = item.rpartition("=")
        key = path if sep else None
        if key in out:
            raise ConfigError(f"{what} given twice for {key or 'all files'}")
        out[key] = convert(value)
    return out


@click.command("fit")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Model file to write (HDF5, format devicelab.device_model v1). Required unless --relaxation.")
@click.option("--mapping", "mappings", multiple=True, metavar="[FILE=]MAP.toml",
              help="Column/unit mapping TOML, for all files or (FILE=MAP.toml) for one file. Repeatable.")
@click.option("--column", "columns", multiple=True, metavar="KEY=VALUE",
              help="Inline mapping entry for all files, e.g. g=G_uS:uS, t=time:min, delimiter=';'. Repeatable.")
@click.option("--kind", "kinds", multiple=True, metavar="[FILE=]KIND",
              help="Say what a file holds instead of detecting it: programming, drift, bake, timeseries, iv.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the report (PNG plots, report.md, report.html).")
@click.option("--g-max", type=float, default=None, help="Normalization conductance of the G laws, S "
              "(default: largest target conductance in the data).")
@click.option("--t0", type=float, default=T0, show_default=True, help="Drift reference time, s.")
@click.option("--t-read", type=float, default=T_READ, show_default=True, help="Read duration, s.")
@click.option("--t-ref", type=float, default=T_REF_TEMPERATURE, show_default=True,
              help="Temperature at which the drift laws hold, K.")
@click.option("--criterion", type=click.Choice(["aic", "bic"]), default="bic", show_default=True,
              help="Information criterion choosing polynomial degree, drift-law family and clip variants.")
@click.option("--drift-law", "drift_laws", multiple=True, type=click.Choice(DRIFT_FAMILIES),
              help="Drift-exponent law families the criterion may choose among (repeatable; default: all). "
                   "--drift-law loglinear keeps the aihwkit form.")
@click.option("--base-preset", default=None, help="Take parts without data from this preset (e.g. joshi2020).")
@click.option("--relaxation", is_flag=True,
              help="Fit spread growth vs log time (multi-time files) and 1/f spectra (time series) of measured "
                   "data instead of a PCM model; writes only the report.")
@click.option("--robust", is_flag=True, help="With --relaxation: spread as 1.4826 x MAD instead of std.")
@overwrite_option
def fit(files, output, mappings, columns, kinds, report_dir, g_max, t0, t_read, t_ref, criterion, drift_laws,
        base_preset, relaxation, robust, overwrite):
    """Fit a PCM model to measurement FILES and write it to -o MODEL.h5 (and a --report folder).

    What each file holds is detected (one read per device: programming; several reads: drift; several
    temperatures: bake; dense uniform sampling: read-noise time series; v/i columns: I-V sweeps) or given
    with --kind. Foreign formats load through --mapping / --column. With --relaxation, fits the spread growth
    and 1/f spectra of measured data (e.g. the real RRAM relaxation set) and prints a summary.
    """
    from devicelab.devices import FitOptions, fit_files, fit_relaxation_files, preset
    from devicelab.measurements import ColumnMapping

    if output is None and not relaxation:
        raise click.UsageError("-o/--output MODEL.h5 is required (unless --relaxation)")
    check_outputs(overwrite, files=[None if relaxation else output], folders=[report_dir])
    mapping_by_file = _per_file(mappings, "--mapping", ColumnMapping.from_toml)
    if columns:
        if None in mapping_by_file:
            raise ConfigError("give either --mapping MAP.toml for all files or --column entries, not both")
        mapping_by_file[None] = ColumnMapping.from_cli(columns)
    if relaxation:
        result, report = fit_relaxation_files(files, report_dir, mappings=mapping_by_file, criterion=criterion,
                                              estimator="mad" if robust else "std")
        rows = result.rows()
        for r in rows["spread"]:
            click.echo(f"spread {r['g_target'] * 1e6:8.3f} uS: {r['form']:6s} {r['sigma_first'] * 1e6:.3f} -> "
                       f"{r['sigma_last'] * 1e6:.3f} uS, {r['growth_per_decade'] * 1e6:+.3f} uS/decade, "
                       f"red. chi2 {r['redchi']:.3g}" + (f"  POOR FIT: {r['quality']}" if r["poor"] else ""))
        for r in rows["tails"]:
            click.echo(f"tail   t = {r['t']:g} s: {r['fraction'] * 100:.2f} % of {r['cells']} cells beyond 5 robust "
                       f"sigmas (largest level: {r['max_level_fraction'] * 100:.2f} %)")
        if rows["spread"]:
            grows = sum(r["growth_per_decade"] > 0 for r in rows["spread"])
            caveat = result.quality_caveat()
            click.echo(f"{grows} of {len(rows['spread'])} levels grow" + (f", but {caveat}" if caveat else
                                                                          "; every spread fit is good"))
        for r in rows["spectra"]:
            click.echo(f"PSD    {r['g_target'] * 1e6:8.3f} uS: A = {r['A']:.3g} /Hz, alpha = {r['alpha']:.3f} "
                       f"+/- {r['alpha_err']:.3f} ({r['model']})")
        if report:
            click.echo(f"report: {report}")
        return
    options = FitOptions(g_max=g_max, t0=t0, t_read=t_read, t_ref_temperature=t_ref, criterion=criterion,
                         drift_laws=drift_laws or DRIFT_FAMILIES)
    result, model_path, report = fit_files(files, output, mappings=mapping_by_file,
                                           kinds=_per_file(kinds, "--kind", str), report_dir=report_dir,
                                           options=options, base=preset(base_preset) if base_preset else None,
                                           progress=True)
    click.echo(result.report())
    click.echo(f"model: {model_path}")
    if report:
        click.echo(f"report: {report}")
