"""`devicelab evaluate`: network accuracy vs time after programming on analog PCM tiles."""

from __future__ import annotations

import json

import click

from devicelab.cli._outputs import check_outputs, overwrite_option


def _bits(value: str, option: str) -> int | None:
    """Parse a --dac-bits/--adc-bits value: an integer, or "none" for exact (no quantization)."""
    from devicelab.errors import ConfigError

    if value.strip().lower() == "none":
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{option}: expected an integer number of bits or 'none', got {value!r}") from None


#: Options that describe the hardware; with --hardware they override the description only when given.
_TILE_OPTIONS = {"tile_size": ("tile_rows", "tile_cols"), "scaling": ("scaling",), "g_max": ("g_max",),
                 "dac_bits": ("dac_bits",), "adc_bits": ("adc_bits",), "output_noise": ("output_noise",),
                 "calibration": ("calibration",), "calibration_refresh": ("calibration_refresh",),
                 "ir_programming": ("ir_programming_iterations",)}


@click.command("evaluate")
@click.option("--network", required=True,
              help="Network file (devicelab .npz/.h5, .onnx, or a plain state dict .npz/.safetensors/.pt with "
                   "--arch) or shipped network: resnet-hwa, resnet-float, mlp-hwa, mlp-float (completed with "
                   "--dataset) or a full shipped name such as resnet-fashion-mnist-hwa.")
@click.option("--arch", default=None,
              help="Architecture of a plain state dict: mlp:784,256,128,10, mlp, resnet[:16,32,64], a shipped "
                   "network name or an arch .toml file.")
@click.option("--dataset", type=click.Choice(["digits", "fashion-mnist"]), required=True, help="Test data set.")
@click.option("--hardware", "hardware_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Hardware description (TOML, from --save-hardware or AnalogHardware.save): device, tiles, "
                   "crossbar and ADC models, compensation. Options given on the command line override it.")
@click.option("--save-hardware", type=click.Path(dir_okay=False), default=None,
              help="Write the hardware description of this run (TOML) for later --hardware runs.")
@click.option("--device-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PCM device model file from `devicelab fit` (.h5).")
@click.option("--preset", default=None, help="Built-in PCM model instead of a file (e.g. joshi2020).")
@click.option("--crossbar-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Behavioral crossbar model (.h5) for IR drop and sneak paths.")
@click.option("--adc-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Behavioral ADC model (.h5); otherwise an ideal --adc-bits ADC.")
@click.option("--cell", type=click.Choice(["passive", "1t1r"]), default=None,
              help="Unit cell: bare device or device behind an NMOS access transistor (1T1R) [default: the "
                   "crossbar model's cell, else passive].")
@click.option("--devices-per-polarity", type=int, default=1, show_default=True,
              help="Devices per polarity of a weight (N); each is programmed, drifts and is read on its own.")
@click.option("--significance", default=None,
              help="Significance factors of the N devices, most significant first, comma-separated "
                   "(e.g. 3,1 for a more- and a less-significant pair) [default: all 1].")
@click.option("--programming", type=click.Choice(["parallel", "residual"]), default="parallel", show_default=True,
              help="parallel: every device to the same target; residual: each device absorbs the programming "
                   "error of the more significant ones.")
@click.option("--v-gate", type=float, default=None,
              help="Word-line voltage (V) of the 1T1R access transistor [default: 1.8 V]; must exceed its 0.5 V "
                   "threshold.")
@click.option("--times", default="1,3600,86400,2592000,31536000", show_default=True,
              help="Read times after programming, s, comma-separated (0 allowed).")
@click.option("--repeats", type=int, default=5, show_default=True, help="Independent programmings.")
@click.option("--compensation", type=click.Choice(["none", "global", "column", "batchnorm"]), default="global",
              show_default=True, help="Drift compensation (batchnorm: re-estimate BatchNorm statistics per read).")
@click.option("--attribution", is_flag=True,
              help="Also run each non-ideality alone and every pair of them, to attribute the loss (singles, "
                   "pair interactions and the higher-order rest).")
