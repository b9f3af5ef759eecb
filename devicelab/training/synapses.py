"""In-memory training on analog tiles: pulsed synapse arrays, analog forward/backward MVMs, update schemes.

A weight is stored on differential device pairs: W = w_scale * sum_k (G+_k - G-_k) / (N dG), with
dG = g_max - g_min the usable conductance range of one device and N
devices per side (N = 1: the plain differential pair; N > 1: the multi-device synapse of Boybat et al. 2018,
where each update goes to one device picked by a global arbitration counter). Devices change only through
programming pulses drawn from an :class:`~devicelab.devices.update.UpdateModel`; potentiation of W is a SET
pulse on G+, depression a SET pulse on G- (the PCM way: RESET is abrupt, so it is kept for refresh).
When a device of a pair nears saturation, a *refresh* reads the weight, RESETs both sides and reprograms
the difference with SET pulses (program-and-verify).

MVMs (:func:`analog_mvm`): inputs are scaled per vector by their max-abs value and quantized by a DAC; the
weights are the devices' conductances with a fresh Gaussian read noise per device and per input vector
(applied exactly as output noise of the matching variance); outputs are quantized by an ADC with a fixed
range ``out_bound`` (in units of a full-scale input times a full-scale weight) and scaled back. The backward
pass uses the same tile transposed. Weight gradients are outer products computed digitally.

Update schemes, given the digital weight change dW = -lr * gradient (weight units):
- ``sgd``: pulsed in-situ SGD: p = round(dW / epsilon) pulses now, remainder lost;
- ``mixed-precision``: Nandakumar et al. 2018/2020: chi += dW; p = trunc(chi / epsilon); chi -= p epsilon;
where epsilon = w_scale * (mean SET step at g_min) / (N dG) is the device granularity in weight units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devicelab.devices.update import RESET, SET, UpdateModel
from devicelab.errors import ConfigError

SCHEMES = ("sgd", "mixed-precision")


@dataclass(frozen=True)
class TileIO:
    """Periphery of an analog tile.

    Attributes
    ----------
    dac_bits, adc_bits : int
        Resolution of input DACs and output ADCs (signed, symmetric), bits; 0 disables quantization.
    out_bound : float
        ADC full scale in units of (full-scale input x full-scale weight); outputs beyond it clip.
    read_noise : bool
        Whether reads add the device model's read noise.
    """

    dac_bits: int = 8
    adc_bits: int = 8
    out_bound: float = 10.0
    read_noise: bool = True

    def __post_init__(self):
        if not (0 <= self.dac_bits <= 24 and 0 <= self.adc_bits <= 24 and self.out_bound > 0):
            raise ConfigError(f"TileIO: bits must be in 0..24 and out_bound > 0, got {self}")


def quantize(x: np.ndarray, bits: int, full_scale: float) -> np.ndarray:
    """Round ``x`` to a signed ``bits``-bit grid over [-full_scale, full_scale] and clip; 0 bits: clip only."""
    x = np.clip(x, -full_scale, full_scale)
    if bits <= 0:
        return x
    lsb = full_scale / (2 ** (bits - 1) - 1)
    return np.round(x / lsb) * lsb


def analog_mvm(x: np.ndarray, w_norm: np.ndarray, io: TileIO, rng: np.random.Generator,
               noise_var: np.ndarray | None = None) -> np.ndarray:
    """y = x @ w_norm.T through DAC, noisy devices and ADC; float32.

    ``x``: (batch, in); ``w_norm``: (out, in) weights in units of the full-scale weight (|w| <= 1 nominally);
    ``noise_var``: read-noise variance per weight in the same units squared: a scalar (the same for every
    weight), an (out, in) array, or None (no noise).
    """
    x = np.asarray(x, np.float32)
    scale = np.max(np.abs(x), axis=1, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    xq = quantize(x / scale, io.dac_bits, 1.0).astype(np.float32)
    y = xq @ w_norm.T
    if noise_var is not None:
        # Independent read noise per device and per input vector: y_j gains N(0, sum_i x_i^2 var_ji).
        if np.ndim(noise_var) == 0:
            std = np.sqrt(np.float32(noise_var) * np.sum(xq * xq, axis=1, keepdims=True))
        else:
            std = np.sqrt(np.maximum((xq * xq) @ np.asarray(noise_var, np.float32).T, 0.0))
        y = y + std * rng.standard_normal(y.shape, dtype=np.float32)
    return quantize(y, io.adc_bits, io.out_bound).astype(np.float32) * scale


def mixed_precision_pulses(chi: np.ndarray, dw: np.ndarray, epsilon: float, max_pulses: int):
    """The chi-accumulator step of mixed-precision training (weight units).

    chi' = chi + dw; p = trunc(chi' / epsilon) limited to +-max_pulses; chi'' = chi' - p epsilon.
    Returns ``(p, chi'')`` with p int32 (positive: potentiate, negative: depress). Inputs are unchanged.
    """
    if not epsilon > 0:
        raise ConfigError(f"epsilon must be > 0, got {epsilon}")
    acc = np.asarray(chi, np.float64) + np.asarray(dw, np.float64)
    pulses = np.clip(np.trunc(acc / epsilon), -max_pulses, max_pulses)
    return pulses.astype(np.int32), (acc - pulses * epsilon).astype(np.asarray(chi).dtype)


def sgd_pulses(dw: np.ndarray, epsilon: float, max_pulses: int) -> np.ndarray:
    """Pulsed in-situ SGD: p = round(dw / epsilon) limited to +-max_pulses (int32); the remainder is dropped."""
    if not epsilon > 0:
        raise ConfigError(f"epsilon must be > 0, got {epsilon}")
    return np.clip(np.rint(np.asarray(dw, np.float64) / epsilon), -max_pulses, max_pulses).astype(np.int32)


@dataclass(frozen=True)
class SynapseConfig:
    """How weights sit on devices and are maintained.

    Attributes
    ----------
    devices_per_side : int
        N devices per polarity (Boybat et al. 2018 multi-device synapse for N > 1).
    refresh_threshold : float
        A pair is refreshed when one of its devices is above g_min + refresh_threshold (g_max - g_min).
    refresh_every : int
        Check for refresh every this many updates (0: never refresh).
    max_pulses : int
        Most pulses one device gets in one update.
    program_max_pulses : int
        Most SET pulses of a program-and-verify (initial programming and refresh).
    """

    devices_per_side: int = 1
    refresh_threshold: float = 0.85
    refresh_every: int = 10
    max_pulses: int = 10
    program_max_pulses: int = 200

    def __post_init__(self):
        if not (self.devices_per_side >= 1 and 0 < self.refresh_threshold <= 1 and self.refresh_every >= 0
                and self.max_pulses >= 1 and self.program_max_pulses >= 1):
            raise ConfigError(f"SynapseConfig: invalid values {self}")


class PulsedSynapses:
    """Device conductances of one weight matrix (out, in) on differential pairs; changed only by pulses.

    State (arrays of shape (N, out, in), float64 in S, or counters): ``g_plus``, ``g_minus``, the
    same-polarity pulse counts since RESET ``n_plus``, ``n_minus`` and the per-device step scales.
    """

    def __init__(self, shape: tuple[int, int], model: UpdateModel, w_scale: float, config: SynapseConfig,
                 rng: np.random.Generator):
        if not w_scale > 0:
            raise ConfigError(f"w_scale must be > 0, got {w_scale}")
        self.model, self.w_scale, self.config = model, float(w_scale), config
        full = (config.devices_per_side,) + tuple(shape)
        reset_state = self._reset_state(full, rng)
        self.g_plus, self.g_minus = reset_state, self._reset_state(full, rng)
        self.n_plus, self.n_minus = np.zeros(full), np.zeros(full)
        self.scale_plus, self.scale_minus = model.device_scales(full, rng), model.device_scales(full, rng)
        self.counter = 0
        self.pulses = 0
        self.refreshes = 0
        self._cache: np.ndarray | None = None  # weights, recomputed after any pulse

    # ----------------------------------------------------------------- weights
    @property
    def g_range(self) -> float:
        """Usable conductance range of one device, g_max - g_min, S."""
        return self.model.g_max - self.model.g_min

    @property
    def epsilon(self) -> float:
        """Weight change of one mean SET pulse on a fresh device (weight units): the device granularity."""
        return self.w_scale * self.model.nominal_step() / (self.config.devices_per_side * self.g_range)

    def weights(self) -> np.ndarray:
        """Noise-free weights (out, in), float32, in weight units (a new array)."""
        cache = self._cache
        if cache is None:
            n = self.config.devices_per_side
            diff = (self.g_plus - self.g_minus).sum(axis=0)
            cache = self._cache = (self.w_scale / (n * self.g_range) * diff).astype(np.float32)
        return cache.copy()

    def normalized(self) -> tuple[np.ndarray, float | None]:
        """Weights in units of w_scale (float32) and the read-noise variance of one weight in the same units."""
        w = self.weights() / np.float32(self.w_scale)
        sigma = self.model.read_noise
        if sigma <= 0:
            return w, None
        n = self.config.devices_per_side
        return w, 2 * n * (sigma / (n * self.g_range)) ** 2  # 2N independent devices per weight

    # ----------------------------------------------------------------- pulses
    def apply(self, pulses: np.ndarray, rng: np.random.Generator) -> None:
        """Apply signed pulse counts (out, in): p > 0 SET pulses on G+, p < 0 on G- of the arbitrated device."""
        k = self.counter % self.config.devices_per_side
        self.counter += 1
        flat = np.asarray(pulses).reshape(-1)
        nz = np.flatnonzero(flat)
        if nz.size == 0:
            return
        self._cache = None
        counts = flat[nz]
        self.pulses += int(np.abs(counts).sum())
        for sign, g, n, scale in ((1, self.g_plus, self.n_plus, self.scale_plus),
                                  (-1, self.g_minus, self.n_minus, self.scale_minus)):
            sel = sign * counts > 0
            idx = nz[sel]
            if idx.size == 0:
                continue
            g_k, n_k, s_k = g[k].reshape(-1), n[k].reshape(-1), scale[k].reshape(-1)  # views
            g_k[idx], n_k[idx] = self.model.apply_pulses(g_k[idx], sign * counts[sel], SET, rng, n=n_k[idx],
                                                         scale=s_k[idx])

    def program(self, w_target: np.ndarray, rng: np.random.Generator, mask: np.ndarray | None = None) -> None:
        """RESET the pairs selected by ``mask`` (all by default) and program ``w_target`` (out, in) onto them.

        Program-and-verify with SET pulses, the target spread evenly over the N devices of the side of its
        sign: a device is pulsed while it is more than half a mean step below (other side + its share).
        """
        mask = np.ones(self.g_plus.shape[1:], bool) if mask is None else np.asarray(mask, bool)
        idx = np.nonzero(mask)
        if idx[0].size == 0:
            return
        self._cache = None
        n_dev = self.config.devices_per_side
        w = np.asarray(w_target, float)[idx]
        share = np.clip(np.abs(w) / self.w_scale, 0.0, 1.0) * self.g_range
        for k in range(n_dev):
            g_p = self._reset_state(idx[0].shape, rng, start=self.g_plus[k][idx])
            g_m = self._reset_state(idx[0].shape, rng, start=self.g_minus[k][idx])
            n_p, n_m = np.zeros(g_p.shape), np.zeros(g_m.shape)
            positive = w >= 0
            for g, n, scale, other, side in ((g_p, n_p, self.scale_plus[k][idx], g_m, positive),
                                             (g_m, n_m, self.scale_minus[k][idx], g_p, ~positive)):
                target = other + share
                for _ in range(self.config.program_max_pulses):
                    todo = side & (g + 0.5 * self.model.set_step(g=g, n=n) < target)
                    if not todo.any():
                        break
                    g[todo] = self.model.pulse(g[todo], SET, rng, n=n[todo], scale=scale[todo])
                    n[todo] += 1
                    self.pulses += int(todo.sum())
            self.g_plus[k][idx], self.g_minus[k][idx] = g_p, g_m
            self.n_plus[k][idx], self.n_minus[k][idx] = n_p, n_m

    def refresh(self, rng: np.random.Generator) -> int:
        """Refresh the pairs with a device above the refresh threshold; returns how many were refreshed.

        The weight is read once (with read noise), both sides are RESET and the read weight reprogrammed.
        """
        limit = self.model.g_min + self.config.refresh_threshold * self.g_range
        mask = (np.maximum(self.g_plus, self.g_minus) > limit).any(axis=0)
        count = int(mask.sum())
        if count:
            w_read = self.weights()
            _, var = self.normalized()
            if var is not None:
                w_read = w_read + self.w_scale * np.sqrt(var) * rng.standard_normal(w_read.shape)
            self.program(w_read, rng, mask)
            self.refreshes += count
        return count

    def _reset_state(self, shape, rng, start=None) -> np.ndarray:
        """Conductances (S) right after RESET: abrupt RESET draws g_reset; gradual RESET pulses down to g_min."""
        model = self.model
        if model.abrupt_reset is not None:
            return model.pulse(np.zeros(shape), RESET, rng)
        g = np.full(shape, model.g_min, float) if start is None else np.array(start, float)
        reset_step = model.reset_step
        if reset_step is None:  # UpdateModel: no abrupt RESET means a gradual one
            raise ConfigError(f"update model {model.name!r} has neither abrupt_reset nor reset_step")
        n = np.zeros(g.shape)
        for _ in range(self.config.program_max_pulses * 4):
            todo = g > model.g_min + reset_step(g=g, n=n)
            if not todo.any():
                break
            g[todo] = model.pulse(g[todo], RESET, rng, n=n[todo])
            n[todo] += 1
        return g
