"""The accuracy-vs-time experiment, its files and the evaluate/pretrain commands."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.cli import cli
from devicelab.devices import preset
from devicelab.errors import ConfigError
from devicelab.inference import (
    AnalogConfig,
    AnalogHardware,
    acting_nonidealities,
    evaluate_accuracy_vs_time,
    make_compensation,
    parse_times,
)
from devicelab.network import load_digits_split, mlp, save_network


def _fitted_mlp(rng, threshold=0.0):
    """A digits MLP with a least-squares readout on random ReLU features (no torch needed), ~90 % accurate.

    ``threshold`` > 0 gives the hidden layer a bias of -threshold x the pre-activation std, so its output
    depends on the absolute scale of W x (as BatchNorm shifts or biases make real networks do).
    """
    train = load_digits_split("train")
    net = mlp((1, 8, 8), 10, (64,), rng)
    pre = train.x.reshape(len(train), -1) @ net.layers[1].matrix
    net.layers[1].bias[:] = -threshold * pre.std(axis=0)
    hidden = np.maximum(pre + net.layers[1].bias, 0)
    net.layers[3].weight[:] = np.linalg.lstsq(hidden, np.eye(10)[train.y], rcond=None)[0].T
    net.layers[3].matrix[:] = net.layers[3].weight.T
    return net


def test_global_compensation_restores_accuracy_lost_to_drift(rng):
    net = _fitted_mlp(rng, threshold=1.0)
    test, cal = load_digits_split("test"), load_digits_split("train").x[:128]
    times = [0.0, 3.0e7]
    hardware = AnalogHardware(preset("joshi2020"), AnalogConfig().only("drift"))
    # Same seed: both runs program the same devices with the same drift exponents.
    plain = evaluate_accuracy_vs_time(net, test, cal, hardware.replace(compensation=make_compensation("none")),
                                      times, 2, np.random.default_rng(3))
    fixed = evaluate_accuracy_vs_time(net, test, cal, hardware.replace(compensation=make_compensation("global")),
                                      times, 2, np.random.default_rng(3))
    curve_plain, curve_fixed = plain.curves["all"], fixed.curves["all"]
    assert curve_plain.accuracy.shape == (2, 2)
    # Drift only: at t = 0 the analog net is the float net.
    assert curve_plain.mean[0] == pytest.approx(plain.float_accuracy, abs=1 / len(test) + 1e-12)
    # A year of drift shrinks W x by ~2x against the fixed bias: without compensation the hidden layer
    # switches off and accuracy collapses (measured: -30 points); global compensation recovers a large part
    # (measured: +13 points; the nu spread, which no scalar can undo, costs the rest). 2 x 450 test images,
    # identical devices in both runs, so 5 points is far outside the evaluation noise.
    assert curve_plain.mean[1] < curve_plain.mean[0] - 0.15
    assert curve_fixed.mean[1] > curve_plain.mean[1] + 0.05


def test_attribution_runs_one_curve_per_active_nonideality(rng):
    hardware = AnalogHardware(preset("joshi2020"), AnalogConfig(), compensation=make_compensation("none"))
    names = set(acting_nonidealities(hardware))
    assert names == {"programming_noise", "drift", "read_noise", "dac", "adc"}  # no crossbar, no output noise
    # Exact IO (aihwkit's ideal IO): neither the DAC nor the ideal ADC acts.
    exact = hardware.with_tile(dac_bits=None, adc_bits=None)
    assert set(acting_nonidealities(exact)) == {"programming_noise", "drift", "read_noise"}
    net = _fitted_mlp(rng)
    test = load_digits_split("test").subset(100)
    result = evaluate_accuracy_vs_time(net, test, load_digits_split("train").x[:64], hardware, [0.0], 1,
                                       rng, attribution=True)
    pairs = {f"{a}+{b}" for i, a in enumerate(acting_nonidealities(hardware))
             for b in acting_nonidealities(hardware)[i + 1:]}
    assert len(pairs) == 10
    assert set(result.curves) == names | pairs | {"all"}


def _attribution_run(rng, repeats: int):
    """Attribution of a digits MLP on 4-bit DAC/ADC joshi2020 tiles, no compensation, read at 0 s and 1e5 s."""
    hardware = AnalogHardware(preset("joshi2020"), AnalogConfig(dac_bits=4, adc_bits=4),
                              compensation=make_compensation("none"))
    net = _fitted_mlp(rng)
    test = load_digits_split("test").subset(100)
    return evaluate_accuracy_vs_time(net, test, load_digits_split("train").x[:64], hardware, [0.0, 1e5], repeats,
                                     rng, attribution=True)


def test_attribution_terms_decompose_the_measured_loss(rng):
    result = _attribution_run(rng, 1)
    terms = result.to_dict()["attribution"]
    loss = {k: result.float_accuracy - c.mean for k, c in result.curves.items()}
    # definitions, exactly (sums of the same floats)
    np.testing.assert_allclose(terms["single"]["dac"], loss["dac"], atol=1e-12)
    np.testing.assert_allclose(terms["interaction"]["dac+adc"], loss["dac+adc"] - loss["dac"] - loss["adc"], atol=1e-12)
    np.testing.assert_allclose(np.add(terms["explained"], terms["higher_order"]), loss["all"], atol=1e-12)
    assert "higher-order term" in result.table() and "dac+adc interaction" in result.table()
    # one repeat: the per-repeat term is the mean term, and there is no standard error
    np.testing.assert_allclose(terms["higher_order_per_repeat"][0], terms["higher_order"], atol=1e-12)
    assert np.all(np.isnan(terms["higher_order_sem"])) and "its standard error" not in result.table()


def test_higher_order_term_per_repeat_averages_to_the_mean_term(rng):
    result = _attribution_run(rng, 3)
    terms = result.to_dict()["attribution"]
    per_repeat = np.array(terms["higher_order_per_repeat"])
    assert per_repeat.shape == (3, 2)
    np.testing.assert_allclose(per_repeat.mean(axis=0), terms["higher_order"], atol=1e-12)
    np.testing.assert_allclose(terms["higher_order_sem"], per_repeat.std(axis=0, ddof=1) / np.sqrt(3), atol=1e-12)
    assert "its standard error" in result.table()


def test_parse_times_rejects_negative_and_garbage():
    assert parse_times("0, 1,3600").tolist() == [0.0, 1.0, 3600.0]
    for bad in ("-1", "1,abc", "", "inf"):
        with pytest.raises(ConfigError):
            parse_times(bad)


def test_evaluate_command_writes_json_and_plot(tmp_path, rng):
    weights = save_network(_fitted_mlp(rng), tmp_path / "mlp.npz")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["evaluate", "--network", str(weights), "--dataset", "digits", "--preset",
                                      "joshi2020", "--times", "0,86400", "--repeats", "2", "--compensation", "global",
                                      "--test-limit", "100", "--no-progress", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "86400" in result.output
    data = json.loads((out / "accuracy_mlp_global.json").read_text())
    assert data["curves"]["all"]["times_s"] == [0.0, 86400.0]
    assert len(data["curves"]["all"]["accuracy"]) == 2
    assert (out / "accuracy_mlp_global.png").stat().st_size > 1000


def test_evaluate_command_reports_unknown_network_in_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["evaluate", "--network", "nonexistent-net", "--dataset", "digits",
                                      "--preset", "joshi2020", "--no-progress", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "neither a .npz/.h5 file nor a shipped network" in result.output


def test_hwa_noise_is_removed_after_each_step():
    pytest.importorskip("torch")
    from devicelab.network import PretrainConfig, train

    start = mlp((1, 8, 8), 10, (64,), np.random.default_rng(0))
    before = start.arrays()
    # A huge noise with a negligible learning rate: if the injected noise stayed in the weights they would
    # move by ~0.5 max|W|; they must move by no more than the tiny Adam steps (lr 1e-9 x 11 steps).
    trained = train("mlp", "digits", PretrainConfig(epochs=1, batch_size=128, lr=1e-9, hwa_noise=0.5,
                                                   weight_decay=0.0), init=start)
    for key, value in trained.arrays().items():
        np.testing.assert_allclose(value, before[key], atol=1e-6)


def test_pretrain_command_learns_and_writes_loadable_weights(tmp_path):
    pytest.importorskip("torch")
    from devicelab.network import load_network

    out = tmp_path / "w.npz"
    result = CliRunner().invoke(cli, ["pretrain", "--network", "mlp", "--dataset", "digits", "--epochs", "3",
                                      "--batch-size", "64", "--lr", "0.01", "--hwa-noise", "0.05", "--no-progress",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    net = load_network(out)
    assert net.meta["training"]["hwa_noise"] == 0.05 and net.name == "mlp-digits-hwa"
    assert net.meta["float_test_accuracy"] > 0.8  # chance is 0.1


def test_accuracy_plot_labels_each_curve(rng):
    from devicelab.inference import plot_accuracy_vs_time
    from devicelab.inference.evaluate import AccuracyCurve, EvaluationResult

    result = EvaluationResult("net", "digits", "joshi2020", "global", {}, 10, 0.9)
    for label in ("all", "drift"):
        result.curves[label] = AccuracyCurve("all", np.array([0.0, 10.0]), np.array([[0.8, 0.7], [0.9, 0.6]]))
    fig = plot_accuracy_vs_time(result)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "drift" in legend and "all" in legend and "float baseline" in legend


def _small_validity_hardware():
    from devicelab.behavioral import CrossbarModel
    from devicelab.behavioral.crossbar_model import Validity

    validity = Validity(rows=(1, 16), cols=(1, 64), r_wire=(0.0, 5.0), r_driver=(0.0, 1.0), r_sense=(0.0, 1.0),
                        g=(0.0, 25e-6), v_max=0.2)
    model = CrossbarModel.from_params(1.0, 1.0, validity=validity)
    return AnalogHardware(preset("joshi2020"), AnalogConfig(tile_rows=64, tile_cols=64), crossbar=model,
                          compensation=make_compensation("none"))


def test_validity_warns_once_per_layer_with_what_is_out_of_range_and_by_how_much(rng, recwarn):
    from devicelab.errors import ValidityRangeWarning

    net = _fitted_mlp(rng)
    test = load_digits_split("test").subset(50)
    evaluate_accuracy_vs_time(net, test, load_digits_split("train").x[:64], _small_validity_hardware(),
                              [0.0, 1e3, 1e5], 2, rng)
    found = [w for w in recwarn if issubclass(w.category, ValidityRangeWarning)]
    layers = [w for w in found if "on layer" in str(w.message)]
    # 2 weight layers, 2 programmings x (mapping + 3 reads) binds each: still one warning per layer
    assert len(layers) == 2 and len(found) == 2
    message = str(layers[0].message)
    # the first layer has 64 rows (tile 64 x 64) against at most 16: 300 % above
    assert "rows up to 64, 300 % above the maximum 16" in message
    excess = {e.quantity: e for e in layers[0].message.excess}
    assert excess["rows"].high == 64 and excess["rows"].hi == 16


def test_strict_validity_fails_with_the_details(rng):
    from devicelab.errors import ValidityRangeError

    net = _fitted_mlp(rng)
    test = load_digits_split("test").subset(20)
    with pytest.raises(ValidityRangeError, match="strict validity: .*rows up to 64"):
        evaluate_accuracy_vs_time(net, test, load_digits_split("train").x[:64], _small_validity_hardware(),
                                  [0.0], 1, rng, strict_validity=True)


def test_evaluate_command_takes_calibration_and_strict_validity(tmp_path, rng):
    weights = save_network(_fitted_mlp(rng), tmp_path / "mlp.npz")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["evaluate", "--network", str(weights), "--dataset", "digits", "--preset",
                                      "joshi2020", "--times", "0,3600", "--repeats", "1", "--calibration",
                                      "column-affine", "--calibration-refresh", "--strict-validity",
                                      "--test-limit", "50", "--no-progress", "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    config = json.loads(result.output)["config"]
    assert config["calibration"] == "column-affine" and config["calibration_refresh"] is True


def test_attribution_curves_share_their_random_draws(rng):
    """Common random numbers: at t = 0 drift changes nothing, so the programming_noise+drift pair must give
    exactly the accuracy of programming_noise alone (same programmed devices), for every repeat. Without
    shared seeds and separate streams the two would differ by sampling noise (~1/sqrt(n) of the test set)."""
    hardware = AnalogHardware(preset("joshi2020"), AnalogConfig().only("programming_noise"),
                              compensation=make_compensation("none"))
    hardware = hardware.with_tile(drift=True)
    net = _fitted_mlp(rng)
    test = load_digits_split("test").subset(200)
    result = evaluate_accuracy_vs_time(net, test, load_digits_split("train").x[:64], hardware, [0.0], 3, rng,
                                       attribution=True)
    pair = result.curves["programming_noise+drift"].accuracy
    np.testing.assert_array_equal(pair, result.curves["programming_noise"].accuracy)
    np.testing.assert_array_equal(pair, result.curves["all"].accuracy)
    assert np.ptp(pair) > 0  # the repeats themselves differ: independent programmings


def test_output_error_is_zero_for_the_float_logits_and_ignores_a_common_offset():
    from devicelab.inference.evaluate import output_error

    z = np.random.default_rng(0).normal(size=(50, 10))
    assert output_error(z, z) == 0.0
    assert output_error(z + 3.0, z) == pytest.approx(0.0, abs=1e-20)  # softmax-invariant shift
    assert output_error(1.1 * z, z) == pytest.approx(0.01, rel=1e-9)  # centred: (0.1 z)^2 / z^2


def test_attribution_measures_output_errors_that_add_for_independent_noises(rng):
    """Programming noise and read noise are independent zero-mean conductance errors: their output errors
    (relative MSE of the logits) add, within the sampling spread, even where their accuracy losses do not."""
    hardware = AnalogHardware(preset("joshi2020"), AnalogConfig(dac_bits=None, adc_bits=None),
                              compensation=make_compensation("none"))
    hardware = hardware.with_tile(drift=False)
    net = _fitted_mlp(rng)
    test = load_digits_split("test").subset(300)
    result = evaluate_accuracy_vs_time(net, test, load_digits_split("train").x[:64], hardware, [1.0], 4, rng,
                                       attribution=True)
    terms = result.to_dict()["attribution"]["output_error"]
    single = terms["single"]
    assert set(single) == {"programming_noise", "read_noise"}
    assert all(v[0] > 0 for v in single.values())
    pair = terms["pair"]["programming_noise+read_noise"][0]
    assert pair == pytest.approx(single["programming_noise"][0] + single["read_noise"][0], rel=0.1)
    assert terms["all"][0] == pytest.approx(pair, rel=1e-12)  # the pair is everything that acts here
    assert "output error (relative MSE, %)" in result.table()
    curve = result.to_dict()["curves"]["all"]
    assert np.shape(curve["output_error"]) == (4, 1)
