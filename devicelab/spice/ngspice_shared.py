"""A thin wrapper of the ngspice shared library (``libngspice``) C API, through cffi.

ngspice's shared-library interface is declared in ``sharedspice.h`` (ngspice manual, chapter "ngspice as
shared library"). :class:`SharedNgspice` binds the few functions devicelab needs and adds nothing else:

==========================  ============================================================================
C function                  method
==========================  ============================================================================
``ngSpice_Init``            :class:`SharedNgspice` constructor (registers the output and exit callbacks)
``ngSpice_Circ``            :meth:`SharedNgspice.load_circuit` (returns the C return code)
``ngSpice_Command``         :meth:`SharedNgspice.command` (returns the C return code)
``ngSpice_CurPlot``         :meth:`SharedNgspice.current_plot`
``ngSpice_AllPlots``        :meth:`SharedNgspice.plot_names`
``ngSpice_AllVecs``         :meth:`SharedNgspice.vector_names`
``ngGet_Vec_Info``          :meth:`SharedNgspice.vector` (copied into a numpy array)
==========================  ============================================================================

Failures are not guessed from the output text here: methods return the library's return codes, and
everything ngspice prints (its ``stdout`` and ``stderr`` streams, in the order printed) is collected in
:attr:`SharedNgspice.output` for the caller to classify (see :mod:`devicelab.spice.runner`). A controlled
exit requested by ngspice (the ``ControlledExit`` callback, e.g. after a fatal error) is recorded in
:attr:`SharedNgspice.exit_status`; after it the library must not be used again.

ngspice keeps global state, so one process holds at most one usable instance: devicelab creates it in a
fresh child process per run (:mod:`devicelab.spice.ngspice_child`). This module imports only cffi and numpy
(never devicelab), because that child loads it by path.

The library is ``$NGSPICE_LIBRARY_PATH`` when set (the variable PySpice also honours), otherwise the first of
:data:`LIBRARY_NAMES` the dynamic loader finds (Debian: package ``libngspice0``).
"""

from __future__ import annotations

import locale
import os
import re

import numpy as np

LIBRARY_ENV = "NGSPICE_LIBRARY_PATH"
LIBRARY_NAMES = ("libngspice.so", "libngspice.so.0", "libngspice.dylib", "ngspice.dll")

# Declarations copied from sharedspice.h (ngspice 30 and later; unchanged through ngspice 44). Only the types
# the functions below need; the callbacks' data pointers are declared void * because we pass no data callbacks.
CDEF = """
typedef struct ngcomplex { double cx_real; double cx_imag; } ngcomplex_t;
typedef struct vector_info {
    char *v_name; int v_type; short v_flags; double *v_realdata; ngcomplex_t *v_compdata; int v_length;
} vector_info, *pvector_info;
typedef int (SendChar)(char *, int, void *);
typedef int (SendStat)(char *, int, void *);
typedef int (ControlledExit)(int, bool, bool, int, void *);
typedef int (SendData)(void *, int, int, void *);
typedef int (SendInitData)(void *, int, void *);
typedef int (BGThreadRunning)(bool, int, void *);
int ngSpice_Init(SendChar *, SendStat *, ControlledExit *, SendData *, SendInitData *, BGThreadRunning *, void *);
int ngSpice_Command(char *);
int ngSpice_Circ(char **);
char *ngSpice_CurPlot(void);
char **ngSpice_AllPlots(void);
char **ngSpice_AllVecs(char *);
pvector_info ngGet_Vec_Info(char *);
"""
_VERSION = re.compile(r"\*\* ngspice-(\d+(?:\.\d+)*)")


class NgspiceLibraryError(OSError):
    """libngspice could not be loaded or initialized (message names the library and the remedy)."""


def library_candidates() -> tuple[str, ...]:
    """Library names or paths tried in order: ``$NGSPICE_LIBRARY_PATH`` alone when set, else :data:`LIBRARY_NAMES`."""
    override = os.environ.get(LIBRARY_ENV)
    return (override,) if override else LIBRARY_NAMES


