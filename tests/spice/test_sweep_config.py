"""Sweep descriptions: TOML validation errors name the key; the grid is the product of the lists."""

import numpy as np
import pytest

from devicelab.errors import ConfigError
from devicelab.spice.sweep.config import load_description, parse_description

BASE = {
    "n_vectors": 4,
    "engines": ["nodal", "ngspice"],
    "ngspice_max_size": 16,
    "array": {"sizes": [[4, 4], [32, 8]], "r_wire": [0.5, 2.0]},
    "conductances": [{"kind": "uniform", "g_min": 1e-6, "g_max": 2e-5}],
    "inputs": [{"kind": "dense"}, {"kind": "sparse", "density": 0.25}],
}


def _with(**changes):
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for key, value in changes.items():
        if "." in key:
            table, sub = key.split(".")
            data[table][sub] = value
        else:
            data[key] = value
    return data


def test_grid_is_the_product_of_all_lists():
    desc = parse_description(_with(devices=[{"kind": "linear"}, {"kind": "sinh", "v0": 0.3}], repeats=2))
    points = desc.points()
    # 2 sizes x 2 wires x 2 devices x 1 conductance x 2 inputs x 2 repeats
    assert len(points) == 32
    assert [p.index for p in points] == list(range(32))
    combos = {(p.rows, p.cols, p.r_row, p.device.kind, p.inputs.name, p.repeat) for p in points}
    assert len(combos) == 32


def test_rows_and_cols_lists_give_their_product_and_r_row_r_col_theirs():
    desc = parse_description(_with(array={"rows": [4, 8], "cols": [2, 6], "r_row": [1.0, 2.0], "r_col": 3.0}))
    assert desc.sizes == ((4, 2), (4, 6), (8, 2), (8, 6))
    assert desc.r_wires == ((1.0, 3.0), (2.0, 3.0))


def test_ngspice_runs_only_up_to_the_size_limit():
    points = parse_description(_with()).points()
    assert {p.engines for p in points if p.rows == 4} == {("nodal", "ngspice")}
    assert {p.engines for p in points if p.rows == 32} == {("nodal",)}


def test_ngspice_only_sweep_beyond_the_limit_is_refused():
    with pytest.raises(ConfigError, match=r"engines: only 'ngspice'.*ngspice_max_size=16"):
        parse_description(_with(engines="ngspice"))


def test_points_differing_only_in_wire_resistance_share_g_and_v_seeds():
    points = parse_description(_with()).points()
    by_wire = {}
    for p in points:
        by_wire.setdefault((p.rows, p.inputs.name), set()).add((p.seed_g, p.seed_v))
    assert all(len(seeds) == 1 for seeds in by_wire.values())
    assert len({p.seed_g for p in points}) == 2  # one per size
    assert len({p.seed_v for p in points}) == 4  # one per (rows, inputs)


@pytest.mark.parametrize("changes, message", [
    ({"array.r_wire": [1.0, "two"]}, r"\[array\] r_wire: expected a finite number >= 0.0 \(ohm\), got 'two'"),
    ({"array.r_wire": -1.0}, r"\[array\] r_wire: expected a finite number >= 0.0"),
    ({"array.sizes": [[4, 0]]}, r"\[array\] sizes: expected a list of \[rows, cols\] pairs"),
    ({"array.cell": "2t2r"}, r"\[array\] cell: expected one of 'passive', '1t1r', got '2t2r'"),
    ({"array.differential": "yes"}, r"\[array\] differential: expected true/false"),
    ({"array.colour": 1}, r"\[array\] colour: unknown key"),
    ({"n_vectors": 0}, r"n_vectors: expected an integer >= 1, got 0"),
    ({"engines": ["spectre"]}, r"engines: expected one of 'nodal', 'ngspice', 'both', got 'spectre'"),
    ({"inputs": [{"kind": "sparse"}]}, r"\[inputs.0\] density: missing"),
    ({"inputs": [{"kind": "sparse", "density": 1.5}]}, r"\[inputs.0\] density: expected 0 < density <= 1"),
    ({"inputs": [{"kind": "dense"}, {"kind": "dense"}]}, r"inputs: names must be unique"),
    ({"conductances": [{"kind": "uniform", "g_min": 2e-5, "g_max": 1e-6}]},
     r"\[conductances.0\] g_max: must exceed g_min"),
    ({"conductances": [{"kind": "device_model", "model": "nosuchmodel.h5"}]},
     r"\[conductances.0\] model: file not found"),
    ({"conductances": [{"kind": "weights", "file": "w.txt", "g_max": 1e-5}]},
     r"\[conductances.0\] file: expected a .npy or .npz"),
    ({"devices": [{"kind": "sinh"}]}, r"\[devices.0\] v0: missing"),
    ({"devices": [{"kind": "linear", "v0": 0.2}]}, r"\[devices.0\] v0: only meaningful"),
    ({"name": "bad name; rm"}, r"name: expected a name matching"),
])
def test_invalid_values_are_reported_with_their_key(changes, message):
    with pytest.raises(ConfigError, match=message):
        parse_description(_with(**changes), source="s.toml")


def test_missing_array_table_is_reported():
    data = _with()
    del data["array"]
    with pytest.raises(ConfigError, match=r"s.toml: array: missing \[array\] table"):
        parse_description(data, source="s.toml")


