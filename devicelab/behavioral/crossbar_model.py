"""Behavioral crossbar model: line-drop attenuations plus a smooth two-sided probe correction.

For linear devices the crossbar is a linear circuit, so the column currents are I = A(G) V exactly for a
(cols x rows) matrix A that depends only on the conductances G and the resistances. :meth:`CrossbarModel.bind`
computes a close approximation of A once per conductance matrix; :meth:`BoundCrossbar.apply` is then one
float32 matrix product per batch of input vectors (two for sinh devices).

Method (all steps O(rows x cols) per conductance matrix, see :mod:`devicelab.behavioral.ladders`):

1. **Line attenuations** (first-order IR drop): alpha_ij from the row ladders with all column nodes at
   0 V and beta_ij from the column ladders with all row nodes at 0 V give A0_ji = G_ij alpha_ij beta_ij.
   It ignores the coupling of the two line families (column voltages lift the rows, rows lift the
   columns: sneak paths), which is where its error comes from (5-40 % at 256 x 256 with 2-5 ohm wires).
2. **Two-sided probe correction**: the error E = A - A0 is smooth in both the input (row) and output
   (column) index, so its projection on k low-order cosines P (rows x k) and Z (cols x k) captures
   nearly all of it. The exact responses A P and A^T Z of the coupled circuit to these 2k smooth probe
   vectors are computed by block Gauss-Seidel relaxation of the row and column ladders (converged to
   ``tol``), and  A = A0 + E P P^T + Z Z^T E - Z Z^T E P P^T.  The neglected part (1 - ZZ^T) E (1 - PP^T)
   is the rough-rough part of E.
3. **sinh devices** I = G v0 sinh(V/v0) = G V + G V^3 / (6 v0^2) + ...: steps 1-2 on the small-signal
   network give the linear part A V; the cubic excess current of every cell, G v^3 / (6 v0^2), is injected
   into that network. The cell voltage is modelled as v_ij = p_ij V_i - q_ij I_j: driven by its own row and
   lowered by the loading of its column (I_j = (A V)_j); p and q come from two more relaxed solves
   (even rows driven, odd rows driven). The excess current reaches the sense of its own column (weight
   A_ji / (G_ij p_ij)) and, drawn from its row, lowers the row voltage downstream (row-ladder solve of the
   V^3 part, weighted by G beta). Expanding (p V - q I)^3 gives three more matrix products per batch:
   I += kappa3 [V^3 M0 + (V^2 M1) I + (V M2) I^2 + M3 I^3]; ``kappa3`` is fitted on sweep data. Measured
   at 128 x 128 / 5 ohm, v0 = 0.25 V, inputs up to 0.2 V: dense/sparse/ReLU inputs 0.15/0.07/0.04 % (a
   secant linearization at a reference input with a plain cubic term: 0.43/0.87/0.26 %); signed inputs
   are the weak case (0.9 %).
4. **Differential pairs**: the physical array with interleaved G+/G- columns is modelled, and the logical
   A is the difference of the paired rows of the physical A.

Why this method (numbers measured in scratch on 64 x 64 arrays with wires scaled to the 256 x 256/2 ohm
and 512 x 512/5 ohm regimes, exact A from a sparse LU solve; normalized RMS error of the output for
Gaussian inputs / sparse 10 % inputs): ideal V.G 106 % / 102 % and 625 % / 706 %; line attenuations
alone (alpha beta) 9.8 % / 9.9 % and 28 % / 35 %; an effective conductance matrix from an exact solve
at one reference input (RxNN-style G_eff) 4.9 % / 2.3 % and 15 % / 7.6 %; alpha beta plus a rank-1
correction on the mean input 3.6 % / 1.7 % and 7.6 % / 3.5 %; the singular values of E decay slowly
(no low-rank fix), but its projection on smooth probes does: with k = 4 (8) cosines on both sides the
remaining error is 0.11 % (0.08 %) and 0.67 % (0.30 %). The relaxation that gives the probe responses
needs 3-4 sweeps at 256 x 256/2 ohm and ~15 (over-relaxed) at 512 x 512/5 ohm. Held-out benchmark
(BENCHMARKS.md): 156 cases, arrays 32..512, 0.5-5 ohm, linear/sinh/differential, random and real-MLP
conductances, dense/sparse/real-activation inputs: worst error 0.61 % where the ideal model is 14-775 %
off; set-up + apply 230x faster per vector than the nodal solver at 256 x 256 (batch 256), apply 1.2x a
float32 matmul. Each model file also carries its own held-out error table.

Units: conductances S, resistances ohm, voltages V, currents A.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np

from devicelab.behavioral.ladders import CrossbarLadders, LineCircuit, relax_lines
from devicelab.errors import ConfigError, ValidityRangeWarning
from devicelab.spice.crossbar.spec import CrossbarSpec, check_conductances, physical_conductances
from devicelab.spice.names import check_number

@dataclass(frozen=True)
class CrossbarCircuit:
    """The circuit a model describes (everything but size, conductances and inputs).

    ``r_row``, ``r_col`` wire segment resistances, ``r_driver``, ``r_sense`` (ohm, >= 0); ``device``
    "linear" or "sinh" (I = G v0 sinh(V / v0), ``v0`` in V); ``differential``: G+/G- column pairs with
    output I+ - I- (conductances then have shape (2, rows, cols)). Only passive cells are modelled.
    """

    r_row: float
    r_col: float
    r_driver: float = 0.0
    r_sense: float = 0.0
    device: str = "linear"
    v0: float | None = None
    differential: bool = False

    def __post_init__(self):
        self.spec(1, 1)  # CrossbarSpec validates resistances, device and v0

    def spec(self, rows: int, cols: int) -> CrossbarSpec:
        """The spice-stage :class:`CrossbarSpec` of this circuit at ``rows`` x ``cols`` logical cells."""
        return CrossbarSpec(rows=rows, cols=cols, r_row=self.r_row, r_col=self.r_col, r_driver=self.r_driver,
                            r_sense=self.r_sense, device=self.device, v0=self.v0, cell="passive",
                            differential=bool(self.differential))

    def lines(self) -> LineCircuit:
        """Resistances as the ladder solvers take them."""
        return LineCircuit(self.r_row, self.r_col, self.r_driver, self.r_sense)


@dataclass(frozen=True)
class ModelSettings:
    """Free parameters of the method, chosen by calibration on sweep data (see ``build``).

    ``n_probes``: smooth probe vectors per side (k); ``tol``: estimated relative error at which the probe
    relaxation stops (see :func:`~devicelab.behavioral.ladders.relax_lines`); ``max_iter``: its sweep
    limit; ``kappa3``: fitted scale of the cubic sinh terms (dimensionless).
    """

    n_probes: int = 4
    tol: float = 3e-3
    max_iter: int = 200
    kappa3: float = 1.0

    def __post_init__(self):
        if isinstance(self.n_probes, bool) or not isinstance(self.n_probes, (int, np.integer)) or self.n_probes < 0:
            raise ConfigError(f"ModelSettings.n_probes: expected an integer >= 0, got {self.n_probes!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise ConfigError(f"ModelSettings.max_iter: expected an integer >= 1, got {self.max_iter!r}")
        check_number(self.tol, "ModelSettings.tol", positive=True)
        check_number(self.kappa3, "ModelSettings.kappa3")
        for name in ("tol", "kappa3"):
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("n_probes", "max_iter"):
            object.__setattr__(self, name, int(getattr(self, name)))


@dataclass(frozen=True)
class Validity:
    """Range the model was built and checked for; outside it :class:`ValidityRangeWarning` is raised.

    ``rows``, ``cols``: (min, max) logical size; ``r_wire``: (min, max) of r_row and r_col (ohm);
    ``r_driver``, ``r_sense``: (min, max) ohm; ``g``: (min, max) conductance (S); ``v_max``: largest |V|
    (V); ``devices``: device kinds covered; ``differential``: pair layouts covered (False and/or True).
    """

    rows: tuple[int, int]
    cols: tuple[int, int]
    r_wire: tuple[float, float]
    r_driver: tuple[float, float]
    r_sense: tuple[float, float]
    g: tuple[float, float]
    v_max: float
    devices: tuple[str, ...] = ("linear",)
    differential: tuple[bool, ...] = (False,)

    def circuit_problems(self, circuit: CrossbarCircuit) -> list[str]:
        """Descriptions of where ``circuit`` leaves this range (empty when inside)."""
        out = [f"{name} = {value:g} ohm outside [{lo:g}, {hi:g}] ohm"
               for name, value, (lo, hi) in (("r_row", circuit.r_row, self.r_wire), ("r_col", circuit.r_col, self.r_wire),
                                             ("r_driver", circuit.r_driver, self.r_driver),
                                             ("r_sense", circuit.r_sense, self.r_sense))
               if not lo * (1 - 1e-9) <= value <= hi * (1 + 1e-9)]
        if circuit.device not in self.devices:
            out.append(f"device '{circuit.device}' not among the built devices {self.devices}")
        if bool(circuit.differential) not in self.differential:
            out.append(f"differential={bool(circuit.differential)} not covered")
        return out

    def array_problems(self, g: np.ndarray, rows: int, cols: int) -> list[str]:
        """Descriptions of where a conductance array of logical size rows x cols leaves this range."""
        out = [f"{name} = {value} outside [{lo}, {hi}]" for name, value, (lo, hi)
               in (("rows", rows, self.rows), ("cols", cols, self.cols)) if not lo <= value <= hi]
        g_lo, g_hi = float(np.min(g)), float(np.max(g))
        lo, hi = self.g
        if g_lo < lo * (1 - 1e-6) or g_hi > hi * (1 + 1e-6):
            out.append(f"conductances span [{g_lo:.3g}, {g_hi:.3g}] S, outside [{lo:.3g}, {hi:.3g}] S")
        return out


#: Range checked without a sweep, the default validity of :meth:`CrossbarModel.from_params`: the held-out
#: benchmark (benchmarks/bench_behavioral.py: arrays 32..512, wires 0.5-5 ohm, G 0.25-25 uS, |V| <= 0.2 V,
#: sinh v0 = 0.25 V, ideal drivers and senses) plus the unit tests (arrays 8-32 with up to 100 ohm wires and
#: 10-20 ohm drivers/senses).
BENCHMARK_VALIDITY = Validity(rows=(1, 512), cols=(1, 512), r_wire=(0.0, 5.0), r_driver=(0.0, 20.0),
                              r_sense=(0.0, 20.0), g=(0.0, 25e-6), v_max=0.2, devices=("linear", "sinh"),
                              differential=(False, True))


def _warn(problems: list[str], what: str) -> None:
    if problems:
        warnings.warn(f"crossbar model used outside its validity range ({what}): {'; '.join(problems)}; "
                      "its measured error does not apply (rebuild it from a sweep covering this case)",
                      ValidityRangeWarning, stacklevel=3)


@dataclass(frozen=True)
class CrossbarModel:
    """A calibrated behavioral crossbar model (see the module docstring).

    ``circuit`` the circuit it is bound for (change it with :meth:`with_circuit`); ``settings`` the
    calibrated method parameters; ``validity`` the range it was built for; ``error_table`` rows of the
    measured held-out errors (dicts, see :mod:`devicelab.behavioral.build`); ``provenance`` a JSON-able dict.
    """

    circuit: CrossbarCircuit
    settings: ModelSettings = ModelSettings()
    validity: Validity = BENCHMARK_VALIDITY
    error_table: tuple = ()
    provenance: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_params(cls, r_row: float, r_col: float, r_driver: float = 0.0, r_sense: float = 0.0, *,
                    device: str = "linear", v0: float | None = None, differential: bool = False,
                    settings: ModelSettings | None = None, validity: Validity | None = None) -> "CrossbarModel":
        """A model from circuit parameters (ohm, V) without a sweep; validity defaults to the range of the
        held-out benchmark (:data:`BENCHMARK_VALIDITY`), the error table is empty."""
        circuit = CrossbarCircuit(r_row, r_col, r_driver, r_sense, device, v0, differential)
        return cls(circuit, settings or ModelSettings(), validity or BENCHMARK_VALIDITY, (),
                   {"source": "from_params"})

    def with_circuit(self, **changes) -> "CrossbarModel":
        """The same model bound for a changed circuit (keywords of :class:`CrossbarCircuit`)."""
        return dataclasses.replace(self, circuit=dataclasses.replace(self.circuit, **changes))

    @property
    def differential(self) -> bool:
        """True when :meth:`bind` takes (2, rows, cols) G+/G- pairs (differential column pairs)."""
        return bool(self.circuit.differential)

    def bind(self, g) -> "BoundCrossbar":
        """Per-matrix set-up for conductances ``g`` (S): (rows, cols), or (2, rows, cols) = (G+, G-) for
        differential pairs. Warns (:class:`ValidityRangeWarning`) outside :attr:`validity`."""
        shape = np.shape(g)
        if len(shape) not in (2, 3):
            raise ConfigError(f"conductances g (S): expected a (rows, cols) or (2, rows, cols) array, got shape {shape}")
        spec = self.circuit.spec(int(shape[-2]), int(shape[-1]))
        g = check_conductances(spec, g)
        _warn(self.validity.circuit_problems(self.circuit) + self.validity.array_problems(g, spec.rows, spec.cols),
              "bind")
        g_phys = physical_conductances(spec, g)
        if self.circuit.device == "linear":
            a_phys, info, _ = _linear_transfer(g_phys, self.circuit, self.settings)
            cubic = None
        else:
            a_phys, cubic, info = _sinh_transfer(g_phys, self.circuit, self.settings)
        if not info["converged"]:
            warnings.warn(f"crossbar model: probe relaxation stopped after {info['iterations']} sweeps at relative "
                          f"change {info['change']:.2e} > tol {self.settings.tol:g}; the model error may exceed "
                          "its error table (raise ModelSettings.max_iter)", ValidityRangeWarning, stacklevel=2)
        differential = bool(self.circuit.differential)
        if differential and cubic is None:  # linear: combine the pairs in the matrix, one product per batch
            a_phys, differential = a_phys[0::2] - a_phys[1::2], False
        f32 = [np.ascontiguousarray(m, dtype=np.float32) for m in (cubic or ())]
        return BoundCrossbar(self, np.ascontiguousarray(a_phys.T, dtype=np.float32), tuple(f32), differential, info)


class BoundCrossbar:
    """A model bound to one conductance matrix: :meth:`apply` maps input voltages to column currents.

    ``a_t`` (rows, cols) float32 is the effective transfer matrix in S (I = V a_t). For sinh devices it is
    per physical column and ``cubic`` = (M0 (rows, cols) A/V^3, M1 (rows, cols) 1/V^2, M2 (rows, cols)
    1/(V A), M3 (cols,) 1/A^2) adds I += V^3 M0 + (V^2 M1) I + (V M2) I^2 + M3 I^3; ``differential`` then
    says whether physical column pairs are still to be subtracted. ``info``: relaxation sweeps and
    convergence.
    """

    def __init__(self, model: CrossbarModel, a_t: np.ndarray, cubic: tuple = (), differential: bool = False,
                 info: dict | None = None):
        self.model = model
        self.a_t = a_t
        self.cubic = cubic
        self.differential = differential
        self.info = info or {}

    @property
    def linear(self) -> bool:
        """True when I = V a_t exactly (linear devices): ``a_t`` (rows, logical cols) can be folded into a
        larger matrix by the caller."""
        return not self.cubic and not self.differential

    @property
    def transfer(self) -> np.ndarray | None:
        """(rows, cols) matrix in S with I = V @ transfer when :attr:`linear`, else None."""
        return self.a_t if self.linear else None

    @property
    def a3_t(self) -> np.ndarray | None:
        """None for linear devices; for sinh devices the V^3 matrix M0 of ``cubic`` (A/V^3)."""
        return self.cubic[0] if self.cubic else None

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) logical."""
        rows, cols = self.a_t.shape
        return (rows, cols // 2 if self.differential else cols)

    def apply(self, v, dtype=np.float32) -> np.ndarray:
        """Column currents (batch, cols) in A for input voltages ``v`` (batch, rows) in V (a 1-D vector
        is one batch row). Computed in ``dtype`` (float32 by default; float64 for checks)."""
        v = np.asarray(v)
        if v.ndim == 1:
            v = v[None, :]
        if v.ndim != 2 or v.shape[1] != self.a_t.shape[0]:
            raise ConfigError(f"input voltages v (V): expected shape (batch, {self.a_t.shape[0]}), got {v.shape}")
        v = v.astype(dtype, copy=False)
        if not np.all(np.isfinite(v)):
            raise ConfigError("input voltages v (V): expected finite numbers")
        v_abs = float(np.max(np.abs(v))) if v.size else 0.0
        if v_abs > self.model.validity.v_max * (1 + 1e-6):
            _warn([f"|V| up to {v_abs:.3g} V > v_max {self.model.validity.v_max:.3g} V"], "apply")
        out = v @ self.a_t.astype(dtype, copy=False)
        if self.cubic:
            m0, m1, m2, m3 = (m.astype(dtype, copy=False) for m in self.cubic)
            v2 = v * v
            out = out + (v2 * v) @ m0 + ((v2 @ m1) + ((v @ m2) + m3 * out) * out) * out
        if self.differential:
            out = out[:, 0::2] - out[:, 1::2]
        return out


def _cosines(n: int, k: int) -> np.ndarray:
    """Orthonormal (n, min(k, n)) basis of the lowest-order DCT-II cosines."""
    k = min(k, n)
    basis = np.cos(np.pi * np.outer((np.arange(n) + 0.5) / n, np.arange(k)))
    return np.linalg.qr(basis)[0] if k else basis


def _linear_transfer(g: np.ndarray, circuit: CrossbarCircuit, settings: ModelSettings):
    """(A (physical cols, rows) in S, info, ladders) of the linear network with cell conductances ``g``
    (rows, physical cols): line attenuations plus the two-sided probe correction."""
    ladders = CrossbarLadders(g, circuit.lines())
    n, p = g.shape
    probes_in, probes_out = _cosines(n, settings.n_probes), _cosines(p, settings.n_probes)
    k_in, k_out = probes_in.shape[1], probes_out.shape[1]
    if k_in == 0 or k_out == 0:
        alpha, beta = ladders.attenuations()
        return (g * alpha * beta).T, {"iterations": 0, "converged": True, "change": 0.0}, ladders
    drive = np.concatenate([probes_in, np.zeros((n, k_out))], axis=1)
    sense = np.concatenate([np.zeros((p, k_in)), probes_out], axis=1)
    res = relax_lines(ladders, drive, sense, tol=settings.tol, max_iter=settings.max_iter)
    info = {"iterations": res.iterations, "converged": res.converged, "change": res.change}
    # the first sweep solved the uncoupled lines; probe 0 of each side is constant, so it holds alpha, beta
    alpha = res.first_u[:, :, 0] / probes_in[0, 0]
    beta = res.first_w[:, :, k_in] / probes_out[0, 0]
    a0 = (g * alpha * beta).T
    y = res.sense[:, :k_in]                             # A P  (p, k_in)
    x = -res.drive[:, k_in:]                            # A^T Z (n, k_out): drivers sink the adjoint current
    e_p = y - a0 @ probes_in
    z_e = x.T - probes_out.T @ a0
    z_e_p = 0.5 * (probes_out.T @ e_p + z_e @ probes_in)
    a = a0 + e_p @ probes_in.T + probes_out @ z_e - probes_out @ z_e_p @ probes_in.T
    return a, info, ladders


def _sinh_transfer(g: np.ndarray, circuit: CrossbarCircuit, settings: ModelSettings):
    """(A (physical cols, rows), (M0, M1, M2, M3), info) of the sinh-device network (module docstring)."""
    v0 = circuit.v0
    a_lin, info, ladders = _linear_transfer(g, circuit, settings)
    n, p = g.shape
    # cell voltages per volt with even rows driven and with odd rows driven (small-signal network)
    even = (np.arange(n) % 2 == 0).astype(float)
    res = relax_lines(ladders, np.stack([even, 1.0 - even], axis=1), np.zeros((p, 2)),
                      tol=min(settings.tol, 1e-4), max_iter=settings.max_iter)
    cell = res.u - res.w                                # (n, p, 2)
    v_all, i_all = cell.sum(axis=2), res.sense.sum(axis=1)
    is_even = even[:, None] > 0
    v_own = np.where(is_even, cell[:, :, 0], cell[:, :, 1])
    i_own = np.where(is_even, res.sense[None, :, 0], res.sense[None, :, 1])
    # v = p V - q I_j fitted through (all rows, own half) at 1 V: q from the change of column loading
    load = i_all[None, :] - i_own
    q = np.divide(v_own - v_all, load, out=np.zeros_like(v_all), where=np.abs(load) > 1e-12 * np.abs(i_all).max())
    p_row = v_all + q * i_all[None, :]
    p_safe = np.where(np.abs(p_row) > 1e-12, p_row, 1e-12)
    weight = a_lin.T / (6.0 * v0 * v0 * p_safe)         # output weight of a cell's cubic excess current
    # the V^3 excess current drawn from each row lowers that row downstream: row-ladder solve of it
    excess = g * p_row**3 / (6.0 * v0 * v0)
    _, beta = ladders.attenuations()
    row_drop = ladders.rows.solve(excess.T[:, :, None])[:, :, 0].T
    k = settings.kappa3
    m0 = k * (weight * p_row**3 - g * beta * row_drop)
    m1 = k * (-3.0 * weight * p_row**2 * q)
    m2 = k * (3.0 * weight * p_row * q**2)
    m3 = k * (-(weight * q**3).sum(axis=0))
    return a_lin, (m0, m1, m2, m3), info
