"""Golden netlists: crossbar_netlist() must reproduce netlists/crossbar_*.cir byte for byte.

A deliberate change of the netlist format regenerates them with
``python tests/spice/test_golden_netlists.py --regenerate`` (then review the diff before committing).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from devicelab.spice import AccessTransistor, CrossbarSpec, crossbar_netlist, run_netlist, solve_nodal
from devicelab.spice.crossbar.simulate import currents_from_result

NETLISTS = Path(__file__).resolve().parents[2] / "netlists"

GOLDEN = {
    "crossbar_2x2_linear_wires": (
        CrossbarSpec(2, 2, r_row=2.0, r_col=2.5, r_driver=10.0, r_sense=5.0),
        [[1e-5, 2.5e-6], [2.5e-7, 2.5e-5]],
        [[0.2, 0.1], [0.0, -0.15], [0.05, 0.2]],
    ),
    "crossbar_3x2_sinh_zero_driver_sense": (
        CrossbarSpec(3, 2, r_row=2.0, r_col=2.0, device="sinh", v0=0.25),
        [[1e-5, 0.0], [2e-6, 2.5e-5], [2.5e-7, 1.25e-5]],
        [[0.2, 0.1, 0.3]],
    ),
    "crossbar_2x2_1t1r_sinh_differential": (
        CrossbarSpec(2, 2, r_row=1.0, r_col=1.0, r_sense=20.0, device="sinh", v0=0.2, cell="1t1r",
                     transistor=AccessTransistor(v_gate=1.5, lambda_=0.02), differential=True),
        [[[1e-5, 2e-5], [5e-6, 0.0]], [[2.5e-6, 2.5e-6], [1e-5, 2.5e-5]]],
        [[0.2, 0.2], [0.1, -0.1]],
    ),
}


def generate(name: str) -> str:
    spec, g, v = GOLDEN[name]
    return crossbar_netlist(spec, np.array(g), np.array(v))


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_netlist_text_equals_the_golden_file(name):
    assert generate(name) == (NETLISTS / f"{name}.cir").read_text()


def test_netlist_text_is_deterministic_and_depends_on_every_input():
    spec, g, v = GOLDEN["crossbar_2x2_linear_wires"]
    text = crossbar_netlist(spec, np.array(g), np.array(v))
    assert text == crossbar_netlist(spec, np.array(g), np.array(v))
    assert text != crossbar_netlist(spec, np.array(g) * 1.0000001, np.array(v))
    assert text != crossbar_netlist(spec, np.array(g), np.array(v)[::-1])


@pytest.mark.spice
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_file_runs_in_ngspice_and_agrees_with_nodal(name):
    spec, g, v = GOLDEN[name]
    result = run_netlist((NETLISTS / f"{name}.cir").read_text())
    spice = currents_from_result(spec, result, len(v))
    nodal = solve_nodal(spec, g, v)
    assert np.max(np.abs(spice - nodal)) < 1e-6 * np.max(np.abs(spice))


if __name__ == "__main__" and "--regenerate" in sys.argv:
    for golden in sorted(GOLDEN):
        (NETLISTS / f"{golden}.cir").write_text(generate(golden))
        print(f"wrote {NETLISTS / golden}.cir")


def test_large_netlist_has_every_element_once(rng):
    n, m = 48, 40
    g = rng.uniform(0.25e-6, 25e-6, (n, m))
    g[rng.random((n, m)) < 0.1] = 0.0  # cells at G = 0 get no device
    text = crossbar_netlist(CrossbarSpec(n, m, r_row=2.0, r_col=2.0, r_driver=1.0, r_sense=1.0),
                            g, rng.uniform(0, 0.2, (20, n)))
    heads = [line.split(maxsplit=1)[0] for line in text.splitlines()[1:] if line and line[0] not in "*.+"]
    counts = {prefix: sum(h.startswith(prefix) for h in heads) for prefix in ("rg", "rrow", "rcol", "rdrv", "rsns",
                                                                                "vsns", "bdrv")}
    assert counts == {"rg": int(np.count_nonzero(g)), "rrow": n * (m - 1), "rcol": (n - 1) * m, "rdrv": n,
                      "rsns": m, "vsns": m, "bdrv": n}
    assert len(set(heads)) == len(heads)  # element names are unique
