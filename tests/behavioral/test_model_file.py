"""Crossbar model files: round trip, version and format checks, atomic writes, the apply helper."""

import math

import h5py
import numpy as np
import pytest

from devicelab.behavioral import (
    CrossbarModel,
    ModelSettings,
    Validity,
    apply_model_files,
    load_crossbar_model,
    save_crossbar_model,
)
from devicelab.errors import InputFileError, ModelFileError

ROW = {"point": 3, "rows": 16, "cols": 8, "r_row": 2.0, "r_col": 2.5, "r_driver": 0.0, "r_sense": 1.0,
       "device": "sinh", "v0": 0.3, "differential": True, "conductance": "uniform", "inputs": "dnn",
       "reference": "ngspice", "err_model": 1.5e-3, "err_ideal": 0.21, "target": "met", "cell": "1t1r",
       "v_gate": 1.2, "vt0": 0.4, "r_on": 625.0}


def _model() -> CrossbarModel:
    validity = Validity(rows=(8, 16), cols=(4, 8), r_wire=(0.5, 5.0), r_driver=(0.0, 1.0), r_sense=(0.0, 1.0),
                        g=(2.5e-7, 2.5e-5), v_max=0.2, devices=("linear", "sinh"), differential=(False, True))
    model = CrossbarModel.from_params(2.0, 2.5, 0.0, 1.0, device="sinh", v0=0.3, differential=True,
                                      settings=ModelSettings(n_probes=6, tol=3e-5, max_iter=50, kappa3=1.02),
                                      validity=validity)
    return CrossbarModel(model.circuit, model.settings, model.validity, (ROW, dict(ROW, point=5, device="linear",
                                                                                    v0=math.nan)),
                         {"ngspice_version": "39", "netlist_sha256": ["ab" * 32]})


def test_round_trip_keeps_every_part(tmp_path):
    model = _model()
    path = save_crossbar_model(model, tmp_path / "m.h5")
    back = load_crossbar_model(path)
    assert back.circuit == model.circuit
    assert back.settings == model.settings
    assert back.validity == model.validity
    assert back.provenance == model.provenance
    assert back.error_table[0] == ROW
    assert math.isnan(back.error_table[1]["v0"]) and back.error_table[1]["device"] == "linear"


def test_every_dataset_has_units_and_the_header_is_set(tmp_path):
    path = save_crossbar_model(_model(), tmp_path / "m.h5")
    with h5py.File(path, "r") as fh:
        assert fh.attrs["format"] == "devicelab.crossbar_model" and fh.attrs["format_version"] == 2
        missing = []
        fh.visititems(lambda name, obj: missing.append(name) if isinstance(obj, h5py.Dataset)
                      and "units" not in obj.attrs else None)
        assert not missing
        assert fh["circuit/r_row"].attrs["units"] == "ohm" and fh["validity/g"].attrs["units"] == "S"


def test_unknown_version_and_format_are_refused(tmp_path):
    path = save_crossbar_model(_model(), tmp_path / "m.h5")
    with h5py.File(path, "a") as fh:
        fh.attrs["format_version"] = 3
    with pytest.raises(ModelFileError, match=r"format_version \S*3\S* is not supported"):
        load_crossbar_model(path)
    with h5py.File(path, "a") as fh:
        fh.attrs["format"] = "devicelab.sweep"
    with pytest.raises(ModelFileError, match="expected a devicelab 'devicelab.crossbar_model' file"):
        load_crossbar_model(path)


def test_missing_part_and_non_hdf5_files_fail_clearly(tmp_path):
    path = save_crossbar_model(_model(), tmp_path / "m.h5")
    with h5py.File(path, "a") as fh:
        del fh["settings/kappa3"]
    with pytest.raises(ModelFileError, match="lacks a dataset"):
        load_crossbar_model(path)
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(ModelFileError, match="cannot open"):
        load_crossbar_model(junk)


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    import devicelab.behavioral.model_file as mf

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(mf, "_write_str", boom)
    with pytest.raises(RuntimeError):
        save_crossbar_model(_model(), tmp_path / "m.h5")
    assert list(tmp_path.iterdir()) == []


def test_apply_files_matches_bind_apply_and_refuses_pickles(tmp_path, rng):
    model = CrossbarModel.from_params(2.0, 2.0)
    path = save_crossbar_model(model, tmp_path / "m.h5")
    g = rng.uniform(1e-6, 2e-5, (8, 4))
    v = rng.uniform(0, 0.2, (3, 8))
    np.save(tmp_path / "g.npy", g)
    np.save(tmp_path / "v.npy", v)
    assert apply_model_files(path, tmp_path / "g.npy", tmp_path / "v.npy", tmp_path / "i.npy") == (3, 4)
    np.testing.assert_allclose(np.load(tmp_path / "i.npy"), model.bind(g).apply(v, dtype=np.float64), rtol=1e-12)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputFileError, match="obj.npy"):
        apply_model_files(path, tmp_path / "obj.npy", tmp_path / "v.npy", tmp_path / "i2.npy")
    np.save(tmp_path / "v_bad.npy", v[:, :5])
    with pytest.raises(InputFileError, match=r"v_bad.npy.*expected shape \(batch, 8\)"):
        apply_model_files(path, tmp_path / "g.npy", tmp_path / "v_bad.npy", tmp_path / "i3.npy")
    assert not (tmp_path / "i2.npy").exists() and not (tmp_path / "i3.npy").exists()
