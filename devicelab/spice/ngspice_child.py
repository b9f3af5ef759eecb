"""Body of the isolated ngspice child process of :mod:`devicelab.spice.runner` (run by path, not imported).

The parent starts a ``multiprocessing`` spawn child that runs this file with ``runpy.run_path`` and the
globals ``NETLIST`` (netlist text) and ``SENDER`` (the write end of a pipe). It needs only numpy and PySpice,
so it does not import devicelab. One ngspice instance (PySpice ``NgSpiceShared.new_instance()``), one
circuit (``ngSpice_Circ``), one ``run`` (``ngSpice_Command``); it sends back a dict with the two return codes,
every vector of every new plot (float64 or complex128 numpy arrays), the analysis plot name, the ngspice log
(stdout then stderr lines), the time spent inside ngspice (s) and the ngspice version.
"""

import logging
import time

import numpy as np


def plot_vectors(lib, ffi, null, plot_name: str) -> dict:
    """All vectors of ``plot_name`` as numpy arrays (copied out of ngspice's memory)."""
    vectors = {}
    names = lib.ngSpice_AllVecs(plot_name.encode())
    k = 0
    while names[k] != null:
        name = ffi.string(names[k]).decode()
        info = lib.ngGet_Vec_Info(f"{plot_name}.{name}".encode())
        length = info.v_length
        if info.v_realdata != null:
            data = np.frombuffer(ffi.buffer(info.v_realdata, length * 8), dtype=np.float64).copy()
        else:
            raw = np.frombuffer(ffi.buffer(info.v_compdata, length * 16), dtype=np.float64)
            data = raw[0::2] + 1j * raw[1::2]
        vectors[name] = data
        k += 1
    return vectors


def run(netlist: str, sender) -> None:
    """Load and run ``netlist`` in a new ngspice instance; send the outcome through ``sender``."""
    logging.getLogger("PySpice").setLevel(logging.CRITICAL)
    from PySpice.Spice.NgSpice.Shared import FFI, NgSpiceShared, ffi

    ngspice = NgSpiceShared.new_instance()
    lib = ngspice._ngspice_shared
    lines = [line for line in netlist.splitlines() if line.strip()] + [""]
    keepalive = [ffi.new("char[]", line.encode("ascii")) for line in lines] + [FFI.NULL]
    ngspice.clear_output()
    before = set(ngspice.plot_names)
    start = time.perf_counter()
    rc_circ = int(lib.ngSpice_Circ(ffi.new("char *[]", keepalive)))
    rc_run = int(lib.ngSpice_Command(b"run")) if rc_circ == 0 else -1
    ngspice_time = time.perf_counter() - start
    plots = {}
    analysis = ""
    for name in ngspice.plot_names:
        if name == "const" or name in before:
            continue
        analysis = analysis or name
        plots[name] = plot_vectors(lib, ffi, FFI.NULL, name)
    sender.send({"rc_circ": rc_circ, "rc_run": rc_run, "plots": plots, "analysis": analysis,
                 "log": "\n".join(ngspice._stdout + ngspice._stderr), "ngspice_time": ngspice_time,
                 "version": str(getattr(ngspice, "ngspice_version", ""))})
    sender.close()


if __name__ == "devicelab_ngspice_child":  # run by runpy.run_path in the child process
    run(NETLIST, SENDER)  # noqa: F821 - globals given by the parent