@click.option("--strict-validity", is_flag=True,
              help="Fail instead of warning when a model (crossbar, device) is used outside its validity range.")
@click.option("--calibration", type=click.Choice(["none", "column-affine"]), default="none", show_default=True,
              help="Digital output calibration: column-affine fits a gain and offset per output column after "
                   "programming, from calibration inputs sent through the whole analog path.")
@click.option("--calibration-refresh/--no-calibration-refresh", default=False, show_default=True,
              help="Refit the column-affine calibration at every read time.")
@click.option("--ir-programming", type=int, default=0, show_default=True,
              help="IR-drop-aware programming: pre-distort the conductance targets with the crossbar model in "
                   "this many iterations (0: off), clipped to the device range; the residual is logged.")
@click.option("--energy", is_flag=True,
              help="Also account the energy per inference (J, by layer and part), latency and TOPS/W (2 ops per "
                   "MAC) of the first programming at every read time, with the description's [energy] tables.")
@click.option("--tile-size", type=int, default=256, show_default=True, help="Tile rows and columns.")
@click.option("--scaling", type=click.Choice(["column", "tile"]), default="column", show_default=True,
              help="Weight-to-conductance scaling.")
@click.option("--g-max", type=float, default=None,
              help="Conductance (S) the largest |weight| per column/tile maps to [default: the device model's g_max].")
@click.option("--dac-bits", default="8", show_default=True, help="Input DAC resolution in bits, or 'none' (exact).")
@click.option("--adc-bits", default="8", show_default=True,
              help="Ideal ADC resolution in bits, or 'none' (exact); an --adc-model replaces it.")
@click.option("--output-noise", type=float, default=0.0, show_default=True,
              help="Per-MVM output noise std relative to ADC full scale.")
@click.option("--test-limit", type=click.IntRange(min=1), default=None, help="Evaluate only the first N test images.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder for the JSON result and the plot.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a table.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
@overwrite_option
@click.pass_context
def evaluate(ctx, network, arch, dataset, hardware_file, save_hardware, device_model, preset, crossbar_model,
             adc_model, cell, devices_per_polarity, significance, programming, v_gate, times, repeats, compensation,
             attribution, strict_validity, calibration, calibration_refresh, ir_programming, energy, tile_size, scaling,
             g_max, dac_bits, adc_bits, output_noise, test_limit, seed, output_dir, as_json, progress, overwrite):
    """Accuracy of a network on PCM tiles vs time after programming (mean, std over repeats; float alongside).

    Describe the hardware with --hardware FILE, or give the device model as --device-model FILE or --preset
    joshi2020 (plus optional crossbar and ADC models). Writes accuracy_<network>_<compensation>.json and .png
    to --output-dir.
    """
    from pathlib import Path

    from devicelab.errors import ConfigError
    from devicelab.inference import AnalogConfig, AnalogHardware, parse_times, run_evaluation
    from devicelab.network import resolve_network

    tile_values = {"tile_size": tile_size, "scaling": scaling, "g_max": g_max,
                   "dac_bits": _bits(dac_bits, "--dac-bits"), "adc_bits": _bits(adc_bits, "--adc-bits"),
                   "output_noise": output_noise, "calibration": calibration,
                   "calibration_refresh": calibration_refresh, "ir_programming": ir_programming}

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE

    if hardware_file is None:
        if device_model is None and preset is None:
            raise ConfigError("give the device model: --device-model FILE, --preset NAME or --hardware FILE")
        tile = AnalogConfig(**{field: tile_values[opt] for opt, fields in _TILE_OPTIONS.items() for field in fields})
        hardware = AnalogHardware.from_files(device_model=device_model, preset=preset, crossbar_model=crossbar_model,
                                             adc_model=adc_model, compensation=compensation, tile=tile)
    else:
        hardware = _override(AnalogHardware.load(hardware_file), given, tile_values, device_model, preset,
                             crossbar_model, adc_model, compensation if given("compensation") else None)
    cell_options = ("cell", "devices_per_polarity", "significance", "programming", "v_gate")
    if hardware_file is None or any(given(name) for name in cell_options):
        circuit = getattr(hardware.crossbar, "circuit", None)
        if cell is None:
            cell = getattr(circuit, "cell", "passive")
            if v_gate is None and cell == "1t1r":
                v_gate = circuit.transistor.v_gate
        hardware = hardware.replace(cell=_unit_cell(cell, devices_per_polarity, significance, programming, v_gate))
    # The result files are named after the network: check them (and the folder) before the evaluation runs.
    net = resolve_network(network, dataset, arch)
    stem = Path(output_dir) / f"accuracy_{net.name}_{hardware.compensation.name}"
    check_outputs(overwrite, files=[f"{stem}.json", f"{stem}.png"] + ([save_hardware] if save_hardware else []),
                  updated_folders=[output_dir])
    if save_hardware is not None:
        hardware.save(save_hardware)
    result, outputs = run_evaluation(net, dataset, parse_times(times), repeats, hardware,
                                     attribution=attribution, test_limit=test_limit, seed=seed,
                                     output_dir=output_dir, progress=progress, strict_validity=strict_validity,
                                     energy=energy)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=1, sort_keys=True))
        return
    c = hardware.cell
    cell_text = (f"{c.cell} cell, {c.n} device(s) per polarity" + (f", significance {list(c.significance)} "
                 f"({c.scheme})" if c.n > 1 and len(set(c.significance)) > 1 else ""))
    click.echo(f"{result.network} on {result.dataset} ({result.n_test} test images), device model "
               f"{result.device_model}, {cell_text}, compensation {result.compensation}; accuracy in %, mean +- std over "
               f"{repeats} repeats:")
    click.echo(result.table())
    for t, e in result.energy.items():
        click.echo(e.report() if t == next(iter(result.energy)) else
                   f"t = {t:g} s: {e.energy.total:.4g} J per inference, {e.tops_per_watt:.3g} TOPS/W")
    plots = [outputs.plot_path] + ([outputs.energy_plot_path] if outputs.energy_plot_path else [])
    click.echo(f"wrote {outputs.json_path} and {' and '.join(map(str, plots))} ({result.elapsed_s:.0f} s)")


