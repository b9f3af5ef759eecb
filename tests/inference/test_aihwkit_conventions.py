"""The README's "Reproducing an aihwkit run" mapping, checked formula by formula.

aihwkit is not installed; its PCMLikeNoiseModel / SinglePairConductanceConverter arithmetic is written out
below as in its source (inference/noise/pcm.py, inference/converter/conductance.py, in uS) and compared with
devicelab's joshi2020 preset (in S) under the README's conventions: devicelab time = aihwkit t_inference +
t_0 (20 s), per-tile scaling. Both are float64 closed forms, so they must agree to rounding (rtol 1e-12).
"""

import numpy as np
import pytest

from devicelab.devices import preset
from devicelab.inference.mapping import DifferentialConverter

UM = 1e-6
G_MAX_US, T0, T_READ = 25.0, 20.0, 250e-9
RTOL = 1e-12


def aihwkit_prog_sigma_us(g_us):
    x = g_us / G_MAX_US
    return 0.26348 + 1.9650 * x - 1.1731 * x**2  # prog_coeff_g_max_reference = g_max = 25 uS


def aihwkit_nu_stats(g_us):
    g_rel = np.maximum(np.abs(g_us / G_MAX_US), 1e-7)
    mu = np.clip(-0.0155 * np.log(g_rel) + 0.0244, 0.049, 0.1)
    sig = np.clip(-0.0125 * np.log(g_rel) - 0.0059, 0.008, 0.045)
    return mu, sig


def aihwkit_drift_and_read_sigma(g_prog_us, nu, t_inference):
    t = t_inference + T0
    g_drift = g_prog_us * (t / T0) ** (-nu) if t > T0 else g_prog_us
    q_s = np.minimum(0.0088 / np.maximum((np.abs(g_prog_us) / G_MAX_US) ** 0.65, 1e-3), 0.2)
    return g_drift, q_s * np.sqrt(np.log((t + T_READ) / (2 * T_READ)))


@pytest.fixture
def pcm():
    return preset("joshi2020")


G_US = np.array([0.0, 1e-4, 0.01, 0.3, 1.0, 5.0, 12.5, 24.0, 25.0])


def test_programming_noise_law_is_aihwkits(pcm):
    np.testing.assert_allclose(pcm.sigma_prog(G_US * UM), aihwkit_prog_sigma_us(G_US) * UM, rtol=RTOL)


def test_drift_exponent_statistics_are_aihwkits_including_off_devices(pcm):
    mu, sig = pcm.nu_stats(G_US * UM)
    mu_ref, sig_ref = aihwkit_nu_stats(G_US)
    np.testing.assert_allclose(mu, mu_ref, rtol=RTOL)
    np.testing.assert_allclose(sig, sig_ref, rtol=RTOL)


@pytest.mark.parametrize("t_inference", [0.0, 1.0, 3600.0, 86400.0, 2592000.0, 31536000.0])
def test_devicelab_time_is_aihwkit_t_inference_plus_t0(pcm, t_inference):
    nu = np.linspace(0.0, 0.12, G_US.size)
    g_drift_ref, sigma_ref = aihwkit_drift_and_read_sigma(G_US, nu, t_inference)
    t = t_inference + pcm.t0
    np.testing.assert_allclose(pcm.drift(G_US * UM, nu, t), g_drift_ref * UM, rtol=RTOL)
    np.testing.assert_allclose(pcm.read_noise_sigma(G_US * UM, t), sigma_ref, rtol=RTOL)


def test_reading_at_t_inference_itself_would_not_be_aihwkits(pcm):
    """The offset matters: at 1 h, reading at 3600 s instead of 3620 s changes the drift factor by
    (3620 / 3600)^-0.05 - 1 = -2.8e-4 at nu = 0.05, above the 1e-4 tolerance."""
    nu = np.full(3, 0.05)
    g_ref, _ = aihwkit_drift_and_read_sigma(np.full(3, 10.0), nu, 3600.0)
    assert not np.allclose(pcm.drift(np.full(3, 10.0 * UM), nu, 3600.0), g_ref * UM, rtol=1e-4, atol=0)


def test_per_tile_scaling_is_aihwkits_single_pair_converter(rng):
    w = rng.standard_normal((40, 30))
    scale_ratio = G_MAX_US / np.abs(w).max()  # aihwkit: (g_max - g_min) / abs_max, g_min = 0
    g_plus_ref = np.clip(w * scale_ratio, 0.0, G_MAX_US)
    g_minus_ref = np.clip(-w * scale_ratio, 0.0, G_MAX_US)
    g_plus, g_minus, scale = DifferentialConverter(G_MAX_US * UM, "tile").convert(w)
    np.testing.assert_allclose(g_plus, g_plus_ref * UM, rtol=RTOL, atol=0)
    np.testing.assert_allclose(g_minus, g_minus_ref * UM, rtol=RTOL, atol=0)
    np.testing.assert_allclose(scale, 1.0 / (scale_ratio * UM), rtol=RTOL)  # weight units per S
