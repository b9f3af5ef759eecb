"""Specification of the synthetic measurement generators: layout, stated moments and the 1/f PSD."""

import numpy as np
import pytest
from scipy import integrate

from devicelab.devices import LogLinearClip, PCMModel, PowerLawClip, synthetic
from devicelab.errors import ConfigError

MICRO = 1e-6


def truth_model(**changes) -> PCMModel:
    """A model with non-preset constants (narrow, unclipped laws) used as the truth in these tests."""
    model = PCMModel(
        g_max=20 * MICRO,
        prog_coeffs=(0.4 * MICRO, 0.8 * MICRO),
        nu_mean=LogLinearClip(a0=0.05, a1=-0.01, lo=0.0, hi=0.2),
        nu_std=LogLinearClip(a0=0.01, a1=0.0, lo=0.0, hi=0.1),
        read_noise=PowerLawClip(c=0.006, exponent=0.5, q_max=0.3),
        t0=10.0,
        t_read=1e-6,
        activation_energy=0.3,
        t_ref_temperature=300.0,
        v0=0.25,
        name="test-truth",
    )
    return model.replace(**changes)


QUIET = PowerLawClip(c=1e-9, exponent=0.0)  # read noise switched off (relative 1e-9)


def test_drift_table_layout_is_device_major_with_every_time_per_device(rng):
    times = [1.0, 10.0, 100.0]
    table = synthetic.drift_table(truth_model(), [5 * MICRO, 15 * MICRO], 4, times, rng)
    assert len(table) == 2 * 4 * 3
    assert table.n_devices == 8
    assert table.temperature is None
    np.testing.assert_array_equal(table.t.reshape(8, 3), np.tile(times, (8, 1)))
    np.testing.assert_array_equal(table.device.reshape(8, 3)[:, 0], np.arange(8))
    np.testing.assert_array_equal(table.levels(), [5 * MICRO, 15 * MICRO])
    assert np.all(table.g >= 0)


def test_same_seed_gives_identical_tables():
    args = (truth_model(), [5 * MICRO], 10, [20.0, 200.0])
    a = synthetic.drift_table(*args, np.random.default_rng(7))
    b = synthetic.drift_table(*args, np.random.default_rng(7))
    np.testing.assert_array_equal(a.g, b.g)


def test_drift_exponents_in_table_have_the_model_mean_and_spread(rng):
    # Read noise off: ln(G(t2)/G(t1)) / ln(t1/t2) is exactly each device's nu. With n = 20,000 devices the
    # mean has standard error sigma_nu/sqrt(n) and the std a relative one of 1/sqrt(2n) = 0.5%; allow 5 sigma.
    model = truth_model(read_noise=QUIET)
    g_target = 8 * MICRO
    n = 20_000
    table = synthetic.drift_table(model, [g_target], n, [100.0, 10_000.0], rng)
    g = table.g.reshape(n, 2)
    nu = np.log(g[:, 1] / g[:, 0]) / np.log(100.0 / 10_000.0)
    mu, sd = model.nu_stats(g_target)
    assert abs(nu.mean() - mu) < 5 * sd / np.sqrt(n)
    assert nu.std() == pytest.approx(sd, rel=5 / np.sqrt(2 * n))


def test_read_at_t0_has_programming_and_read_noise_variance(rng):
    # At t0 there is no drift; var(G) = sigma_prog^2 + (G Q_s)^2 ln(t0 / 2 t_read) to first order
    # (the read noise scales with G_prog, whose own spread changes the variance by < (sigma_prog/G)^2 ~ 1%).
    # n = 40,000 reads: the sample std has relative standard error 0.35%; allow 2.5% (7 sigma + the 1% bias).
    model = truth_model()
    g_target = 10 * MICRO
    n = 40_000
    table = synthetic.program_table(model, [g_target], n, rng)
    assert np.all(table.t == model.t0)
    read_rel = model.read_noise_sigma(g_target, model.t0)
    expected = np.sqrt(model.sigma_prog(g_target) ** 2 + (g_target * read_rel) ** 2)
    assert abs(table.g.mean() - g_target) < 5 * expected / np.sqrt(n)
    assert table.g.std() == pytest.approx(expected, rel=0.025)


