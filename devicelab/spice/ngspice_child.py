"""Body of the isolated ngspice child process of :mod:`devicelab.spice.runner` (run by path, not imported).

The parent starts a ``multiprocessing`` spawn child that runs this file with ``runpy.run_path`` and the
globals ``NETLIST`` (netlist text) and ``SENDER`` (the write end of a pipe). It needs only numpy and cffi, so
it does not import devicelab: it loads the libngspice wrapper :mod:`devicelab.spice.ngspice_shared` by path.
One ngspice instance, one circuit (``ngSpice_Circ``), one ``run`` (``ngSpice_Command``); it sends back a dict
with the two return codes, every vector of every new plot (float64 or complex128 numpy arrays), the analysis
plot name, the ngspice log (every line ngspice printed while loading and running the circuit, in order), the
time spent inside ngspice (s) and the ngspice version.
"""

import importlib.util
import time
from pathlib import Path


def load_wrapper():
    """The :mod:`devicelab.spice.ngspice_shared` module, loaded from the file next to this one."""
    path = Path(__file__).with_name("ngspice_shared.py")
    spec = importlib.util.spec_from_file_location("devicelab_ngspice_shared", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(netlist: str, sender) -> None:
    """Load and run ``netlist`` in a new ngspice instance; send the outcome through ``sender``."""
    ngspice = load_wrapper().SharedNgspice()
    version = ngspice.version()
    ngspice.clear_output()
    before = set(ngspice.plot_names())
    start = time.perf_counter()
    rc_circ = ngspice.load_circuit(netlist.splitlines())
    rc_run = ngspice.command("run") if rc_circ == 0 and ngspice.exit_status is None else -1
    ngspice_time = time.perf_counter() - start
    plots = {}
    analysis = ""
    if ngspice.exit_status is None:  # after a controlled exit the library must not be called again
        for name in ngspice.plot_names():
            if name == "const" or name in before:
                continue
            analysis = analysis or name
            plots[name] = ngspice.vectors(name)
    sender.send({"rc_circ": rc_circ, "rc_run": rc_run, "plots": plots, "analysis": analysis,
                 "log": "\n".join(ngspice.output), "ngspice_time": ngspice_time, "version": version})
    sender.close()


if __name__ == "devicelab_ngspice_child":  # run by runpy.run_path, which sets these two globals
    run(globals()["NETLIST"], globals()["SENDER"])
