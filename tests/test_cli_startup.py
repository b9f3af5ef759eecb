"""CLI start-up: `devicelab --help` and `devicelab COMMAND --help` import no heavy dependency or stage code.

Each check runs in a fresh interpreter (a subprocess) and reads ``sys.modules`` there, so it does not depend
on what this test process has already imported. Speed itself is measured by benchmarks/bench_startup.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from devicelab.cli import COMMANDS, cli

REPO = Path(__file__).resolve().parent.parent
# Heavy third-party packages.
HEAVY = ("numpy", "scipy", "matplotlib", "h5py", "lmfit", "torch", "sklearn", "cffi", "dask")
# devicelab modules the CLI may load at start-up: the CLI itself, errors, the lazy stage packages (their
# __init__ only names the API, see devicelab/_lazy.py) and the plain default constants. Any other devicelab
# module is stage code and counts as heavy.
LIGHT = ("devicelab", "devicelab._lazy", "devicelab.errors", "devicelab.devices", "devicelab.devices.constants",
         "devicelab.spice", "devicelab.behavioral", "devicelab.network", "devicelab.inference", "devicelab.training")


def _imported_after(code: str) -> list[str]:
    """Heavy modules present in ``sys.modules`` of a fresh interpreter after running ``code``."""
    probe = (f"import sys\n{code}\n"
             f"heavy = [m for m in sys.modules if m in {HEAVY!r} or (m.startswith('devicelab.') and "
             f"not m.startswith('devicelab.cli') and m not in {LIGHT!r})]\n"
             f"import json; print(json.dumps(sorted(heavy)))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _help(args: list[str]) -> str:
    return ("from devicelab.cli import cli\n"
            "try:\n"
            f"    cli({args!r}, prog_name='devicelab')\n"
            "except SystemExit as exc:\n"
            "    assert exc.code == 0, exc.code\n")


def test_import_of_cli_loads_nothing_heavy():
    assert _imported_after("import devicelab.cli") == []


def test_top_level_help_loads_nothing_heavy():
    assert _imported_after(_help(["--help"])) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_help_loads_nothing_heavy(name):
    assert _imported_after(_help([name, "--help"])) == []


def test_every_cli_module_is_a_registered_command():
    modules = {p.stem for p in (REPO / "devicelab" / "cli").glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_help_is_the_commands_own_first_sentence(name):
    command = cli.get_command(click.Context(cli), name)
    assert command.name == name
    assert COMMANDS[name] == command.get_short_help_str(limit=1000)


def test_unknown_command_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "devicelab", "no-such-command"], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert result.returncode == 2 and "No such command 'no-such-command'" in result.stderr


def test_crossbar_engine_choices_are_the_simulators_engines():
    from devicelab.cli.crossbar import ENGINE_CHOICES
    from devicelab.spice.crossbar.files import ENGINES

    assert tuple(ENGINE_CHOICES) == tuple(ENGINES)