def _unit_cell(cell, devices_per_polarity, significance, programming, v_gate):
    """The UnitCell of the --cell/--devices-per-polarity/--significance/--programming/--v-gate options."""
    from devicelab.errors import ConfigError
    from devicelab.inference.mapping import UnitCell
    from devicelab.spice.crossbar.spec import AccessTransistor

    factors = None
    if significance is not None:
        try:
            factors = tuple(float(f) for f in significance.split(","))
        except ValueError:
            raise ConfigError(f"--significance: expected comma-separated numbers > 0, got {significance!r}") from None
    if v_gate is not None and cell != "1t1r":
        raise ConfigError("--v-gate: only 1T1R cells have an access transistor (add --cell 1t1r)")
    transistor = AccessTransistor(v_gate=v_gate) if v_gate is not None else None
    try:
        return UnitCell(cell, devices_per_polarity, factors, programming, transistor)
    except ConfigError as exc:
        option = next((o for f, o in (("significance", "--significance"), ("devices_per_polarity",
                       "--devices-per-polarity"), ("v_gate", "--v-gate")) if f in str(exc)), "--cell")
        raise ConfigError(f"{option}: {exc}") from None


def _override(hardware, given, tile_values, device_model, preset, crossbar_model, adc_model, compensation):
    """``hardware`` (from --hardware) with the parts and tile settings given on the command line replaced."""
    from devicelab.inference import make_compensation

    hardware = hardware.with_files(device_model=device_model, preset=preset, crossbar_model=crossbar_model,
                                   adc_model=adc_model)
    if compensation is not None:
        hardware = hardware.replace(compensation=make_compensation(compensation))
    tile_changes = {field: tile_values[opt] for opt, fields in _TILE_OPTIONS.items() if given(opt) for field in fields}
    return hardware.with_tile(**tile_changes) if tile_changes else hardware