def test_load_description_reports_toml_syntax_errors_with_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("n_vectors = = 3\n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        load_description(path)


def test_weights_and_model_paths_resolve_against_the_toml_folder_and_enter_the_hash(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((3, 3)))
    text = """
[array]
sizes = [[2, 2]]
r_wire = 1.0
[[conductances]]
kind = "weights"
file = "w.npy"
g_max = 1e-5
[[inputs]]
kind = "onehot"
"""
    (tmp_path / "s.toml").write_text(text)
    first = load_description(tmp_path / "s.toml")
    assert first.conductances[0].file == str(tmp_path / "w.npy")
    np.save(tmp_path / "w.npy", 2 * np.ones((3, 3)))
    second = load_description(tmp_path / "s.toml")
    assert first.sha256() != second.sha256()


def test_hash_ignores_comments_but_not_values(tmp_path):
    body = '[array]\nsizes = [[2, 2]]\nr_wire = 1.0\n[[conductances]]\nkind = "uniform"\ng_min = 0.0\n' \
           'g_max = 1e-5\n[[inputs]]\nkind = "dense"\n'
    a, b, c = (tmp_path / n for n in ("a.toml", "b.toml", "c.toml"))
    a.write_text(body)
    b.write_text("# a comment\n" + body)
    c.write_text(body.replace("r_wire = 1.0", "r_wire = 1.5"))
    assert load_description(a).sha256() == load_description(b).sha256() != load_description(c).sha256()


def test_shipped_sweep_descriptions_are_valid():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "netlists" / "sweeps"
    demo = load_description(folder / "demo.toml")
    # 6 sizes up to the demo network's 256x256 tiles x 3 wires x single-ended/differential x 2 conductance
    # distributions (uniform, real weight tiles with 0 S cells) x 2 input kinds
    assert len(demo.points()) == 144 and max(demo.sizes) == (256, 256) and demo.ngspice_max_size == 32
    study = load_description(folder / "study.toml")
    assert len(study.points()) == 1920


def test_rows_alone_give_square_arrays():
    desc = parse_description(_with(array={"rows": [4, 8], "r_wire": 1.0}))
    assert desc.sizes == ((4, 4), (8, 8))


def test_device_model_file_is_loaded_at_validation_and_sets_the_default_g_max(tmp_path):
    from devicelab.devices import preset, save_model

    model = preset("joshi2020").replace(g_max=10e-6, name="fitted")
    save_model(model, tmp_path / "pcm.h5")
    desc = parse_description(_with(conductances=[{"kind": "device_model", "model": "pcm.h5"}]), base_dir=tmp_path)
    assert desc.conductances[0].g_max == 10e-6 and desc.conductances[0].model == str(tmp_path / "pcm.h5")
    (tmp_path / "broken.h5").write_bytes(b"not hdf5")
    with pytest.raises(ConfigError, match=r"\[conductances.0\] model: cannot load the device model"):
        parse_description(_with(conductances=[{"kind": "device_model", "model": "broken.h5"}]), base_dir=tmp_path)


def test_1t1r_points_repeat_for_every_access_transistor_and_carry_its_parameters():
    transistors = [{"v_gate": 1.8}, {"v_gate": 0.9, "w": 0.3e-6, "lambda": 0.02}]
    desc = parse_description(_with(**{"array.cell": ["passive", "1t1r"]}, transistors=transistors))
    points = desc.points()
    passive = [p for p in points if p.cell == "passive"]
    one_t = [p for p in points if p.cell == "1t1r"]
    assert len(one_t) == 2 * len(passive)
    assert all(p.transistor is None and "v_gate" not in p.params() for p in passive)
    assert {(p.transistor.v_gate, p.transistor.w, p.transistor.lambda_) for p in one_t} == {
        (1.8, 1e-6, 0.0), (0.9, 0.3e-6, 0.02)}
    assert {p.params()["v_gate"] for p in one_t} == {1.8, 0.9}


def test_without_transistor_tables_the_hash_is_unchanged_by_the_default_transistor():
    plain = parse_description(_with(**{"array.cell": "1t1r"}))
    explicit = parse_description(_with(**{"array.cell": "1t1r"}, transistors=[{}]))
    assert plain.sha256() == explicit.sha256()
    assert "transistors" not in plain.canonical()


@pytest.mark.parametrize("changes, message", [
    ({"array.cell": "1t1r", "transistors": [{"v_gate": 0.4}]},
     r"\[transistors.0\] v_gate: .*not above the threshold vt0 = 0.5 V.*never conducts"),
    ({"array.cell": "1t1r", "transistors": [{"kp": -1.0}]}, r"\[transistors.0\] kp: expected a finite number > 0"),
    ({"array.cell": "1t1r", "transistors": [{"vth": 0.4}]}, r"\[transistors.0\] vth: unknown key"),
    ({"transistors": [{"v_gate": 1.2}]}, r"transistors: access transistors are only used by 1T1R cells"),
])
def test_invalid_transistor_tables_are_reported_with_their_key(changes, message):
    with pytest.raises(ConfigError, match=message):
        parse_description(_with(**changes))


def test_devices_per_polarity_is_a_grid_axis_and_bad_values_name_the_key():
    desc = parse_description(_with(**{"array.devices_per_polarity": [1, 4]}))
    assert {p.devices_per_polarity for p in desc.points()} == {1, 4}
    assert "devices_per_polarity" not in parse_description(_with()).canonical()
    with pytest.raises(ConfigError, match=r"\[array\] devices_per_polarity: expected an integer >= 1"):
        parse_description(_with(**{"array.devices_per_polarity": 0}))
