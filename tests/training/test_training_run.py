"""Specification of in-memory training runs: they learn, mixed precision tracks float, pulsed SGD does not."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.cli import cli
from devicelab.devices.update import nandakumar2018
from devicelab.errors import ConfigError
from devicelab.training.experiment import load_training_data
from devicelab.training.run import TrainConfig, compare_schemes


@pytest.fixture(scope="module")
def digits():
    return load_training_data("digits")


@pytest.fixture(scope="module")
def ten_epochs(digits):
    train, test = digits
    return compare_schemes(train, test, ["float", "sgd", "mixed-precision"], nandakumar2018(),
                           TrainConfig(epochs=10), np.random.default_rng(3))


def test_mixed_precision_on_pcm_learns_far_above_chance(ten_epochs):
    # 10 classes: chance is 10 %; a few epochs of a 64-100-10 MLP reach > 90 % in float.
    assert ten_epochs["mixed-precision"].test_accuracy[2] > 0.85
    assert ten_epochs["mixed-precision"].pulses > 0


def test_mixed_precision_ends_within_about_one_percent_of_float(ten_epochs):
    # 450 test images: one accuracy has a binomial std of ~0.9 %; the mean of the last 3 epochs is compared and
    # 2 % allowed (the field's claim is "within ~1 %"; measured gaps over seeds 0-3 were -1.0 .. +0.2 %).
    mp = np.mean(ten_epochs["mixed-precision"].test_accuracy[-3:])
    fp = np.mean(ten_epochs["float"].test_accuracy[-3:])
    assert mp > fp - 0.02


def test_pulsed_sgd_with_the_same_device_is_clearly_worse(ten_epochs):
    # Most updates are far below one device step and are rounded away; measured 60-72 % over seeds 0-3.
    sgd = np.mean(ten_epochs["sgd"].test_accuracy[-3:])
    assert sgd < np.mean(ten_epochs["mixed-precision"].test_accuracy[-3:]) - 0.15


def test_all_schemes_start_from_the_same_weights_and_data_order(digits):
    train, test = digits
    config = TrainConfig(epochs=1, train_limit=200)
    a = compare_schemes(train, test, ["float"], None, config, np.random.default_rng(5))
    b = compare_schemes(train, test, ["float", "mixed-precision"], nandakumar2018(), config, np.random.default_rng(5))
    assert a["float"].test_accuracy == b["float"].test_accuracy


def test_unknown_scheme_and_missing_device_model_are_config_errors(digits):
    train, test = digits
    with pytest.raises(ConfigError, match="unknown"):
        compare_schemes(train, test, ["adam"], nandakumar2018(), TrainConfig(epochs=1), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="device update model"):
        compare_schemes(train, test, ["sgd"], None, TrainConfig(epochs=1), np.random.default_rng(0))


def test_train_command_prints_json_and_writes_plot(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--dataset", "digits", "--preset", "nandakumar2018", "--scheme",
                                      "mixed-precision", "--epochs", "1", "--train-limit", "300", "--json",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert set(record["results"]) == {"float", "mixed-precision"}
    assert len(record["results"]["mixed-precision"]["test_accuracy"]) == 1
    assert (out / "training.png").stat().st_size > 0 and (out / "training.json").is_file()


def test_train_command_fits_real_pulses_into_a_model_file_and_reuses_it(shared_data, tmp_path):
    model_file = tmp_path / "device.h5"
    args = ["train", "--scheme", "mixed-precision", "--epochs", "1", "--train-limit", "100", "--json"]
    first = CliRunner().invoke(cli, args + ["--pulses", str(shared_data / "pulse-trains"), "--save-model",
                                            str(model_file), "-o", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "a" / "update_fit.png").is_file()
    second = CliRunner().invoke(cli, args + ["--device-model", str(model_file)])
    assert second.exit_code == 0, second.output
    assert json.loads(second.output)["device_model"].startswith("fit of")


def test_train_command_rejects_two_model_sources(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--preset", "nandakumar2018", "--pulses", str(tmp_path)])
    assert result.exit_code == 2 and "exactly one" in result.output


@pytest.mark.slow
def test_mixed_precision_on_fashion_mnist_stays_near_float_and_sgd_does_not():
    # 784-250-10 on 20k training images, 3 epochs (~3-5 min on a loaded 2-core machine). 10k test images:
    # binomial std of an accuracy ~0.35 %; the field's "within ~1 %" is checked with 1.5 %.
    train, test = load_training_data("fashion-mnist")
    results = compare_schemes(train, test, ["float", "sgd", "mixed-precision"], nandakumar2018(),
                              TrainConfig(epochs=3, hidden=(250,), train_limit=20_000), np.random.default_rng(0))
    assert results["mixed-precision"].final_accuracy > results["float"].final_accuracy - 0.015
    assert results["sgd"].final_accuracy < results["mixed-precision"].final_accuracy - 0.08


def test_train_command_fits_a_long_pulse_file_through_a_column_mapping(tmp_path, rng):
    from devicelab.devices.update_fit import synthetic_pulse_table

    table = synthetic_pulse_table(nandakumar2018(), rng, n_devices=10, n_cycles=3, set_pulses=15)
    lines = ["cell,cycle,k,dir,I_uA"] + [
        f"{d},{r},{p},{'SET' if s > 0 else 'RESET'},{float(g) * 0.2 * 1e6!r}"
        for d, r, p, s, g in zip(table.device, table.ramp, table.pulse, table.polarity, table.g)]
    path = tmp_path / "pulses.csv"
    path.write_text("\n".join(lines) + "\n")
    args = ["train", "--pulses", str(path), "--column", "device=cell", "--column", "ramp=cycle", "--column",
            "pulse=k", "--column", "polarity=dir", "--column", "i=I_uA:uA", "--column", "v=@200:mV",
            "--save-model", str(tmp_path / "m.h5"), "--epochs", "1", "--train-limit", "50", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    from devicelab.devices import load_update_model

    fitted = load_update_model(tmp_path / "m.h5")
    assert fitted.unidirectional  # PCM traces: the abrupt RESET is recognized through the mapping
    # G = I / V: 0.2 V read of currents given in uA; the RESET level must come out near 0.1 uS (std 0.05 uS).
    assert fitted.abrupt_reset.g_reset == pytest.approx(0.1e-6, abs=0.03e-6)
