"""Running netlist text through ngspice (its shared library, libngspice) in an isolated child process.

Each run happens in a fresh ``multiprocessing`` *spawn* child (running :mod:`ngspice_child` by path) that
loads ``libngspice`` through the thin cffi wrapper :mod:`devicelab.spice.ngspice_shared`, sends the circuit
(``ngSpice_Circ``) and ``run`` (``ngSpice_Command``), and returns every vector of every plot as float64
(complex128 for complex data) numpy arrays. A crash
(segfault, controlled exit) or a hang of ngspice only ends the child: the caller gets a
:class:`~devicelab.errors.SimulationError` (with the ngspice log in ``.log``), after ``timeout`` seconds
at most for a hang.

Failures are read from the return codes of the library calls plus ngspice's own messages, classified by
:data:`_PARSE_ERRORS` (the netlist was rejected: not retried) and :data:`_CONVERGENCE` (the analysis
did not converge: retried), and from whether the analysis produced its plot.

Retry ladder for convergence failures (each attempt is a fresh ngspice with extra ``.options`` placed
before ``.end``), see :data:`RETRY_OPTIONS`:

1. ``itl1=500 itl2=500``: 500 instead of 100 Newton iterations per operating point and 500 instead of 50
   per DC-sweep point (ngspice's dynamic gmin stepping and source stepping still follow a failure);
2. ``itl1=500 itl2=500 gminsteps=20 srcsteps=20 noopiter``: skip the plain Newton attempt and use classic
   spice3 gmin stepping (20 decades, from gmin * 1e20 down to the netlist's gmin), then 20 source steps.

None of these options changes the converged solution (gmin stepping ends at the netlist's gmin).

The wrapper returns the return codes of those library calls and the output lines as printed; deciding
what a failure is happens here (PySpice's ``load_circuit()`` / ``run()``, by contrast, decide failure by
searching "error" in the output).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import runpy
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devicelab.errors import SimulationError

log = logging.getLogger(__name__)
CHILD_SCRIPT = Path(__file__).with_name("ngspice_child.py")
CHILD_RUN_NAME = "devicelab_ngspice_child"
_POLL_SLICE = 0.1  # s between checks that the child is still alive
#: A child that has not started (re-imported the main script, unpickled its arguments) after this many
#: seconds is killed and reported as unable to start, instead of waiting for the run's timeout.
START_TIMEOUT = 30.0

RETRY_OPTIONS = (
    ".options itl1=500 itl2=500",
    ".options itl1=500 itl2=500 gminsteps=20 srcsteps=20 noopiter",
)
_PARSE_ERRORS = re.compile(r"^(Error on line|Error: circuit not parsed|Error: .*(unknown|not found|syntax|"
                           r"could not|no such|undefined))|could not find a valid modelname|unknown parameter",
                           re.IGNORECASE)
_CONVERGENCE = re.compile(r"gmin stepping failed|source stepping failed|timestep too small|"
                          r"no convergence|iteration limit reached|DC solution failed|singular matrix",
                          re.IGNORECASE)
_ABORTED = re.compile(r"simulation\(s\) aborted|doAnalyses:", re.IGNORECASE)


@dataclass
class NetlistResult:
    """Vectors of an ngspice run: ``plots[plot_name][vector_name]`` -> float64 array (SI units).

    ``log`` is ngspice's stdout and stderr; ``attempts`` the number of ngspice runs it took (1 = no retry);
    ``options`` the extra ``.options`` line of the successful attempt ("" for none); ``elapsed`` wall time
    of that attempt (s, child process start included); ``ngspice_time`` time inside ngspice (s, loading
    the circuit plus the analysis).
    """

    plots: dict[str, dict[str, np.ndarray]]
    log: str
    attempts: int = 1
    options: str = ""
    elapsed: float = 0.0
    ngspice_version: str = ""
    analysis: str = field(default="")
    ngspice_time: float = 0.0

    def vectors(self, plot: str | None = None) -> dict[str, np.ndarray]:
        """Vectors of ``plot`` (default: the analysis plot, e.g. ``dc1``)."""
        name = plot or self.analysis
        if name not in self.plots:
            raise SimulationError(f"ngspice produced no plot {name!r} (plots: {sorted(self.plots)})", self.log)
        return self.plots[name]


def spawn_main_problem() -> str | None:
    """Why a ``multiprocessing`` *spawn* child of this process could not start, or None if it can.

    A spawn child first re-imports the parent's main module: by name after ``python -m``, by path after
    ``python script.py``. When ``__main__`` names a file that does not exist (a script fed on stdin,
    ``python - <<EOF``, gives ``<stdin>``), every child dies at start-up before running anything.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(getattr(main, "__spec__", None), "name", None):
        return None
    path = getattr(main, "__file__", None)
    if path is None or os.path.isfile(path):  # interactive sessions and python -c are not re-imported
        return None
    return (f"the main script {path!r} is not a file a 'spawn' child process can re-import (a script fed on "
            f"stdin, e.g. `python - <<EOF`); save it to a file and run `python script.py` (code that starts "
            f"work under `if __name__ == \"__main__\":`), or use `python -c`")


