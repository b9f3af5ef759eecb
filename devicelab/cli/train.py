"""`devicelab train`: in-memory training of an MLP on analog tiles with a pulse-update device model."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import click

from devicelab.cli._outputs import check_outputs, overwrite_option


@click.command("train")
@click.option("--network", type=click.Choice(["mlp"]), default="mlp", show_default=True, help="Network to train.")
@click.option("--dataset", type=click.Choice(["digits", "fashion-mnist"]), default="digits", show_default=True,
              help="Data set (scikit-learn digits, or Fashion-MNIST from the Debian dataset package).")
@click.option("--device-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Device model file (HDF5 devicelab.device_model) with an update_model group.")
@click.option("--preset", default=None,
              help="Built-in update model instead of a file: nandakumar2018 (default without a model source).")
@click.option("--pulses", type=click.Path(exists=True), default=None,
              help="Fit the update model to pulse traces first: a folder with set.csv/reset.csv (one ramp per "
                   "column, currents read at 0.1 V) or a long pulse table file.")
@click.option("--column", "columns", multiple=True, metavar="KEY=VALUE",
              help="With --pulses FILE: column mapping entry, e.g. g=G_uS:uS, i=I:uA, v=@0.1:V, ramp=cycle, "
                   "polarity=dir. Repeatable.")
@click.option("--save-model", type=click.Path(dir_okay=False), default=None,
              help="With --pulses: store the fitted update model in this device model file.")
@click.option("--scheme", "schemes", multiple=True, type=click.Choice(["sgd", "mixed-precision"]),
              help="Update scheme (repeatable; default: both). The float baseline always runs.")
@click.option("--epochs", type=int, default=5, show_default=True, help="Training epochs.")
@click.option("--batch-size", type=int, default=10, show_default=True, help="Samples per update.")
@click.option("--lr", type=float, default=0.1, show_default=True, help="Learning rate.")
@click.option("--hidden", default="100", show_default=True, help="Hidden layer widths, comma separated.")
@click.option("--devices-per-side", type=int, default=1, show_default=True,
              help="Devices per synapse side (>1: multi-device synapse with arbitration, Boybat et al. 2018).")
@click.option("--dac-bits", type=int, default=8, show_default=True, help="Tile input DAC resolution (0: exact).")
@click.option("--adc-bits", type=int, default=8, show_default=True, help="Tile output ADC resolution (0: exact).")
@click.option("--train-limit", type=int, default=None, help="Use only the first N training samples.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-o", "--output", type=click.Path(file_okay=False), default=None,
              help="Folder for training.png, training.json (and the update-fit plots with --pulses).")
@click.option("--json", "as_json", is_flag=True, help="Print the result record as JSON instead of a table.")
@overwrite_option
def train(network, dataset, device_model, preset, pulses, columns, save_model, schemes, epochs, batch_size, lr, hidden,
          devices_per_side, dac_bits, adc_bits, train_limit, seed, output, as_json, overwrite):
    """Train an MLP in memory with pulsed device updates and print per-epoch test accuracy next to float.

    The device update model comes from --device-model, --preset or --pulses (fitted on the fly). Schemes:
    sgd (pulsed in-situ SGD) and mixed-precision (digital chi accumulator, Nandakumar et al. 2020).
    """
    import numpy as np

    from devicelab.errors import ConfigError
    from devicelab.files import atomic_folder
    from devicelab.inference import AnalogConfig, AnalogHardware
    from devicelab.measurements.pulses import PulseMapping
    from devicelab.training.experiment import resolve_update_model, run_training_experiment
    from devicelab.training.run import TrainConfig
    from devicelab.training.synapses import SynapseConfig

    check_outputs(overwrite, folders=[output], updated_files=[save_model])
    try:
        widths = tuple(int(h) for h in hidden.split(",") if h.strip())
    except ValueError:
        raise ConfigError(f"--hidden must be comma-separated integers, got {hidden!r}") from None
    if device_model is None and preset is None and pulses is None:
        preset = "nandakumar2018"
    rng = np.random.default_rng(seed)
    mapping = PulseMapping.from_cli(columns) if columns else None
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, hidden=widths, train_limit=train_limit,
                         synapse=SynapseConfig(devices_per_side=devices_per_side))
    tile = AnalogConfig(dac_bits=dac_bits or None, adc_bits=adc_bits or None)
    # The output folder is a report: written into a temporary folder, renamed when everything is in it.
    with atomic_folder(output, overwrite=overwrite) if output else contextlib.nullcontext(None) as folder:
        model, files = resolve_update_model(device_model, preset, pulses, save_model, folder, rng, mapping)
        experiment = run_training_experiment(dataset, AnalogHardware(update=model, tile=tile),
                                             schemes or ("sgd", "mixed-precision"), config, rng, network=network,
                                             output_dir=folder, progress=not as_json, extra_files=files)
    if folder is not None:
        experiment.files.update({name: Path(output) / Path(path).relative_to(folder)
                                 for name, path in experiment.files.items() if Path(path).is_relative_to(folder)})
    if as_json:
        click.echo(json.dumps(experiment.to_dict(), indent=2))
        return
    click.echo(f"{network} on {dataset}, device update model: {experiment.model_name}")
    click.echo(experiment.table())
    for name, path in experiment.files.items():
        click.echo(f"{name}: {path}")
