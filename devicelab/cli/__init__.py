"""Command-line interface: ``devicelab COMMAND ...``.

Thin by design: each command parses its options, calls one function of a stage's public API and prints the
result. Command groups live one module per pipeline stage in this package and are registered below; a
:class:`~devicelab.errors.DevicelabError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from devicelab import __version__
from devicelab.errors import DevicelabError

# (module in devicelab.cli, attribute) of every command or group; each module owns its commands.
_COMMANDS = [
    ("fit", "fit"),
    ("model", "model"),
    ("crossbar", "crossbar"),
    ("sweep", "sweep"),
    ("adc", "adc"),
    ("behavioral", "behavioral"),
    ("evaluate", "evaluate"),
    ("pretrain", "pretrain"),
    ("train", "train"),
    ("pim", "pim"),
]


class _Group(click.Group):
    """Click group that turns devicelab errors into one clean line on stderr."""

    def invoke(self, ctx):
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


for _module, _attr in _COMMANDS:
    try:
        _mod = importlib.import_module(f"devicelab.cli.{_module}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"devicelab.cli.{_module}":
            raise
        continue  # stage not built yet
    cli.add_command(getattr(_mod, _attr))


def main() -> None:
    """Entry point of the ``devicelab`` console script."""
    cli(prog_name="devicelab")
