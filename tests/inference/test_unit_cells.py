"""Unit cells with N devices per polarity: description, programming schemes and the noise of the stored
weight (statistical checks at stated confidence against the 1/sqrt(N) law of independent devices)."""

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from devicelab.cli import cli
from devicelab.devices import preset
from devicelab.errors import ConfigError
from devicelab.inference import AnalogConfig, AnalogHardware, AnalogNetwork, NoCompensation
from devicelab.inference.mapping import UnitCell
from devicelab.network.layers import Flatten, Linear
from devicelab.network.model import Network
from devicelab.spice.crossbar.spec import AccessTransistor

M = 20000  # unit cells per sample: the variance ratio is then known to ~2 % (F distribution, below)


def _variance_ratio_interval(ratio_expected: float, confidence: float = 0.999) -> tuple[float, float]:
    """Interval holding the ratio of two sample variances of M normal draws each (true ratio given) with
    the stated confidence: the ratio / expected follows F(M - 1, M - 1)."""
    lo, hi = stats.f.ppf([(1 - confidence) / 2, (1 + confidence) / 2], M - 1, M - 1)
    return ratio_expected * lo, ratio_expected * hi


@pytest.mark.parametrize("n", [2, 4])
def test_programming_noise_of_the_stored_weight_falls_as_one_over_sqrt_n(n):
    model = preset("joshi2020")
    rng = np.random.default_rng(10 + n)
    g = np.full(M, 0.5 * model.g_max)  # mid-range: the [0, g_clip] clip never acts (> 10 sigma away)
    single = UnitCell().program(g, lambda t: model.program(t, rng), model.g_max)
    multi = UnitCell(devices_per_polarity=n).program(g, lambda t: model.program(t, rng), model.g_max)
    stored_1 = UnitCell().combine(single)
    stored_n = UnitCell(devices_per_polarity=n).combine(multi)
    ratio = np.var(stored_n - g) / np.var(stored_1 - g)
    lo, hi = _variance_ratio_interval(1.0 / n)
    assert lo <= ratio <= hi, f"variance ratio {ratio:.4f}, expected 1/{n} within [{lo:.4f}, {hi:.4f}] (99.9 %)"


@pytest.mark.parametrize("n", [2, 4])
def test_read_noise_of_the_stored_weight_falls_as_one_over_sqrt_n(n):
    model = preset("joshi2020")
    rng = np.random.default_rng(20 + n)
    g = np.full(M, 0.5 * model.g_max)
    t = 3600.0  # s; drift off (nu = 0) so only the 1/f read noise moves the devices
    cells = [UnitCell(), UnitCell(devices_per_polarity=n)]
    noise = []
    for cell in cells:
        prog = cell.program(g, lambda x: model.program(x, rng), model.g_max)
        read = model.read(prog, np.zeros_like(prog), t, rng)
        noise.append(np.var(cell.combine(read) - cell.combine(prog)))
    lo, hi = _variance_ratio_interval(1.0 / n)
    assert lo <= noise[1] / noise[0] <= hi


def test_significance_weights_the_noise_as_the_root_sum_of_squares():
    cell = UnitCell(devices_per_polarity=2, significance=(3.0, 1.0))
    assert cell.noise_factor == pytest.approx(np.sqrt(0.75**2 + 0.25**2), rel=1e-12)
    assert UnitCell(devices_per_polarity=4).noise_factor == pytest.approx(0.5, rel=1e-12)


def test_residual_programming_lets_the_less_significant_pair_absorb_the_error():
    # (3, 1) pair of pairs: the stored error is the LSP's own programming error / 4, i.e. std about 1/4 of a
    # single device's (vs 0.79 when both are programmed in parallel); 0.4 leaves a wide margin (M draws).
    model = preset("joshi2020")
    rng = np.random.default_rng(7)
    g = np.full(M, 0.5 * model.g_max)
    residual = UnitCell(devices_per_polarity=2, significance=(3.0, 1.0), scheme="residual")
    stored = residual.combine(residual.program(g, lambda x: model.program(x, rng), model.g_max))
    single = model.program(g, rng)
    assert np.std(stored - g) < 0.4 * np.std(single - g)


def test_parallel_programming_gives_every_device_the_same_target():
    targets = []
    UnitCell(devices_per_polarity=4).program(np.array([1e-6, 2e-6]), lambda t: targets.append(t) or t, 25e-6)
    np.testing.assert_array_equal(targets[0], [[1e-6, 2e-6]] * 4)


