"""Behavioral ADC model, DAC input quantization and ADC model files."""

import h5py
import numpy as np
import pytest
from scipy.stats import norm

from devicelab.behavioral import ADCModel, ideal_adc, load_adc_model, quantize_dac, save_adc_model
from devicelab.errors import ConfigError, ModelFileError


def test_ideal_adc_codes_at_and_around_transitions():
    adc = ideal_adc(3, -0.5, 0.5)  # LSB 0.125 V, transitions -0.375 .. 0.375 V (exact in binary)
    v = np.array([-1.0, -0.5, -0.37501, -0.375, 0.0, 0.37499, 0.375, 0.5, 5.0])
    np.testing.assert_array_equal(adc.convert(v), [0, 0, 0, 1, 4, 6, 7, 7, 7])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("deviation", [0.0, 0.4, 1.7, 9.0, "missing codes"])  # LSB
def test_convert_counts_the_transitions_at_or_below_the_input(rng, dtype, deviation):
    # reference: a binary search over the transition levels (code = #{k : T_k <= v}), at the levels
    # themselves, just below them, outside the range and at +-inf; NaN gives code 0. Repeated levels
    # (missing codes) take the binary-search path of the model.
    for bits in (3, 8):
        t = ideal_adc(bits, 0.0, 1.0).transitions
        if deviation == "missing codes":
            t = t.copy()
            t[1::3] = t[0::3][: t[1::3].size]
        else:
            t = np.sort(t + rng.uniform(-deviation, deviation, 2**bits - 1) / 2**bits)
        adc = ADCModel(bits, 0.0, 1.0, t)
        t_cast = t.astype(dtype)
        v = np.concatenate([rng.uniform(-0.2, 1.2, 20000), t, np.nextafter(t_cast, -1), [-np.inf, np.inf]])
        v = v.astype(dtype)
        np.testing.assert_array_equal(adc.convert(v), np.searchsorted(t_cast, v, side="right"))
        assert adc.convert(np.array([np.nan], dtype=dtype))[0] == 0


def test_convert_accepts_scalars():
    adc = ideal_adc(4, 0.0, 1.0)
    assert adc.convert(0.5) == 8 and adc.convert(np.float32(0.49)) == 7
    with_missing = ADCModel(2, 0.0, 1.0, np.array([0.25, 0.25, 0.75]))  # binary-search path
    assert with_missing.convert(0.5) == 2 and with_missing.convert(np.nan) == 0


def test_convert_keeps_shape_and_does_not_modify_its_input():
    adc = ideal_adc(4, 0.0, 1.0)
    v = np.linspace(-0.1, 1.1, 24).reshape(2, 3, 4)
    before = v.copy()
    codes = adc.convert(v)
    assert codes.shape == v.shape and codes.dtype == np.int32
    np.testing.assert_array_equal(v, before)


def test_float32_inputs_give_the_float64_codes_away_from_transitions(rng):
    adc = ideal_adc(6, 0.0, 1.0)
    v = rng.uniform(-0.05, 1.05, 10000)
    # float32 rounding moves an input by < 1e-7 V; keep inputs further than that from any transition
    v = v[np.min(np.abs(v[:, None] - adc.transitions[None, :]), axis=1) > 1e-6]
    np.testing.assert_array_equal(adc.convert(v.astype(np.float32)), adc.convert(v))


def test_reconstruct_returns_nominal_code_centres():
    adc = ideal_adc(2, 0.0, 0.8)
    centres = adc.reconstruct(np.array([0, 1, 2, 3]), dtype=np.float64)
    np.testing.assert_allclose(centres, [0.1, 0.3, 0.5, 0.7], rtol=0, atol=1e-15)
    assert adc.reconstruct(np.array([1])).dtype == np.float32  # network-level default


def test_reconstruct_then_convert_is_the_identity_for_an_ideal_adc():
    adc = ideal_adc(8, -1.0, 1.0)
    codes = np.arange(256)
    np.testing.assert_array_equal(adc.convert(adc.reconstruct(codes)), codes)


def test_reconstruct_rejects_out_of_range_or_non_integer_codes():
    adc = ideal_adc(3, 0.0, 1.0)
    with pytest.raises(ConfigError, match=r"\[0, 7\]"):
        adc.reconstruct(np.array([8]))
    with pytest.raises(ConfigError, match="integers"):
        adc.reconstruct(np.array([1.0]))


def test_transfer_table_model_uses_its_own_transitions():
    # a 2-bit converter with offset and one wide code
    adc = ADCModel(2, 0.0, 1.0, np.array([0.3, 0.6, 0.7]))
    np.testing.assert_array_equal(adc.convert(np.array([0.29, 0.3, 0.55, 0.65, 0.71])), [0, 1, 1, 2, 3])
    lin = adc.linearity()
    assert lin.offset_endpoint == pytest.approx(0.05)


def test_noise_gives_the_gaussian_probability_of_the_upper_code(rng):
    # input one sigma above a transition: P(upper) = Phi(1) = 0.8413; with 40000 samples the binomial std is
    # 0.0018, bounds 4 std. At the transition P = 1/2.
    sigma = 0.01
    adc = ADCModel(3, 0.0, 0.8, ideal_adc(3, 0.0, 0.8).transitions, noise_sigma=sigma)
    t = adc.transitions[3]
    assert np.mean(adc.convert(np.full(40000, t + sigma), rng) >= 4) == pytest.approx(norm.cdf(1.0), abs=0.0075)
    assert np.mean(adc.convert(np.full(40000, t), rng) >= 4) == pytest.approx(0.5, abs=0.01)