def check_spawn_main(what: str) -> None:
    """Raise :class:`SimulationError` at once (not at a timeout) when spawn children cannot start, saying why."""
    problem = spawn_main_problem()
    if problem is not None:
        raise SimulationError(f"cannot start {what}: {problem}")


def run_netlist(text: str, timeout: float = 300.0, retry: bool = True) -> NetlistResult:
    """Run netlist ``text`` (ending with ``.end``) in an isolated ngspice; return its vectors.

    ``timeout`` (s) bounds each attempt. Raises SimulationError if the netlist is rejected, the analysis
    does not converge after the retries of :data:`RETRY_OPTIONS` (``retry=False`` disables them),
    ngspice crashes, or the timeout expires; the exception's ``log`` holds ngspice's output.
    """
    if not isinstance(text, str) or not text.rstrip().lower().endswith(".end"):
        raise SimulationError("netlist text must be a string ending with '.end'")
    check_spawn_main("the ngspice child process")
    ladder = ("",) + (RETRY_OPTIONS if retry else ())
    logs = []
    for attempt, options in enumerate(ladder, start=1):
        netlist = _with_options(text, options)
        start = time.perf_counter()
        outcome = _run_isolated(netlist, timeout)
        elapsed = time.perf_counter() - start
        logs.append(f"--- attempt {attempt} {options or '(netlist as given)'}\n{outcome['log']}")
        status = _classify(outcome)
        if status == "ok":
            plots = outcome["plots"]
            analysis = outcome["analysis"]
            return NetlistResult(plots, outcome["log"], attempt, options, elapsed, outcome["version"], analysis,
                                 outcome["ngspice_time"])
        if status != "convergence":
            raise SimulationError(_describe(status, outcome, timeout), "\n".join(logs))
        log.info("ngspice did not converge (attempt %d); retrying with: %s", attempt, options or "-")
    raise SimulationError(f"ngspice did not converge after {len(ladder)} attempt(s) (last options: "
                          f"{ladder[-1] or 'none'}); see the log", "\n".join(logs))


def _with_options(text: str, options: str) -> str:
    if not options:
        return text
    body = text.rstrip()
    return body[: len(body) - len(".end")] + options + "\n.end\n"


def _classify(outcome: dict) -> str:
    if outcome.get("timeout"):
        return "timeout"
    if outcome.get("start_timeout"):
        return "start_timeout"
    if outcome.get("crash") is not None:
        return "crash"
    lines = outcome["log"].splitlines()
    if outcome["rc_circ"] or any(_PARSE_ERRORS.search(line) for line in lines):
        return "parse"
    failed = outcome["rc_run"] != 0 or any(_ABORTED.search(line) for line in lines) or not outcome["analysis"]
    if failed:
        return "convergence" if any(_CONVERGENCE.search(line) for line in lines) else "failed"
    return "ok"