def test_bake_table_accelerates_drift_by_the_arrhenius_factor(rng):
    # Read noise off, nu spread small: the mean log ratio at each temperature is -mu_nu ln(t_eff/t0),
    # t_eff = t * exp(Ea/kB (1/T_ref - 1/T)). Standard error of the mean is sigma_nu ln(.)/sqrt(n); allow 5 sigma.
    model = truth_model(read_noise=QUIET)
    n = 5_000
    temps = [300.0, 360.0]
    table = synthetic.bake_table(model, [10 * MICRO], n, [model.t0, 1000.0], temps, rng)
    assert table.n_devices == 2 * n
    np.testing.assert_array_equal(np.unique(table.temperature), temps)
    mu, sd = model.nu_stats(10 * MICRO)
    for temp in temps:
        sel = table.select(table.temperature == temp)
        g = sel.g.reshape(n, 2)
        t_eff = model.effective_time(1000.0, temp)
        log_ratio = np.log(g[:, 1] / g[:, 0])
        # at t0 the hot devices have already drifted: t_eff(t0) > t0, so compare with both effective times
        t_eff_first = max(model.effective_time(model.t0, temp), model.t0)
        expected = -mu * (np.log(t_eff / model.t0) - np.log(t_eff_first / model.t0))
        assert abs(log_ratio.mean() - expected) < 5 * sd * abs(np.log(t_eff / model.t0)) / np.sqrt(n)


