"""``devicelab energy ...``: energy, latency, area and TOPS/W of analog inference; accuracy-energy trade-off."""

from __future__ import annotations

import functools
import json

import click


@click.group()
def energy() -> None:
    """Energy per inference on analog tiles (array from the circuit, periphery, digital), 2 ops per MAC."""


def _periphery_options(command):
    """Options of the periphery and digital energy model (SI units)."""
    options = [
        click.option("--t-read", type=float, default=10e-9, show_default=True, help="Read pulse length (s)."),
        click.option("--c-wire", type=float, default=0.2e-9, show_default=True,
                     help="Wire capacitance per length (F/m); 0.2 fF/um as NeuroSim V1.3."),
        click.option("--feature-size", type=float, default=45e-9, show_default=True, help="Feature size F (m)."),
        click.option("--cell-f2", type=(float, float), default=(12.0, 4.0), show_default=True,
                     help="Cell width and height in F (area = product x F^2)."),
        click.option("--adc-sharing", type=int, default=1, show_default=True, help="Columns per ADC."),
        click.option("--table", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Energy-per-operation table (TOML, format devicelab.energy_table) [default: shipped "
                          "digital_45nm, Horowitz ISSCC 2014]."),
        click.option("--calibration-vectors", type=int, default=4, show_default=True,
                     help="Activation vectors per layer and tile shape for the nodal calibration of the array "
                          "energy (with --crossbar-model; 0: ideal currents only)."),
    ]

    @functools.wraps(command)
    def wrapper(t_read, c_wire, feature_size, cell_f2, adc_sharing, table, calibration_vectors, **kwargs):
        from devicelab.behavioral.energy_table import load_energy_table
        from devicelab.behavioral.periphery import PeripheryModel
        from devicelab.inference.energy import EnergyModel

        periphery = PeripheryModel(t_read=t_read, c_wire=c_wire, feature_size=feature_size,
                                   cell_width_f=cell_f2[0], cell_height_f=cell_f2[1], adc_sharing=adc_sharing)
        model = EnergyModel(periphery, load_energy_table(table), calibration_vectors)
        return command(energy_model=model, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _hardware_options(command):
    """The hardware description of ``devicelab evaluate`` (device, crossbar and ADC models, tile settings)."""
    options = [
        click.option("--network", required=True, help="Weights file or shipped network (as devicelab evaluate)."),
        click.option("--dataset", type=click.Choice(["digits", "fashion-mnist"]), required=True, help="Test data set."),
        click.option("--device-model", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="PCM device model file (.h5)."),
        click.option("--preset", default=None, help="Built-in PCM model instead of a file (e.g. joshi2020)."),
        click.option("--crossbar-model", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Behavioral crossbar model (.h5): IR drop; the array energy is then calibrated against "
                          "the nodal solver of its circuit."),
        click.option("--compensation", type=click.Choice(["none", "global", "column", "batchnorm"]), default="global",
                     show_default=True, help="Drift compensation (as devicelab evaluate)."),
        click.option("--tile-size", type=int, default=256, show_default=True, help="Tile rows and columns."),
        click.option("--dac-bits", type=int, default=8, show_default=True, help="Input DAC resolution."),
        click.option("--adc-bits", type=int, default=8, show_default=True, help="Ideal ADC resolution."),
        click.option("--v-read", type=float, default=0.2, show_default=True, help="Full-scale read voltage (V)."),
        click.option("--time", "read_time", type=float, default=1.0, show_default=True,
                     help="Read time after programming (s)."),
        click.option("--test-limit", type=int, default=None, help="Only the first N test images."),
        click.option("--seed", type=int, default=0, show_default=True, help="Random seed."),
        click.option("-o", "--output-dir", type=click.Path(file_okay=False), default=".", show_default=True,
                     help="Folder for the JSON, CSV and plots."),
    ]

    @functools.wraps(command)
    def wrapper(tile_size, dac_bits, adc_bits, v_read, **kwargs):
        from devicelab.inference import AnalogConfig

        config = AnalogConfig(tile_rows=tile_size, tile_cols=tile_size, dac_bits=dac_bits, adc_bits=adc_bits,
                              v_read=v_read)
        return command(config=config, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


@energy.command("network")
@_hardware_options
@_periphery_options
@click.option("--adc-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="SPICE-characterized ADC model (.h5): its conversion energy and time [default: ideal --adc-bits "
                   "ADC with NeuroSim's SAR formula].")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def network_command(network, dataset, device_model, preset, crossbar_model, compensation, adc_model, read_time,
                    test_limit, seed, output_dir, config, energy_model, as_json) -> None:
    """Energy per inference by layer and part, latency and TOPS/W of a network, with its accuracy."""
    from devicelab.inference.energy_experiment import run_network_energy

    result, paths = run_network_energy(network, dataset, config=config, energy_model=energy_model, t=read_time,
                                       seed=seed, test_limit=test_limit, output_dir=output_dir,
                                       device_model_path=device_model, preset=preset,
                                       crossbar_model_path=crossbar_model, adc_model_path=adc_model,
                                       compensation=compensation)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=1, default=float))
        return
    click.echo(result.report())
    click.echo(f"accuracy {100 * result.accuracy:.2f} % on {result.n_images} test images; wrote "
               + " and ".join(str(p) for p in paths))


@energy.command("tradeoff")
@_hardware_options
@_periphery_options
@click.option("--adc-models", required=True,
              help="Comma-separated SPICE-characterized ADC models (.h5), e.g. one per resolution from "
                   "`devicelab adc characterize --bits B`.")
@click.option("--tile-sizes", default="256", show_default=True, help="Comma-separated tile sizes.")
@click.option("--v-reads", default="0.2", show_default=True, help="Comma-separated full-scale read voltages (V).")
def tradeoff_command(network, dataset, device_model, preset, crossbar_model, compensation, read_time, test_limit, seed,
                     output_dir, config, energy_model, adc_models, tile_sizes, v_reads) -> None:
    """Accuracy vs energy per inference over ADC resolution, tile size and v_read: table and Pareto plot."""
    from devicelab.inference.energy_experiment import run_tradeoff

    try:
        sizes = [int(s) for s in tile_sizes.split(",")]
        volts = [float(s) for s in v_reads.split(",")]
    except ValueError as exc:
        raise click.BadParameter(f"expected comma-separated numbers ({exc})") from exc
    rows, paths = run_tradeoff(network, dataset, adc_model_paths=adc_models.split(","), tile_sizes=sizes,
                               v_reads=volts, config=config, energy_model=energy_model, t=read_time, seed=seed,
                               test_limit=test_limit, output_dir=output_dir, device_model_path=device_model,
                               preset=preset, crossbar_model_path=crossbar_model, compensation=compensation)
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
