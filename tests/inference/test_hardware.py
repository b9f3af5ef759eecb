"""AnalogHardware: one frozen hardware description, its protocols, its TOML file and the CLI that reads it."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.behavioral import CrossbarModel, save_crossbar_model
from devicelab.cli import cli
from devicelab.devices import preset, save_model
from devicelab.errors import ConfigError, InputFileError
from devicelab.inference import (
    AnalogConfig,
    AnalogHardware,
    ColumnDriftCompensation,
    GlobalDriftCompensation,
    NoCompensation,
)
from devicelab.network import mlp, save_network


@pytest.fixture
def model_files(tmp_path):
    """A device model file and a crossbar model file in ``tmp_path``."""
    device = save_model(preset("joshi2020"), tmp_path / "pcm.h5")
    crossbar = save_crossbar_model(CrossbarModel.from_params(2.0, 2.0), tmp_path / "xbar.h5")
    return device, crossbar


def test_hardware_is_frozen_and_checks_each_part_against_its_protocol():
    hw = AnalogHardware(preset("joshi2020"))
    with pytest.raises(AttributeError):
        hw.tile = AnalogConfig()  # type: ignore[misc]
    with pytest.raises(ConfigError, match="crossbar .* is not a CrossbarModelLike .*bind"):
        AnalogHardware(preset("joshi2020"), crossbar=object())
    with pytest.raises(ConfigError, match="compensation"):
        AnalogHardware(preset("joshi2020"), compensation="global")
    with pytest.raises(ConfigError, match="tile must be an AnalogConfig"):
        AnalogHardware(preset("joshi2020"), tile={"tile_rows": 64})


def test_inference_without_a_device_model_is_refused():
    with pytest.raises(ConfigError, match="no device model"):
        _ = AnalogHardware().g_max


def test_save_and_load_round_trip_keeps_every_part(tmp_path, model_files):
    device, crossbar = model_files
    tile = AnalogConfig(tile_rows=128, tile_cols=64, dac_bits=None, adc_bits=6, g_max=20e-6, scaling="tile")
    hw = AnalogHardware.from_files(device_model=device, crossbar_model=crossbar, tile=tile,
                                   compensation=ColumnDriftCompensation(n_vectors=16, seed=7))
    (tmp_path / "sub").mkdir()
    path = hw.save(tmp_path / "sub" / "hw.toml")
    back = AnalogHardware.load(path)
    assert back.tile == tile
    assert back.compensation == ColumnDriftCompensation(n_vectors=16, seed=7)
    assert back.device.sigma_prog(5e-6) == hw.device.sigma_prog(5e-6) and back.device.g_max == hw.device.g_max
    assert back.crossbar.circuit == hw.crossbar.circuit
    # Files are referenced relative to the description's folder, with their SHA-256.
    text = path.read_text()
    assert 'file = "../pcm.h5"' in text and "sha256" in text
    assert back.sources["device"].sha256 == hw.sources["device"].sha256


def test_a_changed_model_file_is_refused_by_name(tmp_path, model_files):
    device, _ = model_files
    path = AnalogHardware.from_files(device_model=device).save(tmp_path / "hw.toml")
    save_model(preset("joshi2020").replace(g_max=30e-6), device)  # a different model at the same path
    with pytest.raises(InputFileError, match="pcm.h5 has changed"):
        AnalogHardware.load(path)
    assert AnalogHardware.load(path, verify=False).device.g_max == 30e-6


@pytest.mark.parametrize("text, field", [
    ('format = "other"\nformat_version = 1\n', "format"),
    ('format = "devicelab.hardware"\nformat_version = 9\n', "format_version"),
    ('format = "devicelab.hardware"\nformat_version = 1\n[device]\npreset = "joshi2020"\nfile = "x.h5"\n', "device"),
    ('format = "devicelab.hardware"\nformat_version = 1\n[device]\nfile = "missing.h5"\n', "device.file"),
    ('format = "devicelab.hardware"\nformat_version = 1\n[device]\npreset = "joshi2020"\n[tile]\nbits = 3\n',
     "tile/compensation"),
    ('format = "devicelab.hardware"\nformat_version = 1\n[device]\npreset = "joshi2020"\n[colour]\n', "colour"),
])
def test_bad_description_files_name_the_field(tmp_path, text, field):
    path = tmp_path / "hw.toml"
    path.write_text(text)
    with pytest.raises(InputFileError) as info:
        AnalogHardware.load(path)
    assert info.value.field == field and str(path) in str(info.value)


def test_in_memory_parts_cannot_be_saved(tmp_path):
    hw = AnalogHardware.from_files(preset="joshi2020").replace(crossbar=CrossbarModel.from_params(1.0, 1.0))
    with pytest.raises(ConfigError, match="crossbar model is an in-memory object"):
        hw.save(tmp_path / "hw.toml")
    assert not (tmp_path / "hw.toml").exists()


def test_replace_drops_the_source_of_a_replaced_part(model_files):
    device, crossbar = model_files
    hw = AnalogHardware.from_files(device_model=device, crossbar_model=crossbar)
    swapped = hw.replace(crossbar=CrossbarModel.from_params(1.0, 1.0))
    assert "crossbar" not in swapped.sources and "device" in swapped.sources
    assert isinstance(hw.replace(compensation=NoCompensation()).compensation, NoCompensation)
    assert isinstance(hw.compensation, GlobalDriftCompensation)


def _evaluate(args, tmp_path, rng):
    weights = save_network(mlp((1, 8, 8), 10, (16,), rng), tmp_path / "mlp.npz")
    return CliRunner().invoke(cli, ["evaluate", "--network", str(weights), "--dataset", "digits", "--times", "0",
                                    "--repeats", "1", "--test-limit", "20", "--no-progress", "--json",
                                    "-o", str(tmp_path / "out")] + args)


def test_evaluate_runs_from_a_saved_description_and_command_line_options_override_it(tmp_path, rng, model_files):
    device, _ = model_files
    hw_file = tmp_path / "hw.toml"
    first = _evaluate(["--device-model", str(device), "--tile-size", "32", "--adc-bits", "none",
                       "--save-hardware", str(hw_file)], tmp_path, rng)
    assert first.exit_code == 0, first.output
    described = AnalogHardware.load(hw_file)
    assert described.tile.tile_rows == 32 and described.tile.adc_bits is None
    again = _evaluate(["--hardware", str(hw_file), "--dac-bits", "none", "--overwrite"], tmp_path, rng)
    assert again.exit_code == 0, again.output
    config = json.loads(again.output)["config"]
    # From the file: tile size and exact ADC; from the command line: the exact DAC.
    assert (config["tile_rows"], config["adc_bits"], config["dac_bits"]) == (32, None, None)


def test_evaluate_without_a_device_model_says_how_to_give_one(tmp_path, rng):
    result = _evaluate([], tmp_path, rng)
    assert result.exit_code == 2
    assert "--device-model FILE, --preset NAME or --hardware FILE" in result.output


def test_bits_option_rejects_garbage(tmp_path, rng):
    result = _evaluate(["--preset", "joshi2020", "--adc-bits", "eight"], tmp_path, rng)
    assert result.exit_code == 2 and "--adc-bits: expected an integer number of bits or 'none'" in result.output


def test_exact_io_gives_the_float_result_without_device_noise(rng):
    from devicelab.inference import AnalogNetwork

    net = mlp((1, 8, 8), 10, (32,), rng)
    x = rng.random((64, 1, 8, 8), dtype=np.float32)
    tile = AnalogConfig(dac_bits=None, adc_bits=None, programming_noise=False, drift=False, read_noise=False)
    analog = AnalogNetwork(net, AnalogHardware(preset("joshi2020"), tile, compensation=NoCompensation()), x, rng)
    np.testing.assert_allclose(analog.read_at(0.0, rng).forward(x), net.forward(x), rtol=1e-4, atol=1e-5)


def test_a_crossbar_model_that_does_not_fit_the_mapping_is_refused_naming_both_files(tmp_path):
    from devicelab.behavioral import Validity

    # Built from differential sweeps only, but bound single-ended: its error table says nothing about that.
    validity = Validity(rows=(1, 256), cols=(1, 256), r_wire=(0.0, 5.0), r_driver=(0.0, 0.0), r_sense=(0.0, 0.0),
                        g=(0.0, 40e-6), v_max=0.2, devices=("linear",), differential=(True,))
    model_file = save_crossbar_model(CrossbarModel.from_params(2.0, 2.0, validity=validity), tmp_path / "xbar.h5")
    hw = AnalogHardware.from_files(preset="joshi2020", crossbar_model=model_file)
    with pytest.raises(ConfigError, match=r"xbar.h5 does not fit the mapping .*differential=False not covered"):
        hw.tile_crossbar()
    path = hw.save(tmp_path / "hw.toml")
    with pytest.raises(InputFileError, match=r"hw.toml.*xbar.h5 does not fit the mapping"):
        AnalogHardware.load(path)
