"""Command-line interface: ``devicelab COMMAND ...``.

Thin by design: each command parses its options, calls one function of a stage's public API and prints the
result. Command groups live one module per pipeline stage in this package, are listed in :data:`COMMANDS` and
imported only when used; a :class:`~devicelab.errors.DevicelabError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from devicelab import __version__
from devicelab.errors import DevicelabError

# Every command group in pipeline order: name -> short help listed by ``devicelab --help`` (the first sentence
# of the command's own help; tests/test_cli_startup.py checks they agree). The command ``NAME`` is the
# attribute ``NAME`` of the module ``devicelab.cli.NAME``, imported only when that command is run or its help
# is shown, so ``devicelab --help`` imports no stage code.
COMMANDS = {
    "fit": "Fit a PCM model to measurement FILES and write it to -o MODEL.h5 (and a --report folder).",
    "model": "Inspect PCM model files (devicelab.device_model) and sample from them.",
    "crossbar": "Crossbar circuits: SPICE (ngspice) and the fast nodal solver.",
    "sweep": "Run crossbar sweeps described in TOML and summarize sweep files.",
    "adc": "Characterize SAR and single-slope ADCs in ngspice and inspect behavioral ADC model files.",
    "behavioral": "Build, check and apply behavioral crossbar models (fast IR-drop/sneak-path models from sweeps).",
    "network": "Network files: devicelab .npz/.h5, ONNX (.onnx) and plain state dicts with --arch.",
    "evaluate": "Accuracy of a network on PCM tiles vs time after programming (mean, std over repeats; float "
                "alongside).",
    "energy": "Energy per inference on analog tiles (array from the circuit, periphery, digital), 2 ops per MAC.",
    "pretrain": "Train the reference MLP or ResNet on digits or Fashion-MNIST and save its weights.",
    "train": "Train an MLP in memory with pulsed device updates and print per-epoch test accuracy next to float.",
    "pim": "Digital MRAM processing-in-memory: MTJ column in ngspice, bit-operation model, quantized networks.",
}


class _Group(click.Group):
    """The ``devicelab`` group: imports a command's module on first use; devicelab errors become one line.

    A :class:`~devicelab.errors.DevicelabError` raised by a command is printed as one line on stderr and the
    process exits with code 2.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            module = importlib.import_module(f"devicelab.cli.{cmd_name}")
            self.add_command(getattr(module, cmd_name), cmd_name)
        return self.commands[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The listing uses the short help above instead of importing every command module.
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, click.utils.make_default_short_help(text, limit)) for name, text in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DevicelabError as exc:
            click.echo(f"devicelab: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="devicelab")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """devicelab: PCM from measured device data to network accuracy on analog in-memory hardware."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Entry point of the ``devicelab`` console script."""
    cli(prog_name="devicelab")
