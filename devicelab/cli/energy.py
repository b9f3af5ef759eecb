"""``devicelab energy ...``: energy, latency, area and TOPS/W of analog inference; accuracy-energy trade-off."""

from __future__ import annotations

import functools
import json

import click

from devicelab.cli._outputs import check_outputs, overwrite_option


@click.group()
def energy() -> None:
    """Energy per inference on analog tiles (array from the circuit, periphery, digital), 2 ops per MAC."""


_PERIPHERY_DEFAULTS = "[default: the hardware description's, else the PeripheryModel default]"


def _periphery_options(command):
    """Options of the periphery and digital energy model (SI units); given ones override the hardware's."""
    options = [
        click.option("--t-read", type=float, default=None, help=f"Read pulse length (s; 10 ns) {_PERIPHERY_DEFAULTS}."),
        click.option("--c-wire", type=float, default=None,
                     help=f"Wire capacitance per length (F/m; 0.2 fF/um as NeuroSim V1.3) {_PERIPHERY_DEFAULTS}."),
        click.option("--feature-size", type=float, default=None, help=f"Feature size F (m; 45 nm) {_PERIPHERY_DEFAULTS}."),
        click.option("--cell-f2", type=(float, float), default=None,
                     help=f"Cell width and height in F (area = product x F^2; 12 4) {_PERIPHERY_DEFAULTS}."),
        click.option("--adc-sharing", type=int, default=None, help=f"Columns per ADC (1) {_PERIPHERY_DEFAULTS}."),
        click.option("--table", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Energy-per-operation table (TOML, format devicelab.energy_table) [default: the hardware "
                          "description's, else the shipped digital_45nm, Horowitz ISSCC 2014]."),
        click.option("--calibration-vectors", type=int, default=None,
                     help="Activation vectors per layer and tile shape for the nodal calibration of the array "
                          "energy with a crossbar model (4; 0: ideal currents only)."),
    ]

    @functools.wraps(command)
    def wrapper(t_read, c_wire, feature_size, cell_f2, adc_sharing, table, calibration_vectors, **kwargs):
        def energy_model(base):
            import dataclasses

            from devicelab.behavioral.energy_table import load_energy_table
            from devicelab.inference.energy import EnergyModel

            base = base or EnergyModel()
            changes = {k: v for k, v in {"t_read": t_read, "c_wire": c_wire, "feature_size": feature_size,
                                         "adc_sharing": adc_sharing}.items() if v is not None}
            if cell_f2 is not None:
                changes.update(cell_width_f=cell_f2[0], cell_height_f=cell_f2[1])
            return EnergyModel(dataclasses.replace(base.periphery, **changes),
                               load_energy_table(table) if table else base.table,
                               base.calibration_vectors if calibration_vectors is None else calibration_vectors)

        return command(energy_model=energy_model, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _hardware_options(command):
    """The hardware description of ``devicelab evaluate``: --hardware FILE and/or the parts and tile settings."""
    options = [
        click.option("--network", required=True, help="Weights file or shipped network (as devicelab evaluate)."),
        click.option("--dataset", type=click.Choice(["digits", "fashion-mnist"]), required=True, help="Test data set."),
        click.option("--hardware", "hardware_file", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Hardware description (TOML) as for devicelab evaluate, [energy] table included; the "
                          "options below override it when given."),
        click.option("--device-model", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="PCM device model file (.h5)."),
        click.option("--preset", default=None, help="Built-in PCM model instead of a file (e.g. joshi2020)."),
        click.option("--crossbar-model", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Behavioral crossbar model (.h5): IR drop; the array energy is then calibrated against "
                          "the nodal solver of its circuit."),
        click.option("--compensation", type=click.Choice(["none", "global", "column", "batchnorm"]), default=None,
                     help="Drift compensation [default: the description's, else global]."),
        click.option("--tile-size", type=int, default=None, help="Tile rows and columns [default: 256]."),
        click.option("--dac-bits", type=int, default=None, help="Input DAC resolution [default: 8]."),
        click.option("--adc-bits", type=int, default=None, help="Ideal ADC resolution [default: 8]."),
        click.option("--v-read", type=float, default=None, help="Full-scale read voltage (V) [default: 0.2]."),
        click.option("--time", "read_time", type=float, default=1.0, show_default=True,
                     help="Read time after programming (s)."),
        click.option("--test-limit", type=int, default=None, help="Only the first N test images."),
        click.option("--seed", type=int, default=0, show_default=True, help="Random seed."),
        click.option("-o", "--output-dir", type=click.Path(file_okay=False), default=".", show_default=True,
                     help="Folder for the JSON, CSV and plots."),
    ]

    @functools.wraps(command)
    def wrapper(hardware_file, device_model, preset, crossbar_model, compensation, tile_size, dac_bits, adc_bits,
                v_read, energy_model, adc_model=None, **kwargs):
        from devicelab.errors import ConfigError
        from devicelab.inference import AnalogHardware, make_compensation

        if hardware_file is None:
            if device_model is None and preset is None:
                raise ConfigError("give the device model: --device-model FILE, --preset NAME or --hardware FILE")
            hardware = AnalogHardware.from_files(device_model=device_model, preset=preset,
                                                 crossbar_model=crossbar_model, adc_model=adc_model,
                                                 compensation=compensation or "global")
        else:
            hardware = AnalogHardware.load(hardware_file).with_files(
                device_model=device_model, preset=preset, crossbar_model=crossbar_model, adc_model=adc_model)
            if compensation is not None:
                hardware = hardware.replace(compensation=make_compensation(compensation))
        tile = {k: v for k, v in {"tile_rows": tile_size, "tile_cols": tile_size, "dac_bits": dac_bits,
                                  "adc_bits": adc_bits, "v_read": v_read}.items() if v is not None}
        hardware = hardware.with_tile(**tile) if tile else hardware
        hardware = hardware.replace(energy=energy_model(hardware.energy))
        return command(hardware=hardware, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _check_result_files(network, dataset, output_dir, prefix, suffixes, overwrite) -> None:
    """Before any work: the result files (named after the network) can be written and are new or --overwrite."""
    from pathlib import Path

    from devicelab.network.model import resolve_network

    stem = Path(output_dir) / f"{prefix}_{resolve_network(network, dataset).name}"
    check_outputs(overwrite, files=[f"{stem}{suffix}" for suffix in suffixes], updated_folders=[output_dir])


@energy.command("network")
@_periphery_options
@_hardware_options
@click.option("--adc-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="SPICE-characterized ADC model (.h5): its conversion energy and time [default: ideal --adc-bits "
                   "ADC with NeuroSim's SAR formula].")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@overwrite_option
def network_command(network, dataset, hardware, read_time, test_limit, seed, output_dir, as_json, overwrite) -> None:
    """Energy per inference by layer and part, latency and TOPS/W of a network, with its accuracy."""
    from devicelab.inference.energy_experiment import run_network_energy

    _check_result_files(network, dataset, output_dir, "energy", (".json", ".png"), overwrite)

    result, paths = run_network_energy(network, dataset, hardware, t=read_time, seed=seed, test_limit=test_limit,
                                       output_dir=output_dir)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=1, default=float))
        return
    click.echo(result.report())
    click.echo(f"accuracy {100 * result.accuracy:.2f} % on {result.n_images} test images; wrote "
               + " and ".join(str(p) for p in paths))


@energy.command("tradeoff")
@_periphery_options
@_hardware_options
@click.option("--adc-models", required=True,
              help="Comma-separated SPICE-characterized ADC models (.h5), e.g. one per resolution from "
                   "`devicelab adc characterize --bits B`.")
@click.option("--tile-sizes", default="256", show_default=True, help="Comma-separated tile sizes.")
@click.option("--v-reads", default="0.2", show_default=True, help="Comma-separated full-scale read voltages (V).")
@overwrite_option
def tradeoff_command(network, dataset, hardware, read_time, test_limit, seed, output_dir, adc_models, tile_sizes,
                     v_reads, overwrite) -> None:
    """Accuracy vs energy per inference over ADC resolution, tile size and v_read: table and Pareto plot."""
    from devicelab.inference.energy_experiment import run_tradeoff

    _check_result_files(network, dataset, output_dir, "tradeoff", (".json", ".csv", ".png"), overwrite)

    try:
        sizes = [int(s) for s in tile_sizes.split(",")]
        volts = [float(s) for s in v_reads.split(",")]
    except ValueError as exc:
        raise click.BadParameter(f"expected comma-separated numbers ({exc})") from exc
    rows, paths = run_tradeoff(network, dataset, hardware, adc_model_paths=adc_models.split(","), tile_sizes=sizes,
                               v_reads=volts, t=read_time, seed=seed, test_limit=test_limit, output_dir=output_dir)
    click.echo(f"{'ADC bits':>8} {'tile':>5} {'v_read':>7} {'accuracy %':>10} {'energy J':>11} {'TOPS/W':>8}")
    for r in rows:
        click.echo(f"{r['adc_bits']:>8} {r['tile_size']:>5} {r['v_read_V']:>7.3g} {100 * r['accuracy']:>10.2f} "
                   f"{r['energy_J']:>11.4g} {r['tops_per_watt']:>8.3g}")
    click.echo("wrote " + ", ".join(str(p) for p in paths))


@energy.command("tile")
@_periphery_options
@click.option("--rows", type=int, default=256, show_default=True, help="Tile rows.")
@click.option("--cols", type=int, default=256, show_default=True, help="Tile (logical) columns; G+/G- pairs.")
@click.option("--g-max", type=float, default=25e-6, show_default=True, help="Largest conductance (S).")
@click.option("--v-read", type=float, default=0.2, show_default=True, help="Full-scale read voltage (V).")
@click.option("--dac-bits", type=int, default=8, show_default=True, help="Input resolution (unsigned levels).")
@click.option("--adc-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="SPICE-characterized ADC model (.h5) [default: ideal --adc-bits, NeuroSim SAR formula].")
@click.option("--adc-bits", type=int, default=8, show_default=True, help="Ideal ADC resolution.")
@click.option("--r-wire", type=float, default=0.0, show_default=True, help="Row and column wire segment (ohm).")
@click.option("--vectors", type=int, default=16, show_default=True, help="Random input vectors.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def tile_command(energy_model, rows, cols, g_max, v_read, dac_bits, adc_model, adc_bits, r_wire, vectors, seed,
                 as_json) -> None:
    """Energy per MVM and TOPS/W of one tile with random weights and inputs, beside a NeuroSim-style estimate."""
    import numpy as np

    from devicelab.behavioral.adc import ideal_adc, load_adc_model
    from devicelab.inference.energy_experiment import tile_efficiency
    from devicelab.spice.crossbar.spec import CrossbarSpec

    energy_model = energy_model(None)
    adc = load_adc_model(adc_model) if adc_model else ideal_adc(adc_bits, 0.0, 1.0)
    spec = CrossbarSpec(rows, cols, r_row=r_wire, r_col=r_wire, differential=True)
    result = tile_efficiency(rows, cols, g_max=g_max, v_read=v_read, dac_bits=dac_bits, adc_model=adc,
                             energy_model=energy_model, rng=np.random.default_rng(seed), n_vectors=vectors,
                             crossbar_spec=spec)
    if as_json:
        click.echo(json.dumps(result, indent=1, default=float))
        return
    e = result["energy_per_mvm_J"]
    click.echo(f"{rows}x{cols} tile (G+/G- pairs), {dac_bits}-bit inputs up to {v_read:g} V, {result['adc_bits']}-bit "
               f"ADC ({result['adc_source']}), t_read {energy_model.periphery.t_read:g} s; energy per MVM (J):")
    click.echo("  " + "  ".join(f"{k} {v:.3g}" for k, v in e.items()))
    ns = result["neurosim_style"]
    click.echo(f"  {result['tops_per_watt']:.3g} TOPS/W (2 ops per MAC), {result['tops']:.3g} TOPS per tile; "
               f"NeuroSim-style estimate: {ns['total_J']:.3g} J, {ns['tops_per_watt']:.3g} TOPS/W")
