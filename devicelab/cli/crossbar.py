"""``devicelab crossbar ...``: crossbar circuit simulation (ngspice or the nodal solver) and netlist export."""

from __future__ import annotations

import functools

import click

from devicelab.cli._outputs import check_outputs, overwrite_option

# devicelab.spice.crossbar.files.ENGINES, spelled out so that `--help` imports no stage code (a test checks
# that the two agree).
ENGINE_CHOICES = ("ngspice", "nodal")


@click.group()
def crossbar() -> None:
    """Crossbar circuits: SPICE (ngspice) and the fast nodal solver."""


def _circuit_options(command):
    """Options shared by every crossbar command: the circuit and its two input files."""
    options = [
        click.option("--rows", type=int, required=True, help="Number of rows (inputs)."),
        click.option("--cols", type=int, required=True, help="Number of (logical) columns (outputs)."),
        click.option("--r-row", type=float, default=0.0, show_default=True, help="Row wire segment resistance (ohm)."),
        click.option("--r-col", type=float, default=0.0, show_default=True,
                     help="Column wire segment resistance (ohm)."),
        click.option("--r-driver", type=float, default=0.0, show_default=True, help="Row driver resistance (ohm)."),
        click.option("--r-sense", type=float, default=0.0, show_default=True, help="Column sense resistance (ohm)."),
        click.option("--conductances", type=click.Path(dir_okay=False), required=True,
                     help="G.npy: conductances (S), (rows, cols); (2, rows, cols) with --differential."),
        click.option("--inputs", type=click.Path(dir_okay=False), required=True,
                     help="V.npy: input voltages (V), one vector per row: (n_vectors, rows)."),
        click.option("--device", type=click.Choice(["linear", "sinh"]), default="linear", show_default=True,
                     help="Cell read I-V: linear I = G V, or sinh I = G v0 sinh(V/v0)."),
        click.option("--v0", type=float, default=None, help="v0 (V) of the sinh I-V."),
        click.option("--cell", type=click.Choice(["passive", "1t1r"]), default="passive", show_default=True,
                     help="Passive cells, or 1T1R cells with the dl_nmos_access transistor."),
        click.option("--v-gate", type=float, default=None,
                     help="Word-line (gate) voltage of 1T1R cells (V) [default: AccessTransistor's v_gate]."),
        click.option("--differential", is_flag=True, help="G+/G- column pairs; output I+ - I-."),
        click.option("--devices-per-polarity", type=int, default=1, show_default=True,
                     help="N devices per polarity on adjacent physical columns; conductances then "
                          "(N, rows, cols), or (2, N, rows, cols) with --differential."),
        click.option("--significance", default=None,
                     help="Significance factors of the N devices, most significant first, comma-separated "
                          "[default: all 1]; the output is sum_k f_k I_k / sum_k f_k."),
    ]

    @functools.wraps(command)
    def wrapper(rows, cols, r_row, r_col, r_driver, r_sense, device, v0, cell, v_gate, differential,
                devices_per_polarity, significance, **kwargs):
        from devicelab.errors import ConfigError
        from devicelab.spice.crossbar.spec import AccessTransistor, CrossbarSpec

        transistor = AccessTransistor() if v_gate is None else AccessTransistor(v_gate=v_gate)
        factors = None
        if significance is not None:
            try:
                factors = tuple(float(f) for f in significance.split(","))
            except ValueError:
                raise ConfigError(f"--significance: expected comma-separated numbers > 0, got {significance!r}") from None
        spec = CrossbarSpec(rows, cols, r_row=r_row, r_col=r_col, r_driver=r_driver, r_sense=r_sense, device=device,
                            v0=v0, cell=cell, transistor=transistor, differential=differential,
                            devices_per_polarity=devices_per_polarity, significance=factors)
        return command(spec, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


@crossbar.command()
@_circuit_options
@click.option("--engine", type=click.Choice(ENGINE_CHOICES), default="nodal", show_default=True,
              help="ngspice (SPICE, slow) or nodal (sparse solver, same circuit).")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="ngspice time limit (s).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="I.npy: output currents (A), (n_vectors, cols).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Also write an IR-drop heat map (PNG) of the first input vector.")
@click.option("--energy", is_flag=True,
              help="Also write the MVM energy of every input vector (J; devices/wires/drivers/senses) as JSON "
                   "next to the output (I.npy -> I.energy.json); needs --t-read.")
@click.option("--t-read", type=float, default=None, help="Read pulse length (s) for --energy.")
@overwrite_option
def simulate(spec, conductances, inputs, engine, timeout, output, plot, energy, t_read, overwrite) -> None:
    """Simulate a crossbar: output column currents for every input vector."""
    import numpy as np

    from devicelab.spice.crossbar.files import energy_path_for, simulate_files

    if energy and t_read is None:
        raise click.UsageError("--energy needs --t-read (s), the read pulse length")
    if t_read is not None and not energy:
        raise click.UsageError("--t-read is only used with --energy")
    check_outputs(overwrite, files=[output, plot, energy_path_for(output) if energy else None])
    summary = simulate_files(spec, conductances, inputs, output, engine=engine, plot=plot, timeout=timeout,
                             t_read=t_read if energy else None)
    click.echo(f"{summary.engine}: {summary.n_vectors} vector(s) x {summary.cols} column(s) in "
               f"{summary.elapsed:.3g} s; max |I| = {summary.max_current:.4g} A; max deviation from ideal V.G = "
               f"{summary.ideal_deviation:.3g} "
               f"(relative); wrote {output}" + (f" and {plot}" if plot else ""))
    if summary.energy is not None:
        e = summary.energy
        click.echo(f"energy per MVM (mean over {summary.n_vectors} vector(s), t_read = {e.t_read:.3g} s): "
                   f"source {np.mean(e.source):.4g} J = devices {np.mean(e.devices):.4g} J + access transistors "
                   f"{np.mean(e.access_transistors):.4g} J + wires {np.mean(e.wires):.4g} J + drivers/senses "
                   f"{np.mean(e.drivers + e.senses):.4g} J; wrote {summary.energy_path}")


@crossbar.command()
@_circuit_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="NETLIST.cir: ngspice input (run by hand with ngspice -b NETLIST.cir).")
@overwrite_option
def netlist(spec, conductances, inputs, output, overwrite) -> None:
    """Write the ngspice netlist of a crossbar (one DC sweep point per input vector)."""
    from devicelab.spice.crossbar.files import write_netlist_file

    check_outputs(overwrite, files=[output])
    lines = write_netlist_file(spec, conductances, inputs, output)
    click.echo(f"wrote {output} ({lines} lines)")
