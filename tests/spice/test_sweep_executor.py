"""Executors: serial, local process pool and Dask give the same sweep file; errors and options."""

import sys

import h5py
import numpy as np
import pytest

from devicelab.errors import ConfigError, MissingDependencyError
from devicelab.spice.sweep.config import parse_description
from devicelab.spice.sweep.engines import EngineOutput
from devicelab.spice.sweep.executor import DaskExecutor, Executor, LocalExecutor, SerialExecutor, make_executor
from devicelab.spice.sweep.run import run_sweep

DESCRIPTION = {
    "n_vectors": 2, "engines": "nodal",
    "array": {"sizes": [[2, 2], [3, 5], [8, 4]], "r_wire": [0.0, 2.0]},
    "conductances": [{"kind": "uniform", "g_min": 1e-6, "g_max": 1e-5}],
    "inputs": [{"kind": "dense"}, {"kind": "dnn"}],
}


def ideal(point, g, v):
    """Stand-in ideal model: I = V G."""
    return EngineOutput(v @ g, {})


def lossy(point, g, v):
    """Stand-in wire-aware engine: the ideal current scaled down with r_row and size."""
    return EngineOutput((1 - 1e-3 * point.r_row * point.rows) * (v @ g), {})


ENGINES = {"ideal": ideal, "nodal": lossy}


def square(x):
    """A picklable task function."""
    if x < 0:
        raise ValueError(f"negative task {x}")
    return x * x


def _arrays(path):
    out = {}
    with h5py.File(path, "r") as fh:
        fh.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) and "time_" not in n
                      else None)
    return out


def _assert_same_file(a, b):
    da, db = _arrays(a), _arrays(b)
    assert da.keys() == db.keys()
    for name in da:
        np.testing.assert_array_equal(da[name], db[name], err_msg=name)


@pytest.fixture(scope="module")
def serial_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "serial.h5"
    return run_sweep(parse_description(DESCRIPTION), out, engines=ENGINES, progress=False)


def test_executors_satisfy_the_protocol():
    assert isinstance(SerialExecutor(), Executor)


@pytest.fixture(scope="module")
def local_pool():
    with LocalExecutor(jobs=2) as ex:
        yield ex


def test_local_process_pool_gives_the_same_file_as_serial(tmp_path, serial_sweep, local_pool):
    assert sorted(local_pool.map_unordered(square, range(6))) == [0, 1, 4, 9, 16, 25]
    out = run_sweep(parse_description(DESCRIPTION), tmp_path / "local.h5", executor=local_pool, engines=ENGINES,
                    progress=False)
    _assert_same_file(serial_sweep, out)


def test_dask_local_cluster_gives_the_same_file_as_serial(tmp_path, serial_sweep):
    pytest.importorskip("distributed")
    with DaskExecutor("local", jobs=2, processes=False) as ex:
        out = run_sweep(parse_description(DESCRIPTION), tmp_path / "dask.h5", executor=ex, engines=ENGINES,
                        progress=False)
        with pytest.raises(ValueError, match="negative task -1"):
            list(ex.map_unordered(square, [1, -1, 2]))
    _assert_same_file(serial_sweep, out)


@pytest.fixture
def dask_ports_taken():
    """Hold 8786 and 8787 (the ports another Dask cluster on the machine would hold), when they are free."""
    import socket

    held = []
    for port in (8786, 8787):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("", port))
            sock.listen(1)
            held.append(sock)
        except OSError:  # already held by someone else: the situation this fixture sets up anyway
            sock.close()
    yield
    for sock in held:
        sock.close()


def test_dask_local_cluster_runs_while_another_cluster_holds_8786_and_8787(dask_ports_taken):
    """With 8787 taken, a scheduler that still started its HTTP server there would warn "Port 8787 is already
    in use" (an error under this suite's warning filter)."""
    pytest.importorskip("distributed")
    with DaskExecutor("local", jobs=1, processes=False) as ex:
        assert sorted(ex.map_unordered(square, [2, 3])) == [4, 9]
        scheduler = ex._cluster.scheduler
        ports = {s.getsockname()[1] for s in scheduler.http_server._sockets.values()}
        assert ports  # the HTTP server runs (health routes), on a free port
        assert not ports & {8786, 8787}


def test_task_error_propagates_from_the_process_pool_which_stays_usable(local_pool):
    with pytest.raises(ValueError, match="negative task -3"):
        list(local_pool.map_unordered(square, [2, -3]))
    assert sorted(local_pool.map_unordered(square, [4, 5])) == [16, 25]


def test_make_executor_picks_by_options():
    assert isinstance(make_executor(), SerialExecutor)
    assert isinstance(make_executor(jobs=1), SerialExecutor)
    with make_executor(jobs=2) as ex:
        assert isinstance(ex, LocalExecutor) and ex.jobs == 2
    with pytest.raises(ConfigError, match="jobs must be a positive integer, got 0"):
        LocalExecutor(jobs=0)


def test_dask_address_must_look_like_a_scheduler():
    pytest.importorskip("distributed")
    with pytest.raises(ConfigError, match="--dask expects 'local' or a scheduler address"):
        DaskExecutor("scheduler:8786")


def test_missing_dask_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'devicelab\[dask\]'"):
        DaskExecutor("local")


def test_unreachable_dask_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as sock:  # a free port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConfigError, match=f"cannot connect to the Dask scheduler at tcp://127.0.0.1:{port}"):
        DaskExecutor(f"tcp://127.0.0.1:{port}", connect_timeout=1.0)
