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
3. **sinh devices** I = G v0 sinh(V/v0): the circuit is first solved at a reference input (every row at
   ``v_ref``), the cells are replaced by their secant conductances at that operating point and steps 1-2
   give A_sec (exact at the reference input). A cubic term carries the input dependence of the secant:
   I = A_sec V + kappa3 A3 (V^3 - v_ref^2 V), A3_ji = A_sec_ji a_ij^2 / (6 v0^2) with a_ij the cell-voltage
   fraction at the reference point; ``kappa3`` is fitted on sweep data.
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
needs ~5 sweeps at 256 x 256/2 ohm and ~40 at 512 x 512/5 ohm. Measured results on held-out sweep data
are in the model file's error table and in BENCHMARKS.md.

Units: conductances S, resistances ohm, voltages V, currents A.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from dataclasses import dataclass, field

import numpy as np

from devicelab.behavioral.ladders import CrossbarLadders, LineCircuit, relax_lines
from devicelab.errors import ConfigError, ValidityRangeWarning
from devicelab.spice.crossbar import CrossbarSpec, check_conductances, physical_conductances
from devicelab.spice.names import check_array, check_number

log = logging.getLogger(__name__)


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
    relaxation stops (see :func:`~devicelab.behavioral.ladders.relax_lines`); ``max_iter``: its sweep limit; ``v_ref`` (V): reference input of the sinh operating point;
    ``kappa3``: fitted scale of the cubic sinh term (dimensionless).
    """

    n_probes: int = 4
    tol: float = 3e-3
    max_iter: int = 200
    v_ref: float = 0.1
    kappa3: float = 1.0

    def __post_init__(self):
        if isinstance(self.n_probes, bool) or not isinstance(self.n_probes, (int, np.integer)) or self.n_probes < 0:
            raise ConfigError(f"ModelSettings.n_probes: expected an integer >= 0, got {self.n_probes!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise ConfigError(f"ModelSettings.max_iter: expected an integer >= 1, got {self.max_iter!r}")
        check_number(self.tol, "ModelSettings.tol", positive=True)
        check_number(self.v_ref, "ModelSettings.v_ref (V)", positive=True)
        check_number(self.kappa3, "ModelSettings.kappa3")
        for name in ("tol", "v_ref", "kappa3"):
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


#: Range of the held-out benchmark (benchmarks/bench_behavioral.py); the default validity of
#: :meth:`CrossbarModel.from_params`.
BENCHMARK_VALIDITY = Validity(rows=(1, 512), cols=(1, 512), r_wire=(0.0, 5.0), r_driver=(0.0, 50.0),
                              r_sense=(0.0, 50.0), g=(0.0, 25e-6), v_max=0.3, devices=("linear", "sinh"),
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
            a_phys, info = _linear_transfer(g_phys, self.circuit, self.settings)
            a3_phys = None
        else:
            a_phys, a3_phys, info = _sinh_transfer(g_phys, self.circuit, self.settings)
        if not info["converged"]:
            warnings.warn(f"crossbar model: probe relaxation stopped after {info['iterations']} sweeps at relative "
                          f"change {info['change']:.2e} > tol {self.settings.tol:g}; the model error may exceed "
                          "its error table (raise ModelSettings.max_iter)", ValidityRangeWarning, stacklevel=2)
        combine = (lambda a: a[0::2] - a[1::2]) if self.circuit.differential else (lambda a: a)
        a1 = combine(a_phys)
        a3 = None if a3_phys is None else combine(a3_phys)
        return BoundCrossbar(self, np.ascontiguousarray(a1.T, dtype=np.float32),
                             None if a3 is None else np.ascontiguousarray(a3.T, dtype=np.float32), info)


class BoundCrossbar:
    """A model bound to one conductance matrix: :meth:`apply` maps input voltages to column currents.

    ``a_t`` (rows, cols) float32 is the effective transfer matrix in S (I = V a_t); for sinh devices
    ``a3_t`` (rows, cols) float32 in A/V^3 adds the cubic term (I += V^3 a3_t). ``info``: relaxation
    sweeps, convergence and the G range of the bound matrix.
    """

    def __init__(self, model: CrossbarModel, a_t: np.ndarray, a3_t: np.ndarray | None, info: dict):
        self.model = model
        self.a_t = a_t
        self.a3_t = a3_t
        self.info = info

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) logical."""
        return self.a_t.shape

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
        if self.a3_t is not None:
            out += (v * v * v) @ self.a3_t.astype(dtype, copy=False)
        return out


def _cosines(n: int, k: int) -> np.ndarray:
    """Orthonormal (n, min(k, n)) basis of the lowest-order DCT-II cosines."""
    k = min(k, n)
    basis = np.cos(np.pi * np.outer((np.arange(n) + 0.5) / n, np.arange(k)))
    return np.linalg.qr(basis)[0] if k else basis


def _linear_transfer(g: np.ndarray, circuit: CrossbarCircuit, settings: ModelSettings):
    """Physical transfer matrix (physical cols, rows) in S of the linear network with cell conductances
    ``g`` (rows, physical cols): line attenuations plus the two-sided probe correction."""
    ladders = CrossbarLadders(g, circuit.lines())
    n, p = g.shape
    probes_in, probes_out = _cosines(n, settings.n_probes), _cosines(p, settings.n_probes)
    k_in, k_out = probes_in.shape[1], probes_out.shape[1]
    if k_in == 0 or k_out == 0:
        alpha, beta = ladders.attenuations()
        return (g * alpha * beta).T, {"iterations": 0, "converged": True, "change": 0.0}
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
    return a, info


def _sinh_transfer(g: np.ndarray, circuit: CrossbarCircuit, settings: ModelSettings):
    """(A_lin, A3, info) of the sinh-device network linearized at the reference input (module docstring)."""
    v0, v_ref = circuit.v0, settings.v_ref
    n, _ = g.shape
    g_sec = g
    drive = np.full((n, 1), v_ref)
    no_sense = np.zeros((g.shape[1], 1))
    cell_v = None
    for _ in range(20):
        res = relax_lines(CrossbarLadders(g_sec, circuit.lines()), drive, no_sense, tol=1e-9, max_iter=settings.max_iter)
        cell_v = res.u[:, :, 0] - res.w[:, :, 0]
        x = cell_v / v0
        safe = np.where(np.abs(x) < 1e-8, 1.0, x)
        g_new = g * np.where(np.abs(x) < 1e-8, 1.0 + x * x / 6.0, np.sinh(safe) / safe)
        step = float(np.max(np.abs(g_new - g_sec))) / max(float(np.max(g)), 1e-300)
        g_sec = g_new
        if step < 1e-9:
            break
    a_sec, info = _linear_transfer(g_sec, circuit, settings)
    frac = cell_v / v_ref
    a3 = settings.kappa3 * a_sec * (frac.T ** 2) / (6.0 * v0 * v0)
    return a_sec - a3 * v_ref**2, a3, info


def model_currents(model: CrossbarModel, g, v) -> np.ndarray:
    """Convenience: ``model.bind(g).apply(v)`` in float64 (A), for error checks."""
    return model.bind(g).apply(check_array(v, "input voltages v (V)", ndim=(1, 2)), dtype=np.float64)