def test_noisy_model_needs_an_rng():
    adc = ADCModel(3, 0.0, 0.8, ideal_adc(3, 0.0, 0.8).transitions, noise_sigma=0.01)
    with pytest.raises(ConfigError, match="rng"):
        adc.convert(np.zeros(3))


@pytest.mark.parametrize("kwargs", [dict(transitions=np.array([0.3, 0.2, 0.7])), dict(transitions=np.zeros(4)),
                                    dict(noise_sigma=-0.1), dict(v_min=1.0), dict(bits=0),
                                    dict(energy_per_conversion=-1.0)])
def test_model_rejects_invalid_parameters(kwargs):
    args = dict(bits=2, v_min=0.0, v_max=1.0, transitions=np.array([0.25, 0.5, 0.75]))
    args.update(kwargs)
    with pytest.raises(ConfigError):
        ADCModel(**args)


def test_dac_quantization_hits_both_ends_and_clips():
    x = np.array([-5.0, -1.0, 1.0, 7.0])
    np.testing.assert_array_equal(quantize_dac(x, 3, -1.0, 1.0), [-1.0, -1.0, 1.0, 1.0])


def test_dac_quantization_has_2_to_the_bits_levels_and_half_step_error(rng):
    x = rng.uniform(0.0, 2.0, 100000)
    q = quantize_dac(x, 4, 0.0, 2.0)
    step = 2.0 / 15
    assert np.unique(q).size == 16
    assert np.max(np.abs(q - x)) <= step / 2 + 1e-12
    np.testing.assert_allclose(np.unique(q), np.arange(16) * step, atol=1e-12)


def test_dac_quantization_rounds_ties_to_even_levels():
    # levels 0, 1/3, 2/3, 1: 1/6 is halfway between levels 0 and 1 -> 0; 1/2 between 1 and 2 -> 2/3
    np.testing.assert_allclose(quantize_dac(np.array([1 / 6, 0.5]), 2, 0.0, 1.0), [0.0, 2 / 3])


def test_dac_quantization_keeps_float32_and_does_not_modify_its_input():
    x = np.linspace(-0.2, 1.2, 11, dtype=np.float32)
    before = x.copy()
    q = quantize_dac(x, 2, 0.0, 1.0)
    assert q.dtype == np.float32
    np.testing.assert_array_equal(x, before)


def test_dac_quantization_rejects_bad_ranges():
    with pytest.raises(ConfigError):
        quantize_dac(np.zeros(2), 4, 1.0, 0.0)
    with pytest.raises(ConfigError):
        quantize_dac(np.zeros(2), 0, 0.0, 1.0)


def _model():
    t = ideal_adc(3, 0.0, 0.8).transitions + np.array([0.01, 0, -0.02, 0, 0.015, 0, 0.005])
    table = {"n_inputs": 3, "fraction_exact": 2 / 3, "max_abs_code_error": 1, "mean_abs_code_error": 1 / 3,
             "ideal_fraction_exact": 1 / 3, "noise_in_comparison": False, "inputs": np.array([0.1, 0.4, 0.7]),
             "spice_codes": np.array([1, 4, 6]), "model_codes": np.array([1, 4, 7])}
    return ADCModel(3, 0.0, 0.8, t, 0.002, "sar", table, {"ngspice_version": "39", "netlist_sha256": ["ab"]},
                    energy_per_conversion=1.5e-12, t_conversion=80e-9)


def test_model_file_round_trip(tmp_path):
    model = _model()
    loaded = load_adc_model(save_adc_model(model, tmp_path / "adc.h5"))
    assert (loaded.bits, loaded.v_min, loaded.v_max, loaded.noise_sigma, loaded.kind) == (3, 0.0, 0.8, 0.002, "sar")
    np.testing.assert_array_equal(loaded.transitions, model.transitions)
    assert loaded.error_table["fraction_exact"] == pytest.approx(2 / 3)
    assert loaded.error_table["max_abs_code_error"] == 1
    np.testing.assert_array_equal(loaded.error_table["model_codes"], [1, 4, 7])
    assert loaded.provenance == model.provenance
    assert (loaded.energy_per_conversion, loaded.t_conversion) == (1.5e-12, 80e-9)
    assert np.isnan(load_adc_model(save_adc_model(ideal_adc(2, 0.0, 1.0), tmp_path / "i.h5")).t_conversion)
    with h5py.File(tmp_path / "adc.h5") as h5:
        assert h5["transitions"].attrs["units"] == "V" and h5["dnl"].attrs["units"] == "LSB"


def test_model_file_with_unknown_version_is_refused(tmp_path):
    path = save_adc_model(_model(), tmp_path / "adc.h5")
    with h5py.File(path, "r+") as h5:
        h5.attrs["format_version"] = 2
    with pytest.raises(ModelFileError, match=r"format_version .*2.* not supported"):
        load_adc_model(path)


def test_model_file_of_another_format_is_refused(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["format"] = "devicelab.pcm_model"
        h5.attrs["format_version"] = 1
    with pytest.raises(ModelFileError, match="devicelab.adc_model"):
        load_adc_model(path)


def test_model_file_with_bad_transitions_is_refused(tmp_path):
    path = save_adc_model(_model(), tmp_path / "adc.h5")
    with h5py.File(path, "r+") as h5:
        del h5["transitions"]
        h5["transitions"] = np.array([0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    with pytest.raises(ModelFileError, match="adc.h5"):
        load_adc_model(path)


def test_non_hdf5_file_is_refused(tmp_path):
    path = tmp_path / "adc.h5"
    path.write_text("not hdf5")
    with pytest.raises(ModelFileError, match="cannot open"):
        load_adc_model(path)
