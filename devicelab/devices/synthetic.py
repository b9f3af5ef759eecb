"""Synthetic measurement data generated from a :class:`~devicelab.devices.PCMModel`.

Every function takes the truth model and a ``rng: numpy.random.Generator`` and returns the same table types
the file readers return (:class:`~devicelab.measurements.MeasurementTable`,
:class:`~devicelab.measurements.IVTable`), so fits can be checked against known constants. Units are SI:
conductances in S, times in s, temperatures in K, voltages in V, currents in A, frequencies in Hz.

Devices are programmed once (``model.program``, ``model.drift_exponents``) and read at many times
(``model.read``), exactly as the model prescribes. Rows are ordered device by device, reads in time order.

1/f read-noise convention (:func:`one_over_f_noise`, :func:`read_noise_series`): the relative fluctuation
x(t) = (G(t) - G_0) / G_0 has the one-sided power spectral density

    S_G(f) / G^2 = Q_s(G)^2 / f        (1/Hz; one-sided, integrated over f > 0 gives the variance)

so integrating from the slowest frequency seen by a read at time t, 1/t, to the read bandwidth
1/(2 t_read) gives Q_s^2 ln(t / (2 t_read)), the read-noise variance of :meth:`PCMModel.read_noise_sigma`.
A periodogram or ``scipy.signal.welch(..., scaling="density")`` of the series estimates S_G(f)/G^2 directly.
"""

from __future__ import annotations

import numpy as np

from devicelab.devices.pcm import PCMModel
from devicelab.errors import ConfigError
from devicelab.measurements.table import IVTable, MeasurementTable


def _device_targets(g_targets, devices_per_level: int) -> np.ndarray:
    """Target conductance (S) of every device: each level repeated ``devices_per_level`` times."""
    g_targets = np.atleast_1d(np.asarray(g_targets, dtype=float))
    if g_targets.ndim != 1 or g_targets.size == 0:
        raise ConfigError("g_targets must be a non-empty 1-D sequence of conductances in S")
    if not np.all(np.isfinite(g_targets)) or np.any(g_targets <= 0):
        raise ConfigError(f"g_targets must be finite and > 0 S, got {g_targets}")
    if int(devices_per_level) != devices_per_level or devices_per_level < 1:
        raise ConfigError(f"devices_per_level must be a positive integer, got {devices_per_level}")
    return np.repeat(g_targets, int(devices_per_level))


def _read_times(times) -> np.ndarray:
    """Validated, distinct read times in s (>= 0, finite)."""
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if times.ndim != 1 or times.size == 0:
        raise ConfigError("read times must be a non-empty 1-D sequence in s")
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ConfigError(f"read times must be finite and >= 0 s, got {times}")
    if np.unique(times).size != times.size:
        raise ConfigError("read times must be distinct (a device is read once per time)")
    return times


def _long_table(g_target_dev, reads, times, source, temperature_dev=None, first_code=0) -> MeasurementTable:
    """Long table from per-device targets and a (n_times, n_devices) read matrix, device-major order."""
    n_times, n_dev = reads.shape
    codes = np.arange(first_code, first_code + n_dev, dtype=np.int64)
    return MeasurementTable(
        device=np.repeat(codes, n_times),
        g_target=np.repeat(g_target_dev, n_times),
        t=np.tile(times, n_dev),
        g=reads.T.reshape(-1).copy(),
        temperature=None if temperature_dev is None else np.repeat(temperature_dev, n_times),
        device_labels=np.arange(first_code + n_dev, dtype=np.int64),
        source=source,
    )


def drift_table(model: PCMModel, g_targets, devices_per_level: int, times, rng: np.random.Generator,
                *, temperature: float | None = None) -> MeasurementTable:
    """Program ``devices_per_level`` devices to each target (S) and read each of them at every time (s).

    ``temperature`` (K), if given, is the device temperature during the whole run (it accelerates drift
    when the model has an activation energy) and is stored in the table's temperature column.
    """
    g_target_dev = _device_targets(g_targets, devices_per_level)
    times = _read_times(times)
    g_prog = model.program(g_target_dev, rng)
    nu = model.drift_exponents(g_target_dev, rng)
    reads = np.stack([model.read(g_prog, nu, t, rng, temperature) for t in times])
    temp_dev = None if temperature is None else np.full(g_target_dev.size, float(temperature))
    return _long_table(g_target_dev, reads, times, f"synthetic drift run ({model.name})", temp_dev)


def program_table(model: PCMModel, g_targets, devices_per_level: int, rng: np.random.Generator,
                  *, t: float | None = None) -> MeasurementTable:
    """Programming results: one read per device at time ``t`` (s) after programming (default ``model.t0``).

    At t = t0 the read is G_prog with read noise only (no drift), the model's reference point.
    """
    read_time = model.t0 if t is None else float(t)
    table = drift_table(model, g_targets, devices_per_level, [read_time], rng)
    return MeasurementTable(device=table.device, g_target=table.g_target, t=table.t, g=table.g,
                            device_labels=table.device_labels, source=f"synthetic programming run ({model.name})")


