"""Device-model HDF5 files: round trip, provenance, version check, clear errors, atomic writes."""

import json

import h5py
import numpy as np
import pytest

from devicelab.devices import load_model, preset, read_model_info, save_model
from devicelab.devices.laws import LinearClip, PchipLaw, QuadraticClip
from devicelab.devices.modelfile import FORMAT, FORMAT_VERSION
from devicelab.errors import ModelFileError


def _model_with_uncertainties():
    model = preset("joshi2020").replace(activation_energy=0.3, v0=0.25, name="m1")
    unc = {"prog_coeffs": [1e-8, 2e-8, 3e-8], "nu_mean": {"a0": 1e-3, "a1": 2e-4, "lo": 1e-3, "hi": np.nan},
           "activation_energy": 0.02, "v0": 0.004}
    return model.replace(uncertainties=unc)


def test_round_trip_keeps_parameters_and_uncertainties(tmp_path):
    model = _model_with_uncertainties()
    path = save_model(model, tmp_path / "m.h5", {"note": "test"})
    back = load_model(path)
    assert back == model
    assert back.uncertainties["prog_coeffs"] == pytest.approx([1e-8, 2e-8, 3e-8])
    assert back.uncertainties["activation_energy"] == pytest.approx(0.02)
    assert np.isnan(back.uncertainties["nu_mean"]["hi"])


def test_none_fields_and_infinite_clips_survive(tmp_path):
    model = preset("joshi2020").replace(nu_mean=preset("joshi2020").nu_mean.__class__(0.02, -0.01, -np.inf, np.inf))
    back = load_model(save_model(model, tmp_path / "m.h5"))
    assert back.activation_energy is None and back.v0 is None
    assert back.nu_mean.lo == -np.inf and back.nu_mean.hi == np.inf


@pytest.mark.parametrize("nu_mean", [
    LinearClip(0.09, -0.05, lo=0.0, g_rel_min=0.04, g_rel_max=1.0),
    QuadraticClip(0.1, -0.16, 0.1, lo=0.0, g_rel_min=0.04, g_rel_max=1.0),
    PchipLaw((0.04, 0.2, 1.0), (0.09, 0.06, 0.04), lo=0.0),
], ids=["linear", "quadratic", "pchip"])
def test_every_drift_law_family_and_the_g_range_survive(tmp_path, nu_mean):
    model = preset("joshi2020").replace(nu_mean=nu_mean, nu_std=nu_mean, g_range=(1e-6, 25e-6))
    back = load_model(save_model(model, tmp_path / "m.h5"))
    assert back == model
    g = np.geomspace(1e-7, 5e-5, 40)
    np.testing.assert_array_equal(back.nu_stats(g)[0], model.nu_stats(g)[0])
    with h5py.File(tmp_path / "m.h5") as h5:
        assert h5["model/nu_mean"].attrs["law"] == nu_mean.law
        assert h5["model/g_range"].attrs["units"] == "S"


def test_version_1_files_are_still_read_as_log_linear(tmp_path):
    # a version-1 file has no `law` attribute on the law groups and no g_range: rewrite one to that layout
    path = save_model(preset("joshi2020"), tmp_path / "m.h5")
    with h5py.File(path, "a") as h5:
        h5.attrs["format_version"] = 1
        for law in ("nu_mean", "nu_std", "read_noise"):
            del h5[f"model/{law}"].attrs["law"]
    back = load_model(path)
    assert back == preset("joshi2020") and back.g_range is None


def test_file_carries_header_units_and_provenance(tmp_path):
    path = save_model(_model_with_uncertainties(), tmp_path / "m.h5", {"inputs": [{"path": "x", "sha256": "ab"}]})
    with h5py.File(path) as h5:
        assert h5.attrs["format"] == FORMAT and h5.attrs["format_version"] == FORMAT_VERSION
        assert h5.attrs["created_by"].startswith("devicelab ")
        assert h5["model/g_max"].attrs["units"] == "S"
        assert h5["model/activation_energy"].attrs["units"] == "eV"
        assert all("units" in h5["model/nu_std"][k].attrs for k in h5["model/nu_std"])
    info = read_model_info(path)
    assert info["provenance"]["inputs"][0]["sha256"] == "ab"
    json.dumps(info, default=str)


def test_unknown_version_is_rejected_naming_the_file(tmp_path):
    path = save_model(preset("joshi2020"), tmp_path / "m.h5")
    with h5py.File(path, "a") as h5:
        h5.attrs["format_version"] = 99
    with pytest.raises(ModelFileError, match=r"m\.h5.*format_version .*99.*not supported"):
        load_model(path)


def test_other_format_is_rejected(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["format"] = "devicelab.sweep"
        h5.attrs["format_version"] = 1
    with pytest.raises(ModelFileError, match="expected a devicelab 'devicelab.device_model' file"):
        load_model(path)


def test_truncated_file_is_a_model_file_error(tmp_path):
    path = save_model(preset("joshi2020"), tmp_path / "m.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match="m.h5"):
        load_model(path)


def test_missing_parameter_is_a_model_file_error(tmp_path):
    path = save_model(preset("joshi2020"), tmp_path / "m.h5")
    with h5py.File(path, "a") as h5:
        del h5["model/nu_std"]
    with pytest.raises(ModelFileError, match="invalid model description"):
        load_model(path)


def test_failed_write_leaves_no_file_and_keeps_old_one(tmp_path):
    target = tmp_path / "m.h5"
    save_model(preset("joshi2020"), target)
    before = target.read_bytes()
    bad = preset("joshi2020").replace(uncertainties={"prog_coeffs": object()})
    with pytest.raises(TypeError):
        save_model(bad, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]
