"""The isolated ngspice runner: results, rejected netlists, convergence failures, timeouts and crashes."""

import os
import subprocess
import time

import numpy as np
import pytest

from devicelab.errors import SimulationError
from devicelab.spice import run_netlist, runner

pytestmark = pytest.mark.spice

DIVIDER = """divider
v1 a 0 1
r1 a b 1k
r2 b 0 3k
.op
.end
"""


def test_operating_point_vectors_come_back_as_numpy_arrays():
    result = run_netlist(DIVIDER)
    vectors = result.vectors()
    assert result.analysis.startswith("op")
    assert isinstance(vectors["b"], np.ndarray)
    assert vectors["b"][0] == pytest.approx(0.75, rel=1e-12)
    assert result.attempts == 1 and "Circuit: divider" in result.log


def test_rejected_netlist_raises_with_the_ngspice_message_and_log():
    with pytest.raises(SimulationError, match="rejected the netlist") as info:
        run_netlist("bad\nr1 a 0 notanumber\nv1 a 0 1\n.op\n.end\n")
    assert "unknown parameter" in info.value.log or "Error on line" in info.value.log


def test_non_convergent_netlist_is_retried_then_reported():
    shorted = "short\nv1 a 0 1\nv2 a 0 2\n.op\n.end\n"
    with pytest.raises(SimulationError, match=r"did not converge after 3 attempt") as info:
        run_netlist(shorted)
    assert info.value.log.count("--- attempt") == 3
    assert runner.RETRY_OPTIONS[1] in info.value.log


def test_retry_can_be_disabled():
    with pytest.raises(SimulationError, match=r"after 1 attempt"):
        run_netlist("short\nv1 a 0 1\nv2 a 0 2\n.op\n.end\n", retry=False)


def test_retry_options_go_before_end():
    text = runner._with_options(DIVIDER, runner.RETRY_OPTIONS[0])
    assert text.rstrip().splitlines()[-2:] == [runner.RETRY_OPTIONS[0], ".end"]


def test_tiny_timeout_kills_the_run_and_raises():
    with pytest.raises(SimulationError, match="timeout"):
        run_netlist(DIVIDER, timeout=0.01)


def _crashing_child(netlist, sender):
    os.abort()


def test_a_crashing_simulator_does_not_take_the_caller_down(monkeypatch):
    monkeypatch.setattr(runner, "_child_process_args", lambda netlist, sender: (_crashing_child, (netlist, sender), {}))
    with pytest.raises(SimulationError, match="crashed"):
        run_netlist(DIVIDER, retry=False)
    monkeypatch.undo()
    assert run_netlist(DIVIDER).vectors()["b"][0] == pytest.approx(0.75)


def _dying_child_leaving_the_pipe_open(netlist, sender):
    # a grandchild inherits the write end of the result pipe, so the pipe never reaches EOF while it lives
    subprocess.Popen(["sleep", "30"], pass_fds=(sender.fileno(),))
    os._exit(3)


def test_a_child_that_dies_silently_is_reported_without_waiting_for_the_timeout(monkeypatch):
    monkeypatch.setattr(runner, "_child_process_args",
                        lambda netlist, sender: (_dying_child_leaving_the_pipe_open, (netlist, sender), {}))
    start = time.monotonic()
    with pytest.raises(SimulationError, match="exit code 3"):
        run_netlist(DIVIDER, timeout=25.0, retry=False)
    assert time.monotonic() - start < 20.0  # below the timeout: the child's death was noticed


def test_text_without_end_is_refused_before_running():
    with pytest.raises(SimulationError, match="ending with '.end'"):
        run_netlist("x\nr1 a 0 1\n")
