"""Digital MRAM processing-in-memory engine: quantized networks computed with in-memory AND, bit counting and
bit-serial addition, with the bit errors, energy and latency of a :class:`~devicelab.behavioral.bitops.BitOpsModel`.

Scheme (after the MRAM computational sub-arrays reviewed by Angizi & Fan, NANOARCH 2019). A weight layer's
product y_o = sum_i a_i W_io with unsigned ``act_bits``-bit activation codes a_i and weights
W_io = alpha_o s_io, s in {-1, +1} (binary) or {-1, 0, +1} (ternary), is computed bit-plane by bit-plane:

- the weight sign planes P = [s = +1] (and M = [s = -1] for ternary) are stored in the memory; activation
  bit-plane b, A_b = bit b of a, is written next to them;
- **AND**: one two-row sensing per (input, output, bit-plane, plane) gives A_b,i AND P_io;
- **bit counting**: the AND outputs of one output and bit-plane are counted by in-memory addition. This engine
  implements the **bit-serial in-memory adder tree** (the "in-memory full adder" scheme of the reviewed works):
  pairs of partial counts are added bit-serially, one full-adder step per bit position, each step a single
  three-row sensing whose thermometer code gives both the sum (parity) and the carry (majority) -- the
  operations ``fa_sum``/``fa_carry`` of the bit-operation model (``adder="fa3"``, the default). As an option
  (``adder="two_row"``) each full-adder step is instead built from five two-row sensings, s1 = a XOR b,
  sum = s1 XOR c, carry = (a AND b) OR (s1 AND c): slower and costlier, but every sensing has the wider margins
  of two rows (first-order error: 2 p_xor2 for the sum, p_and2 + p_and2 + p_or2 + p_xor2 for the carry).
  (Counting with a near-memory digital bit-counter, the alternative of the reviewed works, is not implemented.)
- binary weights: sum_i A_b,i s_io = 2 popcount(A_b AND P_o) - popcount(A_b); ternary: popcount(A_b AND P_o)
  - popcount(A_b AND M_o). Combining bit-planes (shift and add), scaling by alpha_o and the activation step,
  the bias, BatchNorm, ReLU and re-quantization run in exact digital logic next to the sub-array.

Errors. An AND output with k ones among its two inputs is wrong with the model's probability p_and2(k): the
counted ones are popcount + Bin(n_0, p(0)) + Bin(n_1, p(1)) - Bin(n_2, p(2)), with n_k the numbers of input
pairs holding k ones (exact in distribution). Each full-adder step at bit position j of the tree is wrong in
its sum (value +-2^j) or its carry (+-2^(j+1)) with the model's probabilities averaged over uniformly random
inputs, with a random sign; the number of steps per position is that of the tree. This first-order model of
the adder (errors do not interact) is checked against a bit-level simulation of the tree in the tests: it gets
the variance of the count error right; it misses the tree's upward bias (near the most significant positions
the true bits are mostly 0, so flips there are mostly 0 -> 1; measured +3.4 counts at 1 % per step, 64 inputs).
Stored weight bits flip with :meth:`BitOpsModel.stored_flip_probability` (retention and read disturb; MRAM
does not drift).

Cost. Every sensing is an operation of the model (energy, latency); every AND output and every full-adder
sum and carry is written back into the array (``write_energy``, ``write_latency`` per bit). Operations of the
same kind run in parallel over ``columns`` bit lines in each of ``subarrays`` sub-arrays; the latency of an
inference is the number of sequential steps times (sensing latency + write latency).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from devicelab.behavioral.bitops import BitOpsModel, ideal_bitops
from devicelab.errors import ConfigError
from devicelab.network.quantized import QuantizedMVM, quantize_activations, weight_signs

ADDERS = ("fa3", "two_row")
#: Sensings, written-back bits and sequential steps of one full-adder step per scheme.
_FA_COST: dict[str, dict[str, Any]] = {
    "fa3": {"sense": {"fa_sum": 1}, "writes": 2, "steps": 1},
    "two_row": {"sense": {"xor2": 2, "and2": 2, "or2": 1}, "writes": 5, "steps": 5},
}


def full_adder_errors(bitops: BitOpsModel, adder: str) -> tuple[float, float]:
    """First-order (sum, carry) error probabilities of one full-adder step of scheme ``adder`` (uniform inputs)."""
    if adder == "fa3":
        return bitops.mean_error("fa_sum"), bitops.mean_error("fa_carry")
    xor, and2, or2 = (bitops.mean_error(op) for op in ("xor2", "and2", "or2"))
    return min(1.0, 2 * xor), min(1.0, 2 * and2 + or2 + xor)


@dataclass(frozen=True)
class DigitalPIMConfig:
    """Array organization and write-back costs (stated assumptions, not simulated).

    ``columns``: bit lines sensed at once per sub-array; ``subarrays``: sub-arrays computing in parallel;
    ``adder``: full-adder scheme, "fa3" (one three-row sensing per step) or "two_row" (five two-row sensings);
    ``write_energy`` (J) and ``write_latency`` (s) per bit written back (an SOT-MRAM write of order 100 fJ and
    1 ns); ``reads_per_second``: sensings of each stored weight bit per second of storage (read disturb).
    """

    columns: int = 512
    subarrays: int = 64
    adder: str = "fa3"
    write_energy: float = 100e-15
    write_latency: float = 1e-9
    reads_per_second: float = 0.0

    def __post_init__(self):
        if self.adder not in ADDERS:
            raise ConfigError(f"DigitalPIMConfig.adder: expected one of {ADDERS}, got {self.adder!r}")
        for name in ("columns", "subarrays"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"DigitalPIMConfig.{name}: expected a positive integer, got {value!r}")
        for name in ("write_energy", "write_latency", "reads_per_second"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"DigitalPIMConfig.{name}: expected a finite value >= 0, got {value!r}")


def adder_tree_steps(n_inputs: int) -> np.ndarray:
    """Full-adder steps per bit position of a pairwise bit-serial adder tree counting ``n_inputs`` bits."""
    widths = [1] * int(n_inputs)
    steps = np.zeros(max(1, int(n_inputs).bit_length() + 1), dtype=np.int64)
    while len(widths) > 1:
        nxt = []
        for a, b in zip(widths[0::2], widths[1::2]):
            w = max(a, b)
            steps[:w] += 1
            nxt.append(w + 1)
        if len(widths) % 2:
            nxt.append(widths[-1])
        widths = nxt
    return steps


def popcount_bitlevel(bits: np.ndarray, bitops: BitOpsModel, rng: np.random.Generator) -> np.ndarray:
    """Bit-level simulation of the in-memory adder tree counting ``bits`` (M, N) with per-input-pattern errors.

    Every full-adder step draws its sum and carry errors from the model's probabilities for its own number of
    ones k. Reference for the first-order error model of :class:`DigitalPIMEngine` (slow: tests only).
    """
    p_sum, p_carry = np.asarray(bitops.error["fa_sum"]), np.asarray(bitops.error["fa_carry"])
    numbers = [b[:, None].astype(np.int8) for b in np.asarray(bits, dtype=bool).T]  # list of (M, width) LSB first
    while len(numbers) > 1:
        nxt = []
        for x, y in zip(numbers[0::2], numbers[1::2]):
            w = max(x.shape[1], y.shape[1])
            x = np.pad(x, ((0, 0), (0, w - x.shape[1])))
            y = np.pad(y, ((0, 0), (0, w - y.shape[1])))
            carry = np.zeros(x.shape[0], dtype=np.int8)
            out = np.empty((x.shape[0], w + 1), dtype=np.int8)
            for j in range(w):
                k = x[:, j] + y[:, j] + carry
                out[:, j] = (k % 2) ^ (rng.random(k.shape) < p_sum[k])
                carry = (k >= 2).astype(np.int8) ^ (rng.random(k.shape) < p_carry[k])
            out[:, w] = carry
            nxt.append(out)
        if len(numbers) % 2:
            nxt.append(numbers[-1])
        numbers = nxt
    return (numbers[0].astype(np.int64) << np.arange(numbers[0].shape[1])).sum(axis=1)


class DigitalPIMEngine:
    """MVM callable (``network.forward(x, mvm=engine)``) computing quantized layers in MRAM (module docstring).

    ``network``: a quantized network (``meta`` with ``act_bits``, ``act_clip``); ``bitops``: the bit-operation
    model (None: error-free); ``t_storage`` (s): time since the weights were written (retention, read disturb);
    ``rng`` draws every error. The engine accumulates the operation counts of what it computed in
    :attr:`counts` (``and2``, ``fa``, ``writes``, ``steps``) for :meth:`energy` and :meth:`latency`.
    """

    def __init__(self, network, bitops: BitOpsModel | None = None, config: DigitalPIMConfig = DigitalPIMConfig(),
                 *, t_storage: float = 0.0, rng: np.random.Generator | None = None):
        self.exact = QuantizedMVM(network)
        self.bits = self.exact.bits
        self.bitops = bitops or ideal_bitops()
        self.config = config
        if not (math.isfinite(t_storage) and t_storage >= 0):
            raise ConfigError(f"t_storage: expected a finite time >= 0 s, got {t_storage!r}")
        self.rng = rng or np.random.default_rng(0)
        p_flip = self.bitops.stored_flip_probability(t_storage, config.reads_per_second * t_storage)
        self.p_and = np.asarray(self.bitops.error["and2"], dtype=np.float64)
        self.p_sum, self.p_carry = full_adder_errors(self.bitops, config.adder)
        self.ternary = network.meta.get("weights") == "ternary"
        self.planes: dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray]] = {}
        for layer in network.weight_layers():
            signs, alpha = weight_signs(layer)
            pos, neg = signs > 0, signs < 0
            if p_flip > 0:  # stored bits flip independently (binary: one bit per weight; ternary: two)
                pos = pos ^ (self.rng.random(pos.shape) < p_flip)
                neg = (neg ^ (self.rng.random(neg.shape) < p_flip)) if self.ternary else ~pos
            self.planes[layer.name] = (pos.astype(np.float32), None if not self.ternary else neg.astype(np.float32),
                                       alpha)
        self.counts = {"and2": 0, "fa": 0, "writes": 0, "steps": 0}

    def _count_ones(self, a_b: np.ndarray, plane: np.ndarray) -> np.ndarray:
        n = a_b.shape[1]
        n2 = a_b @ plane
        if not np.any(self.p_and) and self.p_sum == 0 and self.p_carry == 0:
            return n2.astype(np.int64)
        n2i = np.rint(n2).astype(np.int64)
        n1 = (a_b.sum(axis=1)[:, None] + plane.sum(axis=0)[None, :]).astype(np.int64) - 2 * n2i
        n0 = n - n1 - n2i
        rng = self.rng
        count = (n2i + rng.binomial(n0, self.p_and[0]) + rng.binomial(n1, self.p_and[1])
                 - rng.binomial(n2i, self.p_and[2]))
        return count + self._adder_errors(count.shape, n)

    def _adder_errors(self, shape, n_inputs: int) -> np.ndarray:
        total = np.zeros(shape, dtype=np.int64)
        for j, steps in enumerate(adder_tree_steps(n_inputs)):
            for p, value in ((self.p_sum, 1 << j), (self.p_carry, 1 << (j + 1))):
                if steps == 0 or p == 0:
                    continue
                m = self.rng.binomial(steps, p, size=shape)
                total += value * (2 * self.rng.binomial(m, 0.5) - m)
        return total

    def __call__(self, layer, x2d: np.ndarray) -> np.ndarray:
        clip = self.exact.clips[layer.name]
        codes = quantize_activations(x2d, clip, self.bits)
        pos, neg, alpha = self.planes[layer.name]
        batch, n = codes.shape
        n_out = pos.shape[1]
        acc = np.zeros((batch, n_out), dtype=np.int64)
        ones = np.ones((n, 1), dtype=np.float32)
        for b in range(self.bits):
            a_b = ((codes >> b) & 1).astype(np.float32)
            c_pos = self._count_ones(a_b, pos)
            if neg is not None:  # ternary
                acc += (c_pos - self._count_ones(a_b, neg)) << b
            else:
                acc += (2 * c_pos - self._count_ones(a_b, ones)) << b
        self._tally(batch, n, n_out)
        y = acc.astype(np.float64) * alpha[None, :] * (clip / (2**self.bits - 1))
        return y.astype(np.float32)

    def _tally(self, batch: int, n: int, n_out: int) -> None:
        planes = 2 if self.ternary else 1
        counts_per_vector = self.bits * (planes * n_out + (0 if self.ternary else 1))
        fa_per_count = int(adder_tree_steps(n).sum())
        and_ops = batch * self.bits * planes * n_out * n
        fa_ops = batch * counts_per_vector * fa_per_count
        cost = _FA_COST[self.config.adder]
        self.counts["and2"] += and_ops
        self.counts["fa"] += fa_ops
        self.counts["writes"] += and_ops + cost["writes"] * fa_ops
        parallel = self.config.columns * self.config.subarrays
        self.counts["steps"] += math.ceil(and_ops / parallel) + cost["steps"] * math.ceil(fa_ops / parallel)

    def energy(self) -> float:
        """Energy (J) of everything computed so far: sensings plus write-backs."""
        e = self.bitops.energy
        e_fa = sum(count * e[op] for op, count in _FA_COST[self.config.adder]["sense"].items())
        return float(self.counts["and2"] * e["and2"] + self.counts["fa"] * e_fa
                     + self.counts["writes"] * self.config.write_energy)

    def latency(self) -> float:
        """Time (s) of everything computed so far: sequential steps times (sensing + write-back)."""
        t = max(self.bitops.latency.values())
        return float(self.counts["steps"] * (t + self.config.write_latency))

    def reset_counts(self) -> None:
        """Zero the operation counts."""
        self.counts = dict.fromkeys(self.counts, 0)


def digital_accuracy(network, x: np.ndarray, y: np.ndarray, bitops: BitOpsModel | None = None,
                     config: DigitalPIMConfig = DigitalPIMConfig(), *, t_storage: float = 0.0,
                     rng: np.random.Generator | None = None, batch_size: int = 500) -> dict:
    """Accuracy of ``network`` on (x, y) in MRAM with ``bitops`` errors; energy (J) and latency (s) per image.

    Returns {"accuracy", "energy_per_image" (J), "latency_per_image" (s, images one after another),
    "counts_per_image", "t_storage" (s), "config"}.
    """
    engine = DigitalPIMEngine(network, bitops, config, t_storage=t_storage, rng=rng)
    accuracy = network.accuracy(x, y, mvm=engine, batch_size=batch_size)
    n = len(y)
    return {"accuracy": float(accuracy), "energy_per_image": engine.energy() / n,
            "latency_per_image": engine.latency() / n,
            "counts_per_image": {k: v / n for k, v in engine.counts.items()}, "t_storage": float(t_storage),
            "config": asdict(config)}


def exact_accuracy(network, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
    """Accuracy of a quantized network evaluated exactly (quantized activations, no bit errors)."""
    return float(network.accuracy(x, y, mvm=QuantizedMVM(network), batch_size=batch_size))
