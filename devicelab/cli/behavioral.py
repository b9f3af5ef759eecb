"""`devicelab behavioral build|check|apply`: behavioral crossbar models built from sweep files."""

from __future__ import annotations

import click

from devicelab.cli._outputs import check_outputs, overwrite_option


@click.group("behavioral")
def behavioral():
    """Build, check and apply behavioral crossbar models (fast IR-drop/sneak-path models from sweeps)."""


@behavioral.command("build")
@click.argument("sweep_file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Crossbar model file to write (HDF5, format devicelab.crossbar_model v1).")
@click.option("--r-wire", type=float, default=None,
              help="Wire resistance (ohm per segment) of the circuit the model is bound for by default; must be one "
                   "of the sweep's values (default: the sweep's largest).")
@overwrite_option
def build(sweep_file, output, r_wire, overwrite):
    """Calibrate a crossbar model on part of SWEEP_FILE, measure its error on the held-out rest, and
    write it with its validity range, error table and provenance; prints the error table."""
    from devicelab.behavioral import build_crossbar_model, format_error_table, save_crossbar_model

    check_outputs(overwrite, files=[output])

    model = build_crossbar_model(sweep_file, r_wire=r_wire)
    save_crossbar_model(model, output)
    s = model.settings
    click.echo(f"crossbar model written: {output} (probes per side {s.n_probes}, relaxation tol {s.tol:g}, "
               f"kappa3 {s.kappa3:.4g})")
    click.echo(format_error_table(model.error_table))


@behavioral.command("check")
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--against", "sweep_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Measure the error on this sweep file instead of printing the stored held-out table.")
def check(model_file, sweep_file):
    """Print the error table of MODEL_FILE: the stored held-out one, or one measured --against a sweep."""
    from devicelab.behavioral import check_crossbar_model, format_error_table, load_crossbar_model

    model = load_crossbar_model(model_file)
    v = model.validity
    click.echo(f"{model_file}: circuit {model.circuit}; valid for {v.rows[0]}-{v.rows[1]} rows, "
               f"{v.cols[0]}-{v.cols[1]} cols, wires {v.r_wire[0]:g}-{v.r_wire[1]:g} ohm, "
               f"G {v.g[0]:.3g}-{v.g[1]:.3g} S, |V| <= {v.v_max:.3g} V, devices {', '.join(v.devices)}")
    rows = check_crossbar_model(model, sweep_file) if sweep_file else model.error_table
    click.echo(format_error_table(rows))


@behavioral.command("apply")
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--conductances", "g_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Conductances in S (.npy): (rows, cols), or (2, rows, cols) G+/G- for differential models.")
@click.option("--inputs", "v_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Input voltages in V (.npy): one vector per row, (n_vectors, rows).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Output currents in A (.npy, float64): (n_vectors, cols).")
@overwrite_option
def apply(model_file, g_file, v_file, output, overwrite):
    """Column currents of the crossbar in MODEL_FILE for the given conductances and inputs."""
    from devicelab.behavioral import apply_model_files

    check_outputs(overwrite, files=[output])

    shape = apply_model_files(model_file, g_file, v_file, output)
    click.echo(f"currents written: {output} {shape}")