def _one_sided_periodogram(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[-1]
    spec = 2.0 * np.abs(np.fft.rfft(x, axis=-1)) ** 2 / (n * fs)
    return np.fft.rfftfreq(n, 1.0 / fs)[1:-1], spec[..., 1:-1]


def test_one_over_f_noise_has_the_stated_psd_level_and_slope(rng):
    # 400 series of 4096 samples. f * P(f) / Q^2 is a mean-1 exponential per bin, so its mean over
    # 400 * 2047 values has standard error 0.11%; allow 0.6% (5 sigma). The log-log slope of the
    # series-averaged periodogram has standard error ~0.0011 (0.05 per point over ~2000 points); allow 0.01.
    q, fs, n = 0.02, 400.0, 4096
    x = synthetic.one_over_f_noise(np.full(400, q), n, fs, rng)
    assert x.shape == (400, n)
    f, p = _one_sided_periodogram(x, fs)
    assert np.mean(f * p) / q**2 == pytest.approx(1.0, abs=0.006)
    slope = np.polyfit(np.log(f), np.log(p.mean(axis=0)), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.01)


def test_one_over_f_noise_variance_is_the_integral_of_the_psd(rng):
    # Var = Q^2 (H_{n/2-1} + 1/n): every bin m contributes Q^2/m (Nyquist half). The per-series sample
    # variance has relative spread sqrt(sum 1/m^2)/H; over 400 series allow 5 standard errors.
    q, fs, n, series = 0.05, 100.0, 2048, 400
    x = synthetic.one_over_f_noise(np.full(series, q), n, fs, rng)
    m = np.arange(1, n // 2)
    expected = q**2 * (np.sum(1.0 / m) + 1.0 / n)
    rel_se = np.sqrt(np.sum(1.0 / m**2)) / np.sum(1.0 / m) / np.sqrt(series)
    assert np.mean(x**2) == pytest.approx(expected, rel=5 * rel_se)
    np.testing.assert_allclose(x.mean(axis=1), 0.0, atol=1e-15)


def test_psd_convention_integrates_to_the_model_read_noise_variance():
    # Integrating Q_s^2 / f from 1/t to 1/(2 t_read) must give the variance the model uses for a read at t.
    model = truth_model()
    g, t = 5 * MICRO, 3600.0
    q = float(model.q_s(g))
    integral, _ = integrate.quad(lambda f: q**2 / f, 1.0 / t, 1.0 / (2 * model.t_read), limit=200)
    assert integral == pytest.approx(float(model.read_noise_sigma(g, t)) ** 2, rel=1e-6)


def test_read_noise_series_relative_psd_is_q_s_squared_over_f(rng):
    # 64 devices at one level, 8192 samples at 400 Hz; the series mean is G_prog exactly (zero-mean noise).
    # f * P(f) / Q_s(G_prog)^2 averages 64 * 4095 unit exponentials: standard error 0.2%; allow 1% (5 sigma).
    model = truth_model()
    fs, n = 400.0, 8192
    table = synthetic.read_noise_series(model, [4 * MICRO], n, fs, rng, devices_per_level=64)
    g = table.g.reshape(64, n)
    np.testing.assert_allclose(table.t[:n], np.arange(n) / fs)
    g0 = g.mean(axis=1, keepdims=True)
    f, p = _one_sided_periodogram(g / g0 - 1.0, fs)
    level = np.mean(f * p / model.q_s(g0) ** 2)
    assert level == pytest.approx(1.0, abs=0.01)


def test_read_noise_series_with_t_start_follows_drift(rng):
    # Read noise off: the series is G_prog (t/t0)^-nu exactly, so consecutive log ratios share one nu.
    model = truth_model(read_noise=QUIET)
    table = synthetic.read_noise_series(model, [6 * MICRO], 100, 10.0, rng, devices_per_level=3, t_start=100.0)
    g = table.g.reshape(3, 100)
    t = 100.0 + np.arange(100) / 10.0
    nu = -np.log(g[:, -1] / g[:, 0]) / np.log(t[-1] / t[0])
    predicted = g[:, :1] * (t / t[0]) ** -nu[:, None]
    np.testing.assert_allclose(g, predicted, rtol=1e-6)


def test_iv_sweeps_follow_sinh_law_with_stated_relative_noise(rng):
    # Programming noise off (tiny coefficient): i / (g_target V0 sinh(V/V0)) - 1 is N(0, rel_noise).
    # 20,000 points: mean within 5 sigma/sqrt(n), std within 5/sqrt(2n) = 2.5% relative.
    model = truth_model(prog_coeffs=(1e-15,))
    v = np.linspace(-0.4, 0.4, 20)
    v = v[v != 0]
    iv = synthetic.iv_sweeps(model, [10 * MICRO], 1000, v, rng, rel_noise=0.02)
    assert len(iv) == 1000 * v.size and iv.n_devices == 1000
    ratio = iv.i / (iv.g_target * model.v0 * np.sinh(iv.v / model.v0)) - 1.0
    assert abs(ratio.mean()) < 5 * 0.02 / np.sqrt(ratio.size)
    assert ratio.std() == pytest.approx(0.02, rel=5 / np.sqrt(2 * ratio.size))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, r: synthetic.drift_table(m, [-1e-6], 2, [1.0], r),
        lambda m, r: synthetic.drift_table(m, [1e-6], 0, [1.0], r),
        lambda m, r: synthetic.drift_table(m, [1e-6], 2, [1.0, 1.0], r),
        lambda m, r: synthetic.drift_table(m, [1e-6], 2, [-1.0], r),
        lambda m, r: synthetic.bake_table(m, [1e-6], 2, [1.0], [0.0], r),
        lambda m, r: synthetic.one_over_f_noise([0.1], 1, 10.0, r),
        lambda m, r: synthetic.one_over_f_noise([0.1], 16, 0.0, r),
        lambda m, r: synthetic.iv_sweeps(m, [1e-6], 1, [np.nan], r),
    ],
    ids=["negative-target", "zero-devices", "repeated-times", "negative-time", "zero-kelvin",
         "one-sample", "zero-rate", "nan-voltage"],
)
def test_invalid_generator_arguments_raise_config_error(call, rng):
    with pytest.raises(ConfigError):
        call(truth_model(), rng)
