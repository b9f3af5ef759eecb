"""`devicelab pretrain`: train a reference network (float or hardware-aware) with the PyTorch extra."""

from __future__ import annotations

import click

from devicelab.cli._outputs import check_outputs, overwrite_option


@click.command("pretrain")
@click.option("--network", "arch", type=click.Choice(["mlp", "resnet"]), required=True, help="Architecture.")
@click.option("--dataset", type=click.Choice(["digits", "fashion-mnist"]), required=True, help="Training data set.")
@click.option("--hwa-noise", type=float, default=0.0, show_default=True,
              help="Relative weight-noise std (of max|W| per layer) for hardware-aware training; 0 = float.")
@click.option("--epochs", type=int, default=4, show_default=True, help="Passes over the training split.")
@click.option("--batch-size", type=int, default=128, show_default=True, help="Mini-batch size.")
@click.option("--lr", type=float, default=2e-3, show_default=True, help="Adam learning rate (cosine schedule).")
@click.option("--train-limit", type=int, default=None, help="Use only this many training samples.")
@click.option("--init", "init_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Start from these weights (.npz/.h5), e.g. to fine-tune a float network with HWA noise.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Output weights (.npz or .h5).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
@overwrite_option
def pretrain(arch, dataset, hwa_noise, epochs, batch_size, lr, train_limit, init_path, seed, output, progress,
             overwrite):
    """Train the reference MLP or ResNet on digits or Fashion-MNIST and save its weights.

    Plain float training, or hardware-aware training with weight-noise injection (Joshi et al. 2020)
    when --hwa-noise > 0. Needs the optional PyTorch extra.
    """
    from devicelab.network import PretrainConfig, load_network, save_network, train

    check_outputs(overwrite, files=[output])

    config = PretrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, hwa_noise=hwa_noise,
                            train_limit=train_limit, seed=seed)
    init = load_network(init_path) if init_path else None
    network = train(arch, dataset, config, init=init, progress=progress)
    save_network(network, output, provenance=network.meta)
    click.echo(f"{network.name}: float test accuracy {network.meta['float_test_accuracy']:.4f} -> {output}")
