"""Energy per inference from the activations a network really applies, against brute-force references.

References are recomputed here independently: the ideal-tile array energy from the DAC voltages of every
MVM, and the circuit energy by running the nodal solver on every tile for every input vector.
"""

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from devicelab.behavioral.crossbar_model import CrossbarCircuit
from devicelab.behavioral.periphery import PeripheryModel
from devicelab.devices import preset
from devicelab.errors import ConfigError
from devicelab.inference import (
    AnalogConfig,
    AnalogHardware,
    AnalogNetwork,
    NoCompensation,
)
from devicelab.inference.energy import OPS_PER_MAC, EnergyModel, network_energy
from devicelab.inference.plots import pareto_front, plot_energy_breakdown, plot_pareto
from devicelab.network.layers import Conv2d, Flatten, Linear, ReLU
from devicelab.network.model import Network
from devicelab.spice.crossbar.energy import array_energy

MODEL = preset("joshi2020")
EXACT_DEVICES = dict(programming_noise=False, drift=False, read_noise=False)


class IdealCurrentsCrossbar:
    """Stand-in crossbar model of ``circuit`` whose bound tiles return the ideal V.G currents (the energy
    calibration reads only ``circuit``; the accuracy path is not under test here)."""

    differential = False

    def __init__(self, circuit):
        self.circuit = circuit

    def bind(self, g):
        g = np.asarray(g, dtype=np.float32)

        class Bound:
            transfer = None

            def apply(self, v):
                return np.asarray(v, dtype=np.float32) @ g

        return Bound()


def program(net, x, config, rng, crossbar=None, energy=None):
    """Network programmed on tiles with ``config``, the joshi2020 devices and no drift compensation."""
    hardware = AnalogHardware(MODEL, config, crossbar, None, NoCompensation(), energy=energy)
    return AnalogNetwork(net, hardware, x, rng)


def device_sum(g):
    """(rows, cols) conductances (S) of all devices of a polarity: the engine keeps (N, rows, cols) per slot."""
    g = np.asarray(g)
    return g.sum(axis=0) if g.ndim == 3 else g


def dac_voltages(analog, layer, x2d):
    """DAC voltages (V) the engine applies for layer inputs ``x2d``: 8-bit signed levels of x / alpha."""
    pl = analog.layers[layer]
    levels = 2 ** (analog.config.dac_bits - 1) - 1
    return np.rint(np.clip(x2d / pl.alpha * levels, -levels, levels)) * analog.config.v_read / levels


@pytest.fixture
def small_net(rng):
    w = rng.standard_normal((24, 40)).astype(np.float32)
    return Network([Flatten(), Linear("fc", w, rng.standard_normal(24).astype(np.float32))], (1, 1, 40), 24, "small")


@pytest.fixture
def small_inputs(rng):
    return rng.uniform(0.0, 1.0, (64, 1, 1, 40)).astype(np.float32)


def test_ideal_tile_array_energy_is_t_read_v_squared_g(linear_net, linear_inputs, rng):
    analog = program(linear_net, linear_inputs, AnalogConfig(**EXACT_DEVICES), rng)
    result = network_energy(analog, linear_inputs, 0.0, rng)
    pl = analog.layers["fc"]
    v = dac_voltages(analog, "fc", linear_inputs.reshape(len(linear_inputs), -1))
    expected = 10e-9 * np.sum((v**2) @ (device_sum(pl.g_plus) + device_sum(pl.g_minus)).sum(axis=1)) / len(linear_inputs)
    # float32 inputs summed in float64: 1e-6 relative
    assert result.layers[0].energy.array == pytest.approx(expected, rel=1e-6)
    assert result.layers[0].energy.wires == 0.0
    assert result.layers[0].calibration["method"] == "ideal"


def test_calibrated_array_energy_matches_the_nodal_solver_on_every_tile(small_net, small_inputs, rng):
    circuit = CrossbarCircuit(r_row=20.0, r_col=20.0)
    config = AnalogConfig(tile_rows=16, tile_cols=16, **EXACT_DEVICES)
    analog = program(small_net, small_inputs, config, rng, IdealCurrentsCrossbar(circuit))
    result = network_energy(analog, small_inputs, 0.0, rng, EnergyModel(calibration_vectors=4))
    pl = analog.layers["fc"]
    v = dac_voltages(analog, "fc", small_inputs.reshape(64, -1))
    g_plus, g_minus = device_sum(pl.g_plus), device_sum(pl.g_minus)
    source = wires = 0.0
    for rows in pl.tiling.row_blocks:
        for cols in pl.tiling.col_blocks:
            for g in (g_plus[rows, cols], g_minus[rows, cols]):
                e = array_energy(circuit.spec(*g.shape), g, v[:, rows], 10e-9)
                source, wires = source + e.source.sum() / 64, wires + e.wires.sum() / 64
    ideal = 10e-9 * np.sum((v**2) @ (g_plus + g_minus).sum(axis=1)) / 64
    layer = result.layers[0]
    estimate = layer.energy.array + layer.energy.wires
    # 20-ohm segments lose ~1 % to IR drop; the calibration (4 vectors per tile shape) must remove most of it:
    # within 0.3 % of the nodal total (measured 0.05 %), and 4x closer than the uncalibrated ideal currents.
    assert abs(ideal / source - 1) > 0.005
    assert abs(estimate / source - 1) < 0.003
    assert abs(estimate / source - 1) < abs(ideal / source - 1) / 4
    assert layer.energy.wires == pytest.approx(wires, rel=0.1)
    assert layer.calibration["method"] == "nodal-calibrated"
    assert layer.calibration["calibrated_error"] < layer.calibration["ideal_error"]