class SharedNgspice:
    """One initialized ngspice instance of the shared library (at most one per process).

    Parameters
    ----------
    library : str, optional
        Library name or path; default: :func:`library_candidates`, first that loads.

    Attributes
    ----------
    output : list of str
        Every line ngspice printed since the last :meth:`clear_output`, ``stdout`` and ``stderr`` interleaved
        in the order printed, without the stream prefix.
    exit_status : int or None
        Status ngspice passed to the ``ControlledExit`` callback, or None while it has not asked to exit.
    """

    def __init__(self, library: str | None = None) -> None:
        import cffi

        self.ffi = cffi.FFI()
        self.ffi.cdef(CDEF)
        self.lib = self._load(library)
        self.output: list[str] = []
        self.exit_status: int | None = None
        # ngspice parses numbers with the C library's locale; "1.5" must not depend on the user's locale.
        locale.setlocale(locale.LC_NUMERIC, "C")
        # The callbacks must stay referenced as long as the library may call them.
        self._callbacks = (
            self.ffi.callback("SendChar", self._on_output),
            self.ffi.callback("SendStat", lambda status, ident, user: 0),
            self.ffi.callback("ControlledExit", self._on_exit),
            self.ffi.callback("SendInitData", lambda data, ident, user: 0),
            self.ffi.callback("BGThreadRunning", lambda running, ident, user: 0),
        )
        send_char, send_stat, controlled_exit, send_init_data, bg_thread = self._callbacks
        rc = self.lib.ngSpice_Init(send_char, send_stat, controlled_exit, self.ffi.NULL, send_init_data, bg_thread,
                                   self.ffi.NULL)
        if rc != 0:
            raise NgspiceLibraryError(f"ngSpice_Init returned {rc}")
        self.command("set nomoremode")  # never page long outputs (it would wait for a key press)

    def _load(self, library: str | None):
        tried = []
        for name in (library,) if library else library_candidates():
            try:
                return self.ffi.dlopen(name)
            except OSError as exc:
                tried.append(f"{name}: {exc}")
        raise NgspiceLibraryError("cannot load the ngspice shared library (install libngspice0, or set "
                                  f"{LIBRARY_ENV} to its path); tried " + "; ".join(tried))

    def _on_output(self, message, ident, user) -> int:
        text = self.ffi.string(message).decode("utf-8", errors="replace")
        stream, _, line = text.partition(" ")
        self.output.append(line if stream in ("stdout", "stderr") else text)
        return 0

    def _on_exit(self, status, immediate, quit_requested, ident, user) -> int:
        self.exit_status = int(status)
        self.output.append(f"ngspice requested exit (status {int(status)}, quit {bool(quit_requested)})")
        return 0

    def clear_output(self) -> None:
        """Forget the collected output lines."""
        self.output.clear()

    def command(self, command: str) -> int:
        """Run one ngspice control command (e.g. ``"run"``); return ``ngSpice_Command``'s code (0 = accepted)."""
        return int(self.lib.ngSpice_Command(command.encode("ascii")))

    def load_circuit(self, lines: list[str]) -> int:
        """Send a netlist, one string per line, through ``ngSpice_Circ``; return its code (0 = parsed).

        Blank lines are dropped and the empty last line ngspice expects is added.
        """
        keep = [self.ffi.new("char[]", line.encode("ascii")) for line in lines if line.strip()]
        keep += [self.ffi.new("char[]", b""), self.ffi.NULL]
        return int(self.lib.ngSpice_Circ(self.ffi.new("char *[]", keep)))

    def _strings(self, array) -> list[str]:
        names, k = [], 0
        while array != self.ffi.NULL and array[k] != self.ffi.NULL:
            names.append(self.ffi.string(array[k]).decode("utf-8", errors="replace"))
            k += 1
        return names

    def current_plot(self) -> str:
        """Name of the current plot (the last analysis run, e.g. ``op1``, ``dc1``, ``tran1``)."""
        return self.ffi.string(self.lib.ngSpice_CurPlot()).decode()

    def plot_names(self) -> list[str]:
        """Names of all plots, newest first, ``const`` last."""
        return self._strings(self.lib.ngSpice_AllPlots())

    def vector_names(self, plot: str) -> list[str]:
        """Names of the vectors of ``plot``."""
        return self._strings(self.lib.ngSpice_AllVecs(plot.encode()))

    def vector(self, plot: str, name: str) -> np.ndarray:
        """Vector ``name`` of ``plot`` copied out of ngspice's memory: float64, or complex128 for complex data.

        Values are in the vector's SI unit (V, A, s, Hz, ...). Raises KeyError if there is no such vector.
        """
        info = self.lib.ngGet_Vec_Info(f"{plot}.{name}".encode())
        if info == self.ffi.NULL:
            raise KeyError(f"ngspice has no vector {plot}.{name}")
        length = int(info.v_length)
        if info.v_realdata != self.ffi.NULL:
            return np.frombuffer(self.ffi.buffer(info.v_realdata, length * 8), dtype=np.float64).copy()
        if info.v_compdata != self.ffi.NULL:
            raw = np.frombuffer(self.ffi.buffer(info.v_compdata, length * 16), dtype=np.float64)
            return raw[0::2] + 1j * raw[1::2]
        return np.zeros(0)

    def vectors(self, plot: str) -> dict[str, np.ndarray]:
        """All vectors of ``plot`` by name (see :meth:`vector`)."""
        return {name: self.vector(plot, name) for name in self.vector_names(plot)}

    def version(self) -> str:
        """ngspice version as printed by ``version -f`` (e.g. ``"39"``), or "" if it could not be read."""
        start = len(self.output)
        self.command("version -f")
        match = next((m for line in self.output[start:] if (m := _VERSION.search(line))), None)
        return match.group(1) if match else ""
