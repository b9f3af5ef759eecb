"""The subcircuits of circuits/crossbar_cells.lib, simulated by ngspice, against their documented equations."""

import numpy as np
import pytest

from devicelab.spice import CrossbarSpec, load_library, run_netlist, solve_nodal

pytestmark = pytest.mark.spice


def simulate(body: str, analysis: str) -> dict:
    lib = load_library("crossbar_cells").text
    netlist = f"cell library test\n{lib}\n{body}\n.options reltol=1e-9 vntol=1e-12\n{analysis}\n.end\n"
    return run_netlist(netlist).vectors()


def test_pcm_cell_follows_its_sinh_iv_curve():
    out = simulate("vin p 0 0\nvs n 0 0\nxcell p n dl_pcm_cell g=2e-5 v0=0.1", ".dc vin -0.3 0.3 0.1")
    volts = out["v-sweep"]
    np.testing.assert_allclose(out["vs#branch"], 2e-5 * 0.1 * np.sinh(volts / 0.1), rtol=1e-9, atol=1e-18)


def test_1t1r_cell_matches_the_nodal_model_of_the_same_cell():
    out = simulate("vbl bl 0 0.3\nvwl wl 0 1.8\nvs sl 0 0\nxcell bl wl sl dl_1t1r_cell g=1e-4 v0=0.25", ".op")
    spec = CrossbarSpec(1, 1, device="sinh", v0=0.25, cell="1t1r")  # default AccessTransistor = library card
    np.testing.assert_allclose(out["vs#branch"][0], solve_nodal(spec, [[1e-4]], [[0.3]])[0, 0], rtol=1e-8)


def test_tia_turns_current_into_minus_rf_times_current():
    # finite open-loop gain a0 = 1e6 leaves a relative gain error of 1/a0; 2e-6 is the tolerance
    out = simulate("iin 0 in 1e-6\nxtia in out dl_tia rf=20k", ".op")
    assert out["out"][0] == pytest.approx(-20e3 * 1e-6, rel=2e-6)
    assert abs(out["in"][0]) < 1e-7  # virtual ground


def test_integrator_ramps_at_minus_current_over_capacitance():
    out = simulate("iin 0 in 1e-6\nvrst rst 0 0\nxint in out rst dl_integrator c=1p",
                   ".tran 10n 1u 0 10n uic")
    time, vout = out["time"], out["out"]
    assert time[-1] == pytest.approx(1e-6)
    assert vout[-1] == pytest.approx(-1e-6 * 1e-6 / 1e-12, rel=1e-3)  # transient tolerances ~1e-4