def _describe(status: str, outcome: dict, timeout: float) -> str:
    lines = [line for line in outcome.get("log", "").splitlines() if line.strip()]
    if status == "timeout":
        return f"ngspice did not finish within the timeout of {timeout:g} s (child process killed)"
    if status == "start_timeout":
        return (f"the ngspice child process did not start within {START_TIMEOUT:g} s (killed): a 'spawn' child "
                f"first re-imports the main script, so a script that does its work or waits at import (no "
                f"`if __name__ == \"__main__\":` guard) never gets to ngspice")
    if status == "crash":
        code = outcome["crash"]
        if not outcome.get("started", True):
            return (f"the ngspice child process failed to start (exit code {code}): re-importing the main script "
                    f"or unpickling its arguments raised; its traceback is printed above on stderr")
        if code == 1:
            return ("the ngspice child process exited with code 1 before returning a result: a Python error in "
                    "the child (its traceback is printed above on stderr), e.g. cffi or libngspice missing, "
                    "or a main script the 'spawn' child re-imports failing")
        return f"ngspice crashed (child process exit code {code})"
    if status == "parse":
        first = next((line for line in lines if _PARSE_ERRORS.search(line)), "")
        idx = lines.index(first) if first in lines else 0
        detail = "; ".join(lines[idx:idx + 3])
        return f"ngspice rejected the netlist (ngSpice_Circ rc={outcome['rc_circ']}): {detail}"
    first = next((line for line in lines if _ABORTED.search(line)), "no analysis output")
    return f"ngspice analysis failed (run rc={outcome['rc_run']}): {first}"


def _child_process_args(netlist: str, sender):
    """Target and arguments of the child: ``ngspice_child.py`` run by path (``runpy.run_path``), so the
    child imports only numpy and cffi, not the devicelab package (faster start)."""
    init = {"NETLIST": netlist, "SENDER": sender}
    return runpy.run_path, (str(CHILD_SCRIPT),), {"init_globals": init, "run_name": CHILD_RUN_NAME}


def _run_isolated(netlist: str, timeout: float) -> dict:
    """Run ``netlist`` in a spawn child; kill it after ``timeout`` s; report a crash by its exit code.

    The pipe is polled in short slices while watching the child: a child that dies before it even received
    its end of the pipe (the parent then still holds a duplicate of it) is reported at once, not at the timeout.
    The child first says it has started (:mod:`._child_start`); one that dies or stays silent for
    :data:`START_TIMEOUT` s before that is reported as unable to start.
    """
    from devicelab.spice._child_start import run_started

    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    started_receiver, started_sender = context.Pipe(duplex=False)
    target, args, kwargs = _child_process_args(netlist, sender)
    child = context.Process(target=run_started, args=(started_sender, target, args, kwargs), daemon=True)
    child.start()
    sender.close()
    started_sender.close()
    deadline = time.monotonic() + timeout
    try:
        start_deadline = time.monotonic() + START_TIMEOUT
        outcome = _wait_started(child, started_receiver, min(deadline, start_deadline), deadline <= start_deadline)
        if outcome is not None:
            return outcome
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                child.kill()
                child.join()
                return {"timeout": True, "log": ""}
            exited = not child.is_alive()
            if receiver.poll(min(remaining, _POLL_SLICE)):
                try:
                    return receiver.recv()
                except EOFError:
                    break
            if exited:
                break
        child.join(timeout=10)
        return {"crash": child.exitcode, "log": ""}
    finally:
        receiver.close()
        started_receiver.close()
        if child.is_alive():
            child.kill()
        child.join()


def _wait_started(child, started_receiver, deadline: float, run_deadline: bool) -> dict | None:
    """Wait until the child says it started (None), dies first (a failed start) or ``deadline`` passes (the
    run's own timeout when ``run_deadline``, else the start-up limit)."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            child.kill()
            child.join()
            return {"timeout": True, "log": ""} if run_deadline else {"start_timeout": True, "log": ""}
        exited = not child.is_alive()
        if started_receiver.poll(min(remaining, _POLL_SLICE)):
            try:
                started_receiver.recv()
                return None
            except EOFError:
                exited = True
        if exited:
            child.join(timeout=10)
            return {"crash": child.exitcode, "log": "", "started": False}
