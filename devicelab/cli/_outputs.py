"""The output policy every command shares: check outputs before any work, refuse to replace without --overwrite."""

from __future__ import annotations

import click

OVERWRITE_HELP = "Replace existing output files or report folders (without it an existing output is refused)."


def overwrite_option(command):
    """The ``--overwrite`` flag, with the same name and meaning in every command."""
    return click.option("--overwrite", is_flag=True, help=OVERWRITE_HELP)(command)


def check_outputs(overwrite: bool, files=(), folders=(), updated_files=(), updated_folders=()) -> None:
    """Check before any work that every output can be written (see :func:`devicelab.files.check_writable`).

    ``files`` and ``folders`` are new outputs: an existing one is refused unless ``overwrite``.
    ``updated_files`` / ``updated_folders`` are outputs a command adds to on purpose (a model file it extends,
    checkpoints it resumes from): only their writability is checked. ``None`` entries (options not given) are skipped.
    """
    from devicelab.files import check_writable

    for path in files:
        if path is not None:
            check_writable(path, overwrite=overwrite)
    for path in folders:
        if path is not None:
            check_writable(path, folder=True, overwrite=overwrite)
    for path in updated_files:
        if path is not None:
            check_writable(path, overwrite=True)
    for path in updated_folders:
        if path is not None:
            check_writable(path, folder=True, overwrite=True)