def test_tops_per_watt_counts_two_operations_per_mac(small_net, small_inputs, rng):
    analog = program(small_net, small_inputs, AnalogConfig(**EXACT_DEVICES), rng)
    result = network_energy(analog, small_inputs, 0.0, rng)
    assert OPS_PER_MAC == 2
    assert result.macs == 40 * 24
    assert result.tops_per_watt == pytest.approx(2 * 40 * 24 / result.energy.total / 1e12, rel=1e-12)


def test_conv_layer_counts_one_mvm_per_output_pixel(rng):
    conv = Conv2d("conv", rng.standard_normal((4, 2, 3, 3)).astype(np.float32), padding=1)
    net = Network([conv, ReLU(), Flatten(), Linear("fc", rng.standard_normal((3, 4 * 5 * 5)))],
                  (2, 5, 5), 3, "conv")
    x = rng.uniform(0, 1, (8, 2, 5, 5)).astype(np.float32)
    analog = program(net, x, AnalogConfig(**EXACT_DEVICES), rng)
    result = network_energy(analog, x, 0.0, rng)
    conv_energy, fc_energy = result.layers
    assert [layer.name for layer in result.layers] == ["conv", "fc"]
    assert conv_energy.mvms == 25 and conv_energy.macs == 25 * 18 * 4
    assert fc_energy.mvms == 1
    # the last layer skips the activation; the conv layer does one per output
    assert conv_energy.latency == pytest.approx(25 * conv_energy.latency_mvm["total"])
    assert result.latency == pytest.approx(conv_energy.latency + fc_energy.latency)


def test_energy_grows_with_read_pulse_and_line_capacitance(small_net, small_inputs, rng):
    analog = program(small_net, small_inputs, AnalogConfig(**EXACT_DEVICES), rng)
    base = network_energy(analog, small_inputs, 0.0, rng).energy
    longer = network_energy(analog, small_inputs, 0.0, rng,
                            EnergyModel(PeripheryModel(t_read=20e-9))).energy
    wider = network_energy(analog, small_inputs, 0.0, rng, EnergyModel(PeripheryModel(c_wire=0.4e-9))).energy
    assert longer.array == pytest.approx(2 * base.array, rel=1e-9)
    assert wider.dac > base.dac and wider.array == base.array


def test_drift_lowers_the_array_energy(small_net, small_inputs, rng):
    analog = program(small_net, small_inputs, AnalogConfig(), rng)
    early = network_energy(analog, small_inputs, 1.0, rng).energy.array
    late = network_energy(analog, small_inputs, 3.15e7, rng).energy.array
    assert late < early


def test_accuracy_comes_from_the_same_run(small_net, small_inputs, rng):
    analog = program(small_net, small_inputs, AnalogConfig(**EXACT_DEVICES), rng)
    labels = small_net.forward(small_inputs).argmax(axis=1)
    result = network_energy(analog, small_inputs, 0.0, rng, y=labels)
    assert result.accuracy is not None and result.accuracy > 0.8
    record = json.loads(json.dumps(result.to_dict()))
    assert record["ops_per_mac"] == 2 and record["energy_per_inference_J"]["total"] > 0


def test_energy_model_rejects_a_negative_calibration_count():
    with pytest.raises(ConfigError, match="calibration_vectors"):
        EnergyModel(calibration_vectors=-1)


def test_breakdown_plot_has_one_bar_per_layer_and_part(small_net, small_inputs, rng):
    analog = program(small_net, small_inputs, AnalogConfig(**EXACT_DEVICES), rng)
    figure = plot_energy_breakdown(network_energy(analog, small_inputs, 0.0, rng))
    assert isinstance(figure, Figure)
    assert len(figure.axes[0].patches) == 6  # one layer x six parts


def test_pareto_front_keeps_only_undominated_points():
    cost = [1.0, 2.0, 3.0, 2.5, 0.5]
    value = [0.5, 0.8, 0.9, 0.7, 0.4]
    assert pareto_front(cost, value).tolist() == [4, 0, 1, 2]
    figure = plot_pareto([{"energy": c, "accuracy": v, "label": str(i)} for i, (c, v) in enumerate(zip(cost, value))])
    assert isinstance(figure, Figure)


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 1), (2, 0)])
def test_conv_sums_before_im2col_equal_the_patch_matrix_sums(rng, stride, padding):
    from devicelab.inference.energy import _LayerStats

    conv = Conv2d("conv", rng.standard_normal((4, 3, 3, 3)).astype(np.float32), stride=stride, padding=padding)
    x = np.rint(rng.uniform(-127, 127, (5, 7, 6, 3))).astype(np.float32)  # NHWC DAC levels, signed
    patches, _ = conv.im2col(x)
    direct, windowed = _LayerStats(27, 0), _LayerStats(27, 0)
    direct.add(patches)
    windowed.add_conv(conv, x)
    # integer-valued float32 sums below 2^24 are exact
    np.testing.assert_array_equal(windowed.sum_sq, direct.sum_sq)
    np.testing.assert_array_equal(windowed.sum_abs, direct.sum_abs)
