"""Nothing unchecked reaches a netlist: names, numbers, specs, arrays and library files are validated."""

import math

import numpy as np
import pytest

from devicelab.errors import ConfigError, InputFileError
from devicelab.spice import (
    AccessTransistor,
    CrossbarSpec,
    check_name,
    check_number,
    crossbar_netlist,
    ideal_currents,
    load_library,
    spice_float,
    topology,
)

MALICIOUS = "x\n.control\nshell rm -rf /"


@pytest.mark.parametrize("name", [MALICIOUS, "", "1abc", "a b", "a;b", "a.b", "x" * 65, "r1\n", None, 3])
def test_unsafe_names_are_rejected(name):
    with pytest.raises(ConfigError, match="not a valid SPICE name"):
        check_name(name)


@pytest.mark.parametrize("name", ["a", "dl_pcm_cell", "R12_3", "x" * 64])
def test_safe_names_are_accepted(name):
    assert check_name(name) == name


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "1", True, None, 1j])
def test_non_finite_or_non_numeric_values_are_rejected(value):
    with pytest.raises(ConfigError, match="finite number"):
        check_number(value, "r_row (ohm)")


def test_spice_float_round_trips_exactly(rng):
    values = np.concatenate([rng.uniform(-1, 1, 50) * 10.0 ** rng.integers(-15, 6, 50), [0.0, 1e-300, 5e300]])
    for value in values:
        assert float(spice_float(value)) == value


@pytest.mark.parametrize("kwargs, message", [
    (dict(rows=0, cols=2), "rows"),
    (dict(rows=2, cols=2.5), "cols"),
    (dict(rows=2, cols=2, r_row=-1.0), "r_row"),
    (dict(rows=2, cols=2, r_sense=math.nan), "r_sense"),
    (dict(rows=2, cols=2, device="exp"), "device"),
    (dict(rows=2, cols=2, device="sinh"), "v0"),
    (dict(rows=2, cols=2, device="sinh", v0=0.0), "v0"),
    (dict(rows=2, cols=2, v0=0.2), "v0"),
    (dict(rows=2, cols=2, cell="2t2r"), "cell"),
    (dict(rows=2, cols=2, differential="yes"), "differential"),
])
def test_invalid_crossbar_specs_name_the_field(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        CrossbarSpec(**kwargs)


def test_invalid_transistor_parameters_are_rejected():
    with pytest.raises(ConfigError, match="kp"):
        AccessTransistor(kp=-1e-4)


@pytest.mark.parametrize("g, v, message", [
    (np.full((2, 2), np.nan), np.zeros((1, 2)), "finite"),
    (np.full((2, 2), -1e-6), np.zeros((1, 2)), ">= 0"),
    (np.full((2, 2), 1e-6), np.full((1, 2), np.inf), "finite"),
    (np.full((2, 2), 1e-6), np.zeros((1, 3)), "n_vectors, 2"),
    (np.full((3, 2), 1e-6), np.zeros((1, 2)), r"shape \(2, 2\)"),
])
def test_netlist_refuses_bad_arrays(g, v, message):
    with pytest.raises(ConfigError, match=message):
        crossbar_netlist(CrossbarSpec(2, 2, r_row=1.0), g, v)


def test_ideal_currents_of_differential_pairs_subtract():
    g = np.array([[[1.0, 2.0]], [[0.5, 0.5]]])
    np.testing.assert_allclose(ideal_currents(g, [[2.0]]), [[1.0, 3.0]])


def test_zero_resistances_merge_nodes_and_fix_driven_ones():
    topo = topology(CrossbarSpec(3, 4, r_col=1.0))
    assert len(set(topo.row[1])) == 1  # r_row = 0: one node per row
    assert topo.driver[1] == topo.row[1, 0] and topo.fixed[topo.row[1, 0]]  # r_driver = 0: the row is driven
    assert len(set(topo.col[:, 2])) == 3 and topo.sense[2] == topo.col[2, 2]  # r_sense = 0
    assert topo.fixed[topo.sense].all() and not topo.fixed[topo.col[0]].any()


def test_library_loads_and_defines_the_crossbar_cells():
    lib = load_library("crossbar_cells")
    assert {"dl_pcm_cell", "dl_1t1r_cell", "dl_tia", "dl_integrator"} <= set(lib.subcircuits)
    assert lib.models == ("dl_nmos_access",)
    assert lib.subcircuit("dl_tia").splitlines()[-1].startswith(".ends")


def test_model_card_defaults_equal_the_access_transistor_defaults():
    card = load_library("crossbar_cells").model_card("dl_nmos_access")
    params = dict(item.split("=") for item in card.split("(")[1].rstrip(")").split())
    t = AccessTransistor()
    assert float(params["vto"]) == t.vt0 and float(params["kp"].replace("u", "e-6")) == t.kp
    assert float(params["lambda"]) == t.lambda_ and params["gamma"] == "0" and params["is"] == "0"
    cell = load_library("crossbar_cells").subcircuit("dl_1t1r_cell")
    assert "W=1u L=0.1u" in cell and (t.w, t.l) == (1e-6, 0.1e-6)


@pytest.mark.parametrize("body, message", [
    (".control\nshell rm -rf /\n.endc\n", "forbidden|not allowed"),
    (".include /etc/passwd\n", "not allowed"),
    (".subckt ok a b\nr1 a b 1 ; `touch x`\n.ends\n", "forbidden"),
    (".subckt 9bad a b\n.ends\n", "valid SPICE name"),
    (".subckt ok a b\n!r1 a b 1\n.ends\n", "valid element name"),
    (".subckt ok a b\nr1 a b 1\n", "not closed"),
])
def test_malicious_or_broken_library_files_are_rejected(tmp_path, body, message):
    (tmp_path / "evil.lib").write_text("* test library\n" + body)
    with pytest.raises(InputFileError, match=message):
        load_library("evil", directory=tmp_path)


def test_library_name_must_be_a_safe_name(tmp_path):
    with pytest.raises(ConfigError):
        load_library("../crossbar_cells", directory=tmp_path)


def test_spec_round_trips_through_a_dict_by_field_name():
    spec = CrossbarSpec(4, 3, r_row=2.0, device="sinh", v0=0.2, cell="1t1r",
                        transistor=AccessTransistor(v_gate=1.1), differential=True)
    assert CrossbarSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="unknown field"):
        CrossbarSpec.from_dict({**spec.to_dict(), "r_wire": 1.0})
