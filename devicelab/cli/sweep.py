"""`devicelab sweep run|show`: checkpointed crossbar sweeps (nodal solver + ngspice) stored in HDF5."""

from __future__ import annotations

import click

from devicelab.cli._outputs import check_outputs, overwrite_option


@click.group("sweep")
def sweep():
    """Run crossbar sweeps described in TOML and summarize sweep files."""


@sweep.command("run")
@click.argument("description", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Sweep file to write (HDF5); checkpoints go to OUTPUT.ckpt/ until it is complete.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes on this machine (default 1: serial); with --dask local, its workers.")
@click.option("--dask", "dask_address", default=None, metavar="ADDR|local",
              help="Run on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' for a LocalCluster.")
@click.option("--overwrite", is_flag=True, help="Discard existing checkpoints and output and start over.")
@click.option("--max-memory", type=click.FloatRange(min=0, min_open=True), default=None, metavar="GIB",
              help="Refuse a sweep whose estimated peak memory (all workers) exceeds this many GiB "
                   "[default: half the RAM].")
@click.option("--max-hours", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Refuse a sweep whose estimated compute time exceeds this many hours [default: no limit].")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def run(description, output, jobs, dask_address, overwrite, max_memory, max_hours, progress):
    """Run every point of the sweep DESCRIPTION (TOML) and write one HDF5 file.

    Re-running the same command after an interruption resumes from the checkpoints; a changed
    description is refused. See the README section "Sweeps" for the TOML keys and the file format.
    """
    from devicelab.spice.sweep.executor import make_executor
    from devicelab.spice.sweep.run import checkpoint_dir, run_sweep

    # An existing output of the same description is kept (run_sweep returns it); another one is refused there.
    check_outputs(True, updated_files=[output], updated_folders=[checkpoint_dir(output)])

    from devicelab.spice.sweep.budget import check_budget, estimate_cost
    from devicelab.spice.sweep.config import load_description

    desc = load_description(description)
    limit = None if max_memory is None else int(max_memory * 2**30)
    import os

    workers = jobs or ((os.cpu_count() or 1) if dask_address == "local" else 1)  # remote Dask: its own RAM
    check_budget(estimate_cost(desc), limit, workers, max_hours)  # before any worker or cluster starts
    with make_executor(jobs=jobs, dask=dask_address) as executor:
        path = run_sweep(desc, output, executor=executor, overwrite=overwrite, progress=progress,
                         max_memory=limit, max_hours=max_hours, jobs=workers,
                         notify=lambda message: click.echo(message, err=True))
    click.echo(f"sweep written: {path}")


@sweep.command("show")
@click.argument("sweep_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Also save the ideal-model error vs size and wire resistance plot (PNG/PDF/SVG).")
@overwrite_option
def show(sweep_file, plot, overwrite):
    """Print one line per point of SWEEP_FILE: size, wires, device, pattern, nodal-vs-ngspice and
    ideal-model errors (full-scale relative) and engine times."""
    from devicelab.spice.sweep.results import format_summary, read_sweep, summarize_sweep

    check_outputs(overwrite, files=[plot])

    data = read_sweep(sweep_file)
    rows = summarize_sweep(data)
    click.echo(f"{sweep_file}: {len(rows)} points, ngspice {data.provenance.get('ngspice_version') or 'not used'}")
    click.echo(format_summary(rows))
    if plot:
        from pathlib import Path

        from devicelab.files import atomic_output
        from devicelab.spice.sweep.plots import plot_ideal_error

        with atomic_output(plot, suffix=Path(plot).suffix) as tmp:
            plot_ideal_error(rows).savefig(tmp)
        click.echo(f"plot written: {plot}")