@pytest.mark.parametrize("kwargs, message", [
    ({"devices_per_polarity": 0}, r"UnitCell\.devices_per_polarity: expected an integer in \[1, 64\]"),
    ({"devices_per_polarity": 2, "significance": (1.0, 0.0)}, r"UnitCell\.significance: every factor"),
    ({"devices_per_polarity": 2, "significance": (2.0, 1.0, 1.0)}, r"UnitCell\.significance: expected 2 factors"),
    ({"cell": "2t2r"}, r"UnitCell\.cell: expected one of"),
    ({"scheme": "serial"}, r"UnitCell\.scheme: expected one of"),
    ({"cell": "1t1r", "transistor": AccessTransistor(v_gate=0.4)}, r"UnitCell\.transistor\.v_gate: .*never conducts"),
    ({"transistor": AccessTransistor()}, r"UnitCell\.transistor: only 1T1R cells"),
])
def test_bad_unit_cells_are_errors_naming_the_option(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        UnitCell(**kwargs)


def test_unit_cell_round_trips_through_a_dict():
    cell = UnitCell("1t1r", 2, (2.0, 1.0), "residual", AccessTransistor(v_gate=1.2))
    assert UnitCell.from_dict(cell.to_dict()) == cell


# ---------------------------------------------------------------------------------------------- engine

def _ratio_interval(e_n: np.ndarray, e_1: np.ndarray, z: float = 3.29) -> tuple[float, float, float]:
    """Ratio R = mean(e_n^2) / mean(e_1^2) of two independent samples of errors and its two-sided 99.9 %
    interval (z = 3.29) from the delta method: se(R) / R = sqrt(var(e_n^2) / (M mean(e_n^2)^2) + same for e_1)."""
    s_n, s_1 = e_n.ravel() ** 2, e_1.ravel() ** 2
    ratio = s_n.mean() / s_1.mean()
    rel = np.sqrt(s_n.var() / (s_n.size * s_n.mean() ** 2) + s_1.var() / (s_1.size * s_1.mean() ** 2))
    return ratio, ratio * (1 - z * rel), ratio * (1 + z * rel)


def _weight_errors(n: int, t: float, config: AnalogConfig, seed: int) -> np.ndarray:
    """Difference (weight units) of the weights a 256 x 256 layer holds at time t after two independent
    programmings, n devices per polarity. The difference has zero mean, so its mean square is twice the
    noise variance: the devices of the unused polarity (0 S targets) are clipped at 0 S, which biases
    every weight by a few % of its noise std, a bias that averaging N devices does not remove."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1, 1, (256, 256)).astype(np.float32)
    net = Network([Flatten(), Linear("fc", w, np.zeros(256, np.float32))], (1, 1, 256), 256, "one-layer")
    hardware = AnalogHardware(preset("joshi2020"), config, compensation=NoCompensation(),
                              cell=UnitCell(devices_per_polarity=n))
    analog = AnalogNetwork(net, hardware, rng.standard_normal((16, 1, 1, 256)).astype(np.float32), rng)
    first = analog.read_at(t, rng).effective_weights("fc")
    analog.program(rng)
    return analog.read_at(t, rng).effective_weights("fc") - first


@pytest.mark.parametrize("n", [2, 4])
def test_engine_programming_noise_of_the_weights_falls_as_one_over_sqrt_n(n):
    # programming noise alone, read at t = 0: every device programmed on its own, the cell averages N of them
    config = AnalogConfig().only("programming_noise")
    ratio, lo, hi = _ratio_interval(_weight_errors(n, 0.0, config, 1), _weight_errors(1, 0.0, config, 2))
    assert lo <= 1.0 / n <= hi, f"weight-noise variance ratio {ratio:.4f} (99.9 % [{lo:.4f}, {hi:.4f}]) vs 1/{n}"


@pytest.mark.parametrize("n", [2, 4])
def test_engine_read_noise_of_the_weights_falls_as_one_over_sqrt_n(n):
    config = AnalogConfig().only("read_noise")  # 1/f read noise accumulated over a day, no drift
    ratio, lo, hi = _ratio_interval(_weight_errors(n, 86400.0, config, 3), _weight_errors(1, 86400.0, config, 4))
    assert lo <= 1.0 / n <= hi, f"weight-noise variance ratio {ratio:.4f} (99.9 % [{lo:.4f}, {hi:.4f}]) vs 1/{n}"


def test_hardware_description_keeps_the_unit_cell(tmp_path):
    cell = UnitCell("1t1r", 2, (3.0, 1.0), "residual", AccessTransistor(v_gate=1.2))
    hardware = AnalogHardware.from_files(preset="joshi2020", cell=cell)
    back = AnalogHardware.load(hardware.save(tmp_path / "hw.toml"))
    assert back.cell == cell
    assert hardware.describe()["cell"]["devices_per_polarity"] == 2


# ---------------------------------------------------------------------------------------------- command line

@pytest.mark.parametrize("options, message", [
    (["--devices-per-polarity", "0"], "--devices-per-polarity: UnitCell.devices_per_polarity: expected an integer"),
    (["--devices-per-polarity", "2", "--significance", "3,-1"], "--significance: UnitCell.significance: every factor"),
    (["--devices-per-polarity", "2", "--significance", "3,1,1"], "--significance: UnitCell.significance: expected 2"),
    (["--significance", "big"], "--significance: expected comma-separated numbers"),
    (["--cell", "1t1r", "--v-gate", "0.3"],
     "--v-gate: UnitCell.transistor.v_gate: the word line (0.3 V) must be above"),
    (["--v-gate", "1.2"], "--v-gate: only 1T1R cells have an access transistor"),
])
def test_evaluate_refuses_bad_unit_cells_naming_the_option(tmp_path, options, message):
    result = CliRunner().invoke(cli, ["evaluate", "--network", "mlp-hwa", "--dataset", "digits", "--preset",
                                      "joshi2020", "--no-progress", "-o", str(tmp_path)] + options)
    assert result.exit_code != 0
    assert message in result.output, result.output
