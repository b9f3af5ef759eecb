"""The libngspice wrapper (devicelab.spice.ngspice_shared) as used by the runner's child process."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from devicelab.errors import SimulationError
from devicelab.spice import ngspice_shared, run_netlist, runner

pytestmark = pytest.mark.spice

R, C = 1e3, 1e-9  # ohm, F
F_C = 1 / (2 * math.pi * R * C)  # Hz, corner frequency (159.15 kHz): the middle of the 3 AC points below
LOWPASS = f"""rc low-pass
v1 in 0 dc 0 ac 1
r1 in out {R:g}
c1 out 0 {C:g}
.ac lin 3 {F_C / 2!r} {3 * F_C / 2!r}
.end
"""


def test_complex_vectors_of_an_ac_analysis_match_the_rc_transfer_function():
    result = run_netlist(LOWPASS)
    vectors = result.vectors()
    assert result.analysis.startswith("ac")
    f, v_out = vectors["frequency"].real, vectors["out"]
    assert v_out.dtype == np.complex128 and v_out.shape == (3,)
    expected = 1.0 / (1.0 + 2j * np.pi * f * R * C)
    # a linear AC solve is exact up to rounding; 1e-9 leaves room for ngspice's printed-precision constants
    np.testing.assert_allclose(v_out, expected, rtol=1e-9)
    assert abs(v_out[1]) == pytest.approx(1 / math.sqrt(2), rel=1e-9)  # the middle point is the corner


def test_version_is_the_number_ngspice_prints():
    version = run_netlist(LOWPASS).ngspice_version
    assert version and all(part.isdigit() for part in version.split("."))


def test_library_path_comes_from_the_environment_when_set(monkeypatch):
    monkeypatch.setenv(ngspice_shared.LIBRARY_ENV, "/opt/ngspice/lib/libngspice.so")
    assert ngspice_shared.library_candidates() == ("/opt/ngspice/lib/libngspice.so",)
    monkeypatch.delenv(ngspice_shared.LIBRARY_ENV)
    assert ngspice_shared.library_candidates() == ngspice_shared.LIBRARY_NAMES


def test_a_missing_library_fails_the_run_without_hanging(monkeypatch, tmp_path):
    monkeypatch.setenv(ngspice_shared.LIBRARY_ENV, str(tmp_path / "no-libngspice.so"))
    with pytest.raises(SimulationError, match="exited with code 1 before returning a result"):
        run_netlist(LOWPASS, timeout=60.0, retry=False)


def test_the_child_imports_neither_devicelab_nor_pyspice():
    # run the child body in a fresh interpreter with a stand-in pipe end, then look at what it imported
    probe = f"""
import json, runpy, sys
class Sender:
    def send(self, outcome): self.outcome = outcome
    def close(self): pass
sender = Sender()
runpy.run_path({str(runner.CHILD_SCRIPT)!r}, init_globals={{"NETLIST": {LOWPASS!r}, "SENDER": sender}},
               run_name={runner.CHILD_RUN_NAME!r})
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("devicelab", "PySpice", "scipy", "matplotlib"))
print(json.dumps({{"loaded": loaded, "rc": [sender.outcome["rc_circ"], sender.outcome["rc_run"]]}}))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env,
                          cwd=Path(runner.CHILD_SCRIPT).parent, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"loaded": [], "rc": [0, 0]}
