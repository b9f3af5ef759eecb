"""`devicelab evaluate`: network accuracy vs time after programming on analog PCM tiles."""

from __future__ import annotations

import json

import click


@click.command("evaluate")
@click.option("--network", required=True,
              help="Network file (devicelab .npz/.h5, .onnx, or a plain state dict .npz/.safetensors/.pt with "
                   "--arch) or shipped network: resnet-hwa, resnet-float, mlp-hwa, mlp-float (completed with "
                   "--dataset) or a full shipped name such as resnet-fashion-mnist-hwa.")
@click.option("--arch", default=None,
              help="Architecture of a plain state dict: mlp:784,256,128,10, mlp, resnet[:16,32,64] or arch .toml.")
@click.option("--dataset", type=click.Choice(["digits", "fashion-mnist"]), required=True, help="Test data set.")
@click.option("--device-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PCM device model file from `devicelab fit` (.h5).")
@click.option("--preset", default=None, help="Built-in PCM model instead of a file (e.g. joshi2020).")
@click.option("--crossbar-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Behavioral crossbar model (.h5) for IR drop and sneak paths.")
@click.option("--adc-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Behavioral ADC model (.h5); otherwise an ideal --adc-bits ADC.")
@click.option("--times", default="1,3600,86400,2592000,31536000", show_default=True,
              help="Read times after programming, s, comma-separated (0 allowed).")
@click.option("--repeats", type=int, default=5, show_default=True, help="Independent programmings.")
@click.option("--compensation", type=click.Choice(["none", "global", "column", "batchnorm"]), default="global",
              show_default=True, help="Drift compensation (batchnorm: re-estimate BatchNorm statistics per read).")
@click.option("--attribution", is_flag=True, help="Also run each non-ideality alone to attribute the loss.")
@click.option("--tile-size", type=int, default=256, show_default=True, help="Tile rows and columns.")
@click.option("--scaling", type=click.Choice(["column", "tile"]), default="column", show_default=True,
              help="Weight-to-conductance scaling.")
@click.option("--g-max", type=float, default=None,
              help="Conductance (S) the largest |weight| per column/tile maps to [default: the device model's g_max].")
@click.option("--dac-bits", type=int, default=8, show_default=True, help="Input DAC resolution.")
@click.option("--adc-bits", type=int, default=8, show_default=True, help="Ideal ADC resolution.")
@click.option("--output-noise", type=float, default=0.0, show_default=True,
              help="Per-MVM output noise std relative to ADC full scale.")
@click.option("--test-limit", type=int, default=None, help="Evaluate only the first N test images.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder for the JSON result and the plot.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a table.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def evaluate(network, arch, dataset, device_model, preset, crossbar_model, adc_model, times, repeats, compensation,
             attribution, tile_size, scaling, g_max, dac_bits, adc_bits, output_noise, test_limit, seed, output_dir,
             as_json, progress):
    """Accuracy of a network on PCM tiles vs time after programming (mean, std over repeats; float alongside).

    Give the device model as --device-model FILE or --preset joshi2020. Writes
    accuracy_<network>_<compensation>.json and .png to --output-dir.
    """
    from devicelab.inference import AnalogConfig, parse_times, run_evaluation
    from devicelab.network import resolve_network

    config = AnalogConfig(tile_rows=tile_size, tile_cols=tile_size, g_max=g_max, scaling=scaling, dac_bits=dac_bits,
                          adc_bits=adc_bits, output_noise=output_noise)
    result, outputs = run_evaluation(
        resolve_network(network, dataset, arch), dataset, parse_times(times), repeats, device_model_path=device_model, preset=preset,
        crossbar_model_path=crossbar_model, adc_model_path=adc_model, compensation=compensation, config=config,
        attribution=attribution, test_limit=test_limit, seed=seed, output_dir=output_dir, progress=progress)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=1, sort_keys=True))
        return
    click.echo(f"{result.network} on {result.dataset} ({result.n_test} test images), device model "
               f"{result.device_model}, compensation {result.compensation}; accuracy in %, mean +- std over "
               f"{repeats} repeats:")
    click.echo(result.table())
    click.echo(f"wrote {outputs.json_path} and {outputs.plot_path} ({result.elapsed_s:.0f} s)")