def bake_table(model: PCMModel, g_targets, devices_per_level: int, times, temperatures,
               rng: np.random.Generator) -> MeasurementTable:
    """A bake experiment: a fresh set of devices per temperature (K), each read at every time (s).

    Drift is accelerated by the model's Arrhenius law (no acceleration when ``activation_energy`` is None).
    Device codes are distinct across temperatures.
    """
    temperatures = np.atleast_1d(np.asarray(temperatures, dtype=float))
    if temperatures.ndim != 1 or temperatures.size == 0 or np.any(~np.isfinite(temperatures) | (temperatures <= 0)):
        raise ConfigError(f"temperatures must be a non-empty sequence of finite values > 0 K, got {temperatures}")
    parts = [drift_table(model, g_targets, devices_per_level, times, rng, temperature=temp) for temp in temperatures]
    n_dev = parts[0].n_devices
    return MeasurementTable(
        device=np.concatenate([p.device + k * n_dev for k, p in enumerate(parts)]),
        g_target=np.concatenate([p.g_target for p in parts]),
        t=np.concatenate([p.t for p in parts]),
        g=np.concatenate([p.g for p in parts]),
        temperature=np.concatenate([p.temperature for p in parts]),
        device_labels=np.arange(n_dev * len(parts), dtype=np.int64),
        source=f"synthetic bake run ({model.name})",
    )


def one_over_f_noise(amplitude, n_samples: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """Relative 1/f fluctuations with one-sided PSD ``amplitude**2 / f`` (1/Hz), one row per amplitude.

    White Gaussian noise is shaped in the frequency domain: its real FFT (E|W_m|^2 = n) is multiplied by
    sqrt(fs * S(f_m) / 2), which makes the one-sided periodogram 2 |X_m|^2 / (n fs) an unbiased estimate
    of S(f_m). The DC bin is zeroed, so every row has zero mean.

    Parameters
    ----------
    amplitude : array_like
        Q_s per series (dimensionless); the output has shape ``amplitude.shape + (n_samples,)``.
    n_samples : int
        Samples per series.
    fs : float
        Sample rate, Hz.
    """
    amplitude = np.asarray(amplitude, dtype=float)
    if int(n_samples) != n_samples or n_samples < 2:
        raise ConfigError(f"n_samples must be an integer >= 2, got {n_samples}")
    if not (np.isfinite(fs) and fs > 0):
        raise ConfigError(f"sample rate fs must be finite and > 0 Hz, got {fs}")
    if np.any(~np.isfinite(amplitude) | (amplitude < 0)):
        raise ConfigError("1/f amplitudes must be finite and >= 0")
    n = int(n_samples)
    freqs = np.fft.rfftfreq(n, d=1.0 / fs)
    shape = np.zeros_like(freqs)
    shape[1:] = np.sqrt(fs / (2.0 * freqs[1:]))
    white = rng.standard_normal(amplitude.shape + (n,))
    spectrum = np.fft.rfft(white, axis=-1) * shape
    return np.fft.irfft(spectrum, n=n, axis=-1) * amplitude[..., None]


def read_noise_series(model: PCMModel, g_targets, n_samples: int, fs: float, rng: np.random.Generator,
                      *, devices_per_level: int = 1, t_start: float | None = None) -> MeasurementTable:
    """Continuous read-noise time series: each device is read ``n_samples`` times at ``fs`` Hz.

    G(t_k) = G_base(t_k) (1 + x_k) with x of relative PSD Q_s(G_prog)^2 / f (module docstring) and
    t_k = k / fs (s). G_base is G_prog when ``t_start`` is None (no drift over the series); otherwise it
    drifts as ``model.drift(G_prog, nu, t_start + t_k)``. Results are clipped to [0, model.g_clip].
    """
    g_target_dev = _device_targets(g_targets, devices_per_level)
    g_prog = model.program(g_target_dev, rng)
    times = np.arange(int(n_samples), dtype=float) / fs
    x = one_over_f_noise(model.q_s(g_prog), n_samples, fs, rng)
    if t_start is None:
        base = g_prog[:, None]
    else:
        nu = model.drift_exponents(g_target_dev, rng)
        base = model.drift(g_prog[:, None], nu[:, None], float(t_start) + times[None, :])
    reads = np.clip(base * (1.0 + x), 0.0, model.g_clip)
    return _long_table(g_target_dev, reads.T, times, f"synthetic read-noise series ({model.name}, fs={fs:g} Hz)")


def iv_sweeps(model: PCMModel, g_targets, devices_per_level: int, voltages, rng: np.random.Generator,
              *, rel_noise: float = 0.01) -> IVTable:
    """Read I-V sweeps: devices programmed to each target (S), current (A) at every voltage (V).

    I = G_prog V0 sinh(V / V0) (``model.current``; ohmic when ``model.v0`` is None) times
    (1 + rel_noise N(0, 1)), an independent relative measurement error per point.
    """
    g_target_dev = _device_targets(g_targets, devices_per_level)
    voltages = np.atleast_1d(np.asarray(voltages, dtype=float))
    if voltages.ndim != 1 or voltages.size == 0 or not np.all(np.isfinite(voltages)):
        raise ConfigError("voltages must be a non-empty 1-D sequence of finite values in V")
    if not (np.isfinite(rel_noise) and rel_noise >= 0):
        raise ConfigError(f"rel_noise must be finite and >= 0, got {rel_noise}")
    g_prog = model.program(g_target_dev, rng)
    current = model.current(g_prog[:, None], voltages[None, :])
    current = current * (1.0 + rel_noise * rng.standard_normal(current.shape))
    n_dev, n_v = current.shape
    return IVTable(
        device=np.repeat(np.arange(n_dev, dtype=np.int64), n_v),
        v=np.tile(voltages, n_dev),
        i=current.reshape(-1),
        g_target=np.repeat(g_target_dev, n_v),
        device_labels=np.arange(n_dev, dtype=np.int64),
        source=f"synthetic I-V sweeps ({model.name})",
    )
