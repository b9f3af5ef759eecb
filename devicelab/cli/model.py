"""`devicelab model`: inspect device-model files and sample conductances from them."""

from __future__ import annotations

import json
import math

import click

from devicelab.cli._outputs import check_outputs, overwrite_option
from devicelab.errors import ConfigError


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise ConfigError(f"{what} must be finite numbers, got {text!r}")
    return values


@click.group("model")
def model():
    """Inspect PCM model files (devicelab.device_model) and sample from them."""


@model.command("show")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON (parameters, uncertainties, "
              "units, fit statistics, provenance).")
def show(path, as_json):
    """Print the parameters (with uncertainties and units), fit statistics and provenance of MODEL.h5."""
    from devicelab.devices import read_model_info

    info = read_model_info(path)
    if as_json:
        click.echo(json.dumps(info, indent=2, sort_keys=True, default=str))
        return
    m, unc = info["model"], info["model"].get("uncertainties") or {}
    click.echo(f"{path}: {info['format']} v{info['format_version']} ({info['created_by']}), model '{m['name']}'")

    def line(name, value, err, unit):
        err_text = f" +/- {err:.3g}" if isinstance(err, float) and math.isfinite(err) else ""
        click.echo(f"  {name:<22} {value:.6g}{err_text} {unit}")

    for key, unit in info["units"].items():
        if m.get(key) is None:
            continue
        if key == "g_range":
            click.echo(f"  {key:<22} [{m[key][0]:.6g}, {m[key][1]:.6g}] {unit}")
        elif key == "prog_coeffs":
            errs = unc.get(key) or [math.nan] * len(m[key])
            for k, (c, e) in enumerate(zip(m[key], errs)):
                line(f"prog_coeffs[{k}]", c, e, unit)
        else:
            line(key, m[key], unc.get(key), unit)
    for law in ("nu_mean", "nu_std", "read_noise"):
        click.echo(f"  {law + '.law':<22} {m[law]['law']}")
        for k, v in m[law].items():
            if k == "law":
                continue
            errs = (unc.get(law) or {}).get(k)
            if isinstance(v, list):
                errs = errs if isinstance(errs, list) and len(errs) == len(v) else [math.nan] * len(v)
                for i, (vi, ei) in enumerate(zip(v, errs)):
                    line(f"{law}.{k}[{i}]", vi, ei, "")
            else:
                line(f"{law}.{k}", v, errs, "")
    for name, fit_info in info["fits"].items():
        click.echo(f"  fit {name}: n = {fit_info['n_points']:.0f}, redchi = {fit_info['redchi']:.3g}, "
                   f"AIC = {fit_info['aic']:.4g}, BIC = {fit_info['bic']:.4g}")
        if len(fit_info["candidates"]) > 1:
            crit = fit_info["criterion"] or "bic"
            click.echo(f"    {crit.upper()} of the candidates: " + ", ".join(
                f"{c['model']} {c[crit]:.4g}" for c in fit_info["candidates"]))
    for src in info["provenance"].get("inputs", []):
        click.echo(f"  input {src['path']} sha256 {src['sha256']}")


@model.command("sample")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--preset", "preset_name", default=None, help="Sample a built-in preset (e.g. joshi2020) instead.")
@click.option("--g-target", required=True, help="Comma-separated target conductances, S (e.g. 1e-6,5e-6).")
@click.option("--t", "times", required=True, help="Comma-separated read times after programming, s.")
@click.option("--n", "n", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Devices per target conductance.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="CSV to write (columns g_target, t, g; SI units), written atomically.")
@overwrite_option
def sample(path, preset_name, g_target, times, n, seed, output, overwrite):
    """Sample conductances from MODEL.h5 (or --preset): N devices per target, each read at every time.

    Targets or times outside the range the model was fitted on are sampled but trigger a warning.
    """
    import numpy as np

    from devicelab.devices import load_model, preset, read_model_info, sample_model, write_samples

    if (path is None) == (preset_name is None):
        raise click.UsageError("give exactly one of MODEL.h5 or --preset NAME")
    check_outputs(overwrite, files=[output])
    pcm = load_model(path) if path else preset(preset_name)
    validity = read_model_info(path)["validity"] if path else None
    columns = sample_model(pcm, _floats(g_target, "--g-target"), _floats(times, "--t"), n,
                           np.random.default_rng(seed), validity)
    write_samples(columns, output)
    click.echo(f"{columns['g'].size} samples of model '{pcm.name}' -> {output}")


@model.command("export-aihwkit")
@click.argument("model_ref", metavar="MODEL.h5")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="JSON file to write (aihwkit PCMLikeNoiseModel parameters), written atomically.")
@overwrite_option
def export_aihwkit_command(model_ref, output, overwrite):
    """Write MODEL.h5 (or a preset name, e.g. joshi2020) as aihwkit PCMLikeNoiseModel parameters (JSON).

    prog_coeff, g_max (uS), t_0, t_read, the drift-exponent laws and the read-noise law in aihwkit's forms;
    laws aihwkit cannot express are approximated, with the error stated in the JSON and on stderr.
    """
    from devicelab.devices.aihwkit_export import export_aihwkit
    from devicelab.devices.modelfile import resolve_model

    check_outputs(overwrite, files=[output])
    path, notes = export_aihwkit(resolve_model(model_ref), output)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"aihwkit noise model -> {path}")
