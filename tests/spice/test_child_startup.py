"""Child processes that cannot start fail at once with the reason, never at the (600 s) timeout."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devicelab.errors import SimulationError
from devicelab.spice import runner

REPO = Path(__file__).resolve().parents[2]
NETLIST = "t\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n"


def _run_stdin_script(body: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # 60 s bounds the test: the old behaviour waited for the runner's 600 s timeout.
    return subprocess.run([sys.executable, "-"], input=body, text=True, capture_output=True, env=env, timeout=60,
                          cwd=REPO)


def test_ngspice_from_a_script_on_stdin_says_why_it_cannot_start():
    done = _run_stdin_script("from devicelab.spice.runner import run_netlist\n"
                             f"run_netlist({NETLIST!r}, timeout=600)\n")
    assert done.returncode != 0
    assert "cannot start the ngspice child process: the main script '<stdin>'" in done.stderr
    assert "python script.py" in done.stderr


def test_local_process_pool_from_a_script_on_stdin_says_why_it_cannot_start():
    done = _run_stdin_script("from devicelab.spice.sweep.executor import LocalExecutor\nLocalExecutor(2)\n")
    assert done.returncode != 0
    assert "cannot start the local worker processes: the main script '<stdin>'" in done.stderr


def test_a_script_file_or_python_c_can_start_children(tmp_path):
    assert runner.spawn_main_problem() is None  # pytest's own __main__ is importable
    script = tmp_path / "s.py"
    script.write_text("from devicelab.spice.runner import spawn_main_problem\nprint(spawn_main_problem())\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip() == "None"


def test_child_that_dies_at_start_is_reported_at_once_not_at_the_timeout(monkeypatch):
    # A child that exits with code 1 before sending anything, like a spawn child whose start-up raised.
    monkeypatch.setattr(runner, "_child_process_args", lambda netlist, sender: (os._exit, (1,), {}))
    with pytest.raises(SimulationError, match="exited with code 1 before returning a result"):
        runner.run_netlist(NETLIST, timeout=600, retry=False)


def test_child_whose_main_script_hangs_at_reimport_fails_at_the_start_limit(tmp_path):
    """A main script that blocks when a spawn child re-imports it (as ``__mp_main__``) never starts the child."""
    script = tmp_path / "hangs.py"
    script.write_text(
        "import time\n"
        "if __name__ == '__mp_main__':\n"
        "    time.sleep(300)  # e.g. work done at import, without an `if __name__ == '__main__':` guard\n"
        "from devicelab.spice import runner\n"
        "runner.START_TIMEOUT = 3.0\n"
        "if __name__ == '__main__':\n"
        f"    runner.run_netlist({NETLIST!r}, timeout=600, retry=False)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # 60 s bounds the test; the run's own timeout is 600 s
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert "the ngspice child process did not start within 3 s" in done.stderr


def _raise_at_unpickling():
    raise RuntimeError("cannot unpickle")


class _Unpicklable:
    def __reduce__(self):
        return (_raise_at_unpickling, ())


def test_child_that_fails_before_its_target_runs_is_reported_as_a_failed_start(monkeypatch):
    monkeypatch.setattr(runner, "_child_process_args", lambda netlist, sender: (print, (_Unpicklable(),), {}))
    with pytest.raises(SimulationError, match="failed to start"):
        runner.run_netlist(NETLIST, timeout=600, retry=False)


def test_local_pool_whose_workers_cannot_import_the_main_script_fails_at_once(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text(
        "if __name__ == '__mp_main__':\n"
        "    raise ImportError('this script cannot be imported by a worker')\n"
        "from devicelab.spice.sweep.executor import LocalExecutor\n"
        "if __name__ == '__main__':\n"
        "    LocalExecutor(2)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert "the local worker processes failed to start: a 'spawn' worker first re-imports" in done.stderr
