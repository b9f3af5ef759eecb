"""`devicelab network`: inspect network files (devicelab, ONNX, plain state dicts)."""

from __future__ import annotations

import json

import click

ARCH_HELP = ("Architecture of a plain state dict (.npz/.safetensors/.pt): mlp:784,256,128,10, mlp, resnet, "
             "resnet:16,32,64, a shipped network name or an arch .toml file.")


def parse_input_shape(text: str | None) -> tuple[int, int, int] | None:
    """(C, H, W) from "1x28x28" or "1,28,28"; None for None."""
    if text is None:
        return None
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise click.BadParameter(f"{text!r}: expected CxHxW, e.g. 1x28x28")
    return shape


@click.group("network")
def network() -> None:
    """Network files: devicelab .npz/.h5, ONNX (.onnx) and plain state dicts with --arch."""


@network.command("show")
@click.argument("source")
@click.option("--arch", default=None, help=ARCH_HELP)
@click.option("--input-shape", default=None, help="Image shape CxHxW (e.g. 1x28x28) for networks taking flat "
                                                  "inputs or for --arch resnet.")
@click.option("--dataset", type=click.Choice(["digits", "fashion-mnist"]), default=None,
              help="Complete short shipped names and give the image shape.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of a table.")
def show(source, arch, input_shape, dataset, as_json):
    """Layers, output shapes, parameter counts and tile matrices of a network file or shipped network."""
    from devicelab.network.formats import describe_network, network_summary, read_network

    net = read_network(source, arch=arch, input_shape=parse_input_shape(input_shape), dataset=dataset)
    if as_json:
        click.echo(json.dumps(network_summary(net), indent=1))
        return
    click.echo(describe_network(net))
