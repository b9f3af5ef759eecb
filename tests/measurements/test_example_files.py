"""The shipped example files are what measurements/generate.py writes, and they load and validate."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from devicelab.devices import PCMModel
from devicelab.measurements import ColumnMapping, read_iv, read_measurements, time_series

FOLDER = Path(__file__).resolve().parents[2] / "measurements"
MAPPINGS = FOLDER / "mappings"
TABLES = ["drift_run.csv", "program_run.csv", "bake_run.csv"]
WITH_MAPPING = {"read_noise.tsv.gz": "example_read_noise.toml", "foreign_tester_run.csv": "foreign_tester.toml"}


def _generator():
    spec = importlib.util.spec_from_file_location("measurements_generate", FOLDER / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("regenerated")
    return _generator().generate(out)


def _load(name: str, folder: Path):
    if name == "iv_run.csv":
        return read_iv(folder / name)
    mapping = ColumnMapping.from_toml(MAPPINGS / WITH_MAPPING[name]) if name in WITH_MAPPING else None
    return read_measurements(folder / name, mapping)


@pytest.mark.parametrize("name", [*TABLES, *WITH_MAPPING, "iv_run.csv"])
def test_shipped_file_equals_regenerated_file(regenerated, name):
    # Compared as loaded numbers, so a last-digit formatting difference on another platform is tolerated:
    # the files hold 7-9 significant digits, so agreement to 1e-6 relative means the same data.
    shipped, fresh = _load(name, FOLDER), _load(name, regenerated[name].parent)
    columns = ("device", "v", "i", "g_target") if name == "iv_run.csv" else \
        ("device", "g_target", "t", "g", "temperature")
    for column in columns:
        a, b = getattr(shipped, column), getattr(fresh, column)
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=0, err_msg=f"{name}: {column}")


def test_truth_model_file_matches_the_generator(regenerated):
    shipped = json.loads((FOLDER / "truth_model.json").read_text())
    assert PCMModel.from_dict(shipped) == _generator().TRUTH


def test_example_folder_is_small():
    total = sum(p.stat().st_size for p in FOLDER.rglob("*") if p.is_file())
    assert total < 3 * 1024 * 1024


def test_examples_have_the_documented_shape():
    drift = _load("drift_run.csv", FOLDER)
    assert drift.levels().size == 8 and drift.n_devices == 8 * 40
    assert drift.t.min() == 1.0 and drift.t.max() == 1e5
    bake = _load("bake_run.csv", FOLDER)
    np.testing.assert_array_equal(np.unique(bake.temperature), [300.0, 330.0, 360.0])
    series = time_series(_load("read_noise.tsv.gz", FOLDER))
    assert series.g.shape == (6, 16_384) and series.fs == pytest.approx(100.0)
    foreign = _load("foreign_tester_run.csv", FOLDER)
    np.testing.assert_allclose(foreign.temperature, 300.15)
    assert foreign.t.max() == pytest.approx(1440 * 60.0)


def test_readme_states_the_truth_constants():
    readme = (FOLDER / "README.md").read_text()
    assert "SYNTHETIC" in readme
    truth = _generator().TRUTH
    constants = [truth.g_max * 1e6, *(c * 1e6 for c in truth.prog_coeffs), truth.nu_mean.a0, truth.nu_mean.a1,
                 truth.nu_std.a0, truth.nu_std.a1, truth.read_noise.c, truth.read_noise.exponent,
                 truth.read_noise.q_max, truth.t0, truth.activation_energy, truth.v0]
    for value in constants:
        assert f"{value:g}" in readme, f"README.md does not state the truth constant {value:g}"
