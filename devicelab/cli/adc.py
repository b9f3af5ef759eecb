"""`devicelab adc characterize|show`: transient SAR/ramp ADC characterization and behavioral ADC model files."""

from __future__ import annotations

import click

from devicelab.cli._outputs import check_outputs, overwrite_option


@click.group("adc")
def adc():
    """Characterize SAR and single-slope ADCs in ngspice and inspect behavioral ADC model files."""


@adc.command("characterize")
@click.option("--type", "kind", type=click.Choice(["sar", "ramp"]), default="sar", show_default=True,
              help="Converter: charge-redistribution SAR or single-slope (ramp + counter).")
@click.option("--bits", type=click.IntRange(2, 10), default=6, show_default=True, help="Resolution (bits).")
@click.option("--vref", type=float, default=1.0, show_default=True, help="Full scale (V): input range [0, VREF].")
@click.option("--offset", type=float, default=0.0, show_default=True,
              help="Comparator input-referred offset (V).")
@click.option("--noise", type=float, default=0.0, show_default=True,
              help="Comparator input-referred noise per decision (V rms).")
@click.option("--mismatch", type=float, default=0.0, show_default=True,
              help="SAR only: relative standard deviation of one unit capacitor.")
@click.option("--r-leak", type=float, default=float("inf"), show_default=True,
              help="Ramp only: ramp-node leakage resistance (ohm), i.e. current-source output resistance.")
@click.option("--points", type=click.IntRange(min=4), default=None,
              help="Sweep inputs (default: 8 per code, 8 * 2^BITS).")
@click.option("--heldout", type=click.IntRange(min=0), default=64, show_default=True,
              help="Random held-out inputs simulated to measure the behavioral model's error.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of mismatch, noise and held-out inputs.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Behavioral ADC model file to write (HDF5, format devicelab.adc_model v1).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the transfer-curve and INL/DNL plots (PNG).")
@click.option("--checkpoint", "checkpoint_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for per-run checkpoints; re-running the same command resumes from them.")
@click.option("--progress/--no-progress", default=False, show_default=True, help="Show a progress bar.")
@overwrite_option
def characterize(kind, bits, vref, offset, noise, mismatch, r_leak, points, heldout, seed, output, report_dir,
                 checkpoint_dir, progress, overwrite):
    """Simulate an ADC in ngspice (transient, many conversions per run), print offset, gain error, INL/DNL,
    ENOB and conversion energy, and write the behavioral ADC model built from it."""
    import numpy as np

    from devicelab.behavioral.adc_build import build_adc_model, summary_lines
    from devicelab.errors import ConfigError
    from devicelab.spice.adc.netlist import RampADCSpec, SARADCSpec

    check_outputs(overwrite, files=[output], folders=[report_dir], updated_folders=[checkpoint_dir])
    common = {"bits": bits, "vref": vref, "comparator_offset": offset, "comparator_noise": noise}
    if kind == "sar":
        if r_leak != float("inf"):
            raise ConfigError("--r-leak applies to --type ramp only")
        spec = SARADCSpec(**common, cap_mismatch=mismatch)
    else:
        if mismatch:
            raise ConfigError("--mismatch applies to --type sar only")
        spec = RampADCSpec(**common, r_leak=r_leak)
    build = build_adc_model(spec, points or 8 * 2**bits, rng=np.random.default_rng(seed), n_heldout=heldout,
                            output=output, report_dir=report_dir, checkpoint_dir=checkpoint_dir, progress=progress,
                            overwrite=overwrite)
    for line in summary_lines(build):
        click.echo(line)
    click.echo(f"model written: {build.model_path}")
    for path in build.figures.values():
        click.echo(f"plot written: {path}")


@adc.command("show")
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False))
def show(model_file):
    """Print the resolution, range, linearity and stored error table of an ADC MODEL_FILE."""
    from devicelab.behavioral.adc import load_adc_model

    model = load_adc_model(model_file)
    lin = model.linearity()
    click.echo(f"{model_file}: {model.bits}-bit {model.kind} ADC, [{model.v_min:g}, {model.v_max:g}] V, "
               f"noise {model.noise_sigma:g} V rms")
    click.echo(f"offset {lin.offset:+.6g} V, gain error {lin.gain_error:+.6g}, max |INL| {lin.max_inl:.4f} LSB, "
               f"max |DNL| {lin.max_dnl:.4f} LSB")
    click.echo(f"energy per conversion {model.energy_per_conversion:.4g} J, conversion time "
               f"{model.t_conversion:.4g} s")
    table = model.error_table
    if table:
        click.echo(f"held-out error (n={table['n_inputs']}): fraction exact {table['fraction_exact']:.4f}, "
                   f"max |code error| {table['max_abs_code_error']}, ideal ADC fraction exact "
                   f"{table['ideal_fraction_exact']:.4f}")
    else:
        click.echo("no error table (ideal or hand-made model)")
    click.echo(f"provenance: ngspice {model.provenance.get('ngspice_version', '-')}, "
               f"{len(model.provenance.get('netlist_sha256', []))} netlist(s)")
