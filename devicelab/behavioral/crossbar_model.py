"""Behavioral crossbar model: line-drop attenuations plus a smooth two-sided probe correction.

For linear devices the crossbar is a linear circuit, so the column currents are I = A(G) V exactly for a
(cols x rows) matrix A that depends only on the conductances G and the resistances. :meth:`CrossbarModel.bind`
computes a close approximation of A once per conductance matrix; :meth:`BoundCrossbar.apply` is then one
float32 matrix product per batch of input vectors (two for sinh devices).

Method (all steps O(rows x cols) per conductance matrix, see :mod:`devicelab.behavioral.ladders`):

1. **Line attenuations** (first-order IR drop): alpha_ij from the row ladders with all column nodes at
   0 V and beta_ij from the column ladders with all row nodes at 0 V give A0_ji = G_ij alpha_ij beta_ij.
   It ignores the coupling of the two line families (column voltages lift the rows, rows lift the
   columns: sneak paths), which is where its error comes from.
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
   I += kappa3 [V^3 M0 + (V^2 M1) I + (V M2) I^2 + M3 I^3]; ``kappa3`` is fitted on sweep data.
4. **1T1R cells**: each device is in series with its access transistor. The linear part uses the small-signal
   cell conductance G / (1 + G r_on), r_on = 1 / (beta (v_gate - vt0)); the transistor's first-order
   nonlinearity (its source lifted by the column-node voltage, and its own drain-source drop) is an excess
   cell current quadratic in the cell and column-node voltages, which gives I += V^2 Q0 + (V Q1) I + Q2 I^2
   (see :func:`_nonlinear_terms`; measured errors in docs/design/crossbar_model.md).
5. **Differential pairs**: the physical array with interleaved G+/G- columns is modelled, and the logical
   A is the difference of the paired rows of the physical A.

Why this method, and how it compares with simpler corrections and with the exact circuit:
docs/design/crossbar_model.md (measured by ``benchmarks/design_crossbar_model.py``). Held-out accuracy and
speed: BENCHMARKS.md (``benchmarks/bench_behavioral.py``); each model file also carries its own held-out
error table.

Units: conductances S, resistances ohm, voltages V, currents A.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np

from devicelab.behavioral.ladders import CrossbarLadders, LineCircuit, relax_lines
from devicelab.errors import ConfigError, RangeExcess, ValidityRangeWarning
from devicelab.spice.crossbar.spec import (
    AccessTransistor,
    CrossbarSpec,
    check_conductances,
    check_unit_cell,
    output_matrix,
    physical_conductances,
)
from devicelab.spice.names import check_number


@dataclass(frozen=True)
class CrossbarCircuit:
    """The circuit a model describes (everything but size, conductances and inputs).

    ``r_row``, ``r_col`` wire segment resistances, ``r_driver``, ``r_sense`` (ohm, >= 0); ``device``
    "linear" or "sinh" (I = G v0 sinh(V / v0), ``v0`` in V); ``differential``: G+/G- column pairs with
    output I+ - I- (conductances then have shape (2, rows, cols)). ``cell`` "passive" or "1t1r": a 1T1R
    cell puts the NMOS access ``transistor`` (default :class:`~devicelab.spice.crossbar.spec.AccessTransistor`)
    in series with the device; its gate must be above threshold (else the cell never conducts).
    ``devices_per_polarity`` (N >= 1) and ``significance`` (N factors > 0, default all 1): multi-device unit
    cells on adjacent physical columns, output sum_k f_k I_k / sum_k f_k (see
    :mod:`devicelab.spice.crossbar.spec`); conductances then have shape (2, N, rows, cols) or (N, rows, cols).
    """

    r_row: float
    r_col: float
    r_driver: float = 0.0
    r_sense: float = 0.0
    device: str = "linear"
    v0: float | None = None
    differential: bool = False
    cell: str = "passive"
    transistor: AccessTransistor | None = None
    devices_per_polarity: int = 1
    significance: tuple[float, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "significance", check_unit_cell(self.devices_per_polarity, self.significance,
                                                                 "CrossbarCircuit"))
        if self.cell == "1t1r" and self.transistor is None:
            object.__setattr__(self, "transistor", AccessTransistor())
        if self.cell != "1t1r" and self.transistor is not None:
            raise ConfigError("CrossbarCircuit.transistor: only 1T1R cells have an access transistor "
                              f"(cell = {self.cell!r}); leave it None")
        self.spec(1, 1)  # CrossbarSpec validates resistances, device, v0, cell and transistor
        if self.cell == "1t1r" and not self.transistor.v_gate > self.transistor.vt0:
            raise ConfigError(f"CrossbarCircuit.transistor.v_gate: the word-line voltage v_gate = "
                              f"{self.transistor.v_gate:g} V is not above the threshold vt0 = "
                              f"{self.transistor.vt0:g} V, so the access transistor never conducts; "
                              "expected v_gate > vt0 (V)")

    def spec(self, rows: int, cols: int) -> CrossbarSpec:
        """The spice-stage :class:`CrossbarSpec` of this circuit at ``rows`` x ``cols`` logical cells."""
        extra = {"transistor": self.transistor} if self.transistor is not None else {}
        return CrossbarSpec(rows=rows, cols=cols, r_row=self.r_row, r_col=self.r_col, r_driver=self.r_driver,
                            r_sense=self.r_sense, device=self.device, v0=self.v0, cell=self.cell,
                            differential=bool(self.differential), devices_per_polarity=self.devices_per_polarity,
                            significance=self.significance, **extra)

    def lines(self) -> LineCircuit:
        """Resistances as the ladder solvers take them."""
        return LineCircuit(self.r_row, self.r_col, self.r_driver, self.r_sense)

    @property
    def r_on(self) -> float:
        """Small-signal on-resistance (ohm) of the access transistor at V_DS = 0 with its source at 0 V,
        1 / (beta (v_gate - vt0)); 0 for passive cells."""
        if self.cell != "1t1r":
            return 0.0
        t = self.transistor
        return 1.0 / (t.beta * (t.v_gate - t.vt0))

    def cell_conductances(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(small-signal cell conductances (S), fraction of the cell voltage across the device) for device
        conductances ``g`` (S): the device in series with :attr:`r_on` (1T1R), else ``g`` and 1."""
        if self.cell != "1t1r":
            return g, np.ones_like(g)
        fraction = 1.0 / (1.0 + g * self.r_on)
        return g * fraction, fraction


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
    (V); ``devices``: device kinds covered; ``differential``: pair layouts covered (False and/or True);
    ``cells``: cell kinds covered ("passive", "1t1r"). For 1T1R cells: ``v_gate`` and ``vt0`` (min, max)
    word-line and threshold voltages (V) and ``r_on`` (min, max) small-signal on-resistance of the access
    transistor (ohm, :attr:`CrossbarCircuit.r_on`); None when no 1T1R cell is covered;
    ``devices_per_polarity``: (min, max) devices per polarity of the built layouts (a multi-device layout is
    a wider physical crossbar: :meth:`CrossbarModel.bind` checks its physical width against the widest
    covered one, cols x 2 (if differential) x the largest N).
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
    cells: tuple[str, ...] = ("passive",)
    v_gate: tuple[float, float] | None = None
    vt0: tuple[float, float] | None = None
    r_on: tuple[float, float] | None = None
    devices_per_polarity: tuple[int, int] = (1, 1)

    def circuit_excess(self, circuit: CrossbarCircuit) -> list[RangeExcess]:
        """Resistances of ``circuit`` outside this range, with their sizes (empty when inside)."""
        out = []
        for name, value, (lo, hi) in (("r_row", circuit.r_row, self.r_wire), ("r_col", circuit.r_col, self.r_wire),
                                      ("r_driver", circuit.r_driver, self.r_driver),
                                      ("r_sense", circuit.r_sense, self.r_sense)):
            if not lo * (1 - 1e-9) <= value <= hi * (1 + 1e-9):
                out.append(RangeExcess(name, "ohm", float(value), float(value), float(lo), float(hi)))
        return out

    def circuit_notes(self, circuit: CrossbarCircuit) -> list[str]:
        """Kinds of ``circuit`` (device, pair layout) the model was not built for."""
        out = []
        if circuit.device not in self.devices:
            out.append(f"device '{circuit.device}' not among the built devices {self.devices}")
        if bool(circuit.differential) not in self.differential:
            out.append(f"differential={bool(circuit.differential)} not covered")
        if circuit.cell not in self.cells:
            out.append(f"cell '{circuit.cell}' not among the built cells {self.cells}")
        elif circuit.cell == "1t1r":
            t = circuit.transistor
            for name, value, span, unit in (("v_gate", t.v_gate, self.v_gate, "V"), ("vt0", t.vt0, self.vt0, "V"),
                                            ("r_on", circuit.r_on, self.r_on, "ohm")):
                if span is None or not span[0] - 1e-9 * abs(span[0]) <= value <= span[1] + 1e-9 * abs(span[1]):
                    out.append(f"access transistor {name} = {value:g} {unit} outside {span} {unit}")
        return out

    def circuit_problems(self, circuit: CrossbarCircuit) -> list[str]:
        """Descriptions of where ``circuit`` leaves this range (empty when inside)."""
        return [f"{e.quantity} = {e.high:g} ohm outside [{e.lo:g}, {e.hi:g}] ohm"
                for e in self.circuit_excess(circuit)] + self.circuit_notes(circuit)

    def array_excess(self, g: np.ndarray, rows: int, cols: int) -> list[RangeExcess]:
        """Size and conductances (S) of a rows x cols array outside this range, with their sizes."""
        out = [RangeExcess(name, "", float(value), float(value), float(lo), float(hi))
               for name, value, (lo, hi) in (("rows", rows, self.rows), ("cols", cols, self.cols))
               if not lo <= value <= hi]
        g = np.asarray(g)
        g_lo, g_hi = float(np.min(g)), float(np.max(g))
        lo, hi = self.g
        if g_lo < lo * (1 - 1e-6) or g_hi > hi * (1 + 1e-6):
            fraction = float(np.mean((g < lo * (1 - 1e-6)) | (g > hi * (1 + 1e-6))))
            out.append(RangeExcess("conductances", "S", g_lo, g_hi, float(lo), float(hi), fraction))
        return out

    def array_problems(self, g: np.ndarray, rows: int, cols: int) -> list[str]:
        """Descriptions of where a conductance array of logical size rows x cols leaves this range."""
        out = []
        for e in self.array_excess(g, rows, cols):
            if e.unit == "S":
                out.append(f"conductances span [{e.low:.3g}, {e.high:.3g}] S, outside [{e.lo:.3g}, {e.hi:.3g}] S "
                           f"({100 * e.fraction:.3g} % of the cells)")
            else:
                out.append(f"{e.quantity} = {e.high:g} outside [{e.lo:g}, {e.hi:g}]")
        return out


#: Range checked without a sweep, the default validity of :meth:`CrossbarModel.from_params`: the held-out
#: benchmark (benchmarks/bench_behavioral.py: arrays 32..512, wires 0.5-5 ohm, G 0.25-25 uS, |V| <= 0.2 V,
#: sinh v0 = 0.25 V, ideal drivers and senses; 1T1R cells with word line 0.9-1.8 V, threshold 0.5 V and
#: on-resistance 385 ohm - 4.2 kohm) plus the unit tests (arrays 8-32 with up to 100 ohm wires and 10-20 ohm
#: drivers/senses).
BENCHMARK_VALIDITY = Validity(rows=(1, 512), cols=(1, 512), r_wire=(0.0, 5.0), r_driver=(0.0, 20.0),
                              r_sense=(0.0, 20.0), g=(0.0, 25e-6), v_max=0.2, devices=("linear", "sinh"),
                              differential=(False, True), cells=("passive", "1t1r"), v_gate=(0.9, 1.8),
                              vt0=(0.5, 0.5), r_on=(380.0, 4200.0))


def _warn(problems: list[str], what: str, excess: list | tuple = (), notes: list | tuple = ()) -> None:
    """One :class:`ValidityRangeWarning` listing ``problems``, carrying the structured ``excess``/``notes``."""
    if problems:
        warnings.warn(ValidityRangeWarning(
            f"crossbar model used outside its validity range ({what}): {'; '.join(problems)}; "
            "its measured error does not apply (rebuild it from a sweep covering this case)",
            excess=tuple(excess), notes=tuple(notes)), stacklevel=3)


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
                    cell: str = "passive", transistor: AccessTransistor | None = None,
                    devices_per_polarity: int = 1, significance: tuple[float, ...] | None = None,
                    settings: ModelSettings | None = None, validity: Validity | None = None) -> "CrossbarModel":
        """A model from circuit parameters (ohm, V) without a sweep; validity defaults to the range of the
        held-out benchmark (:data:`BENCHMARK_VALIDITY`), the error table is empty."""
        circuit = CrossbarCircuit(r_row, r_col, r_driver, r_sense, device, v0, differential, cell, transistor,
                                  devices_per_polarity, significance)
        return cls(circuit, settings or ModelSettings(), validity or BENCHMARK_VALIDITY, (),
                   {"source": "from_params"})

    def with_circuit(self, **changes) -> "CrossbarModel":
        """The same model bound for a changed circuit (keywords of :class:`CrossbarCircuit`); changing the
        cell to "passive" drops the access transistor."""
        if changes.get("cell") == "passive":
            changes.setdefault("transistor", None)
        return dataclasses.replace(self, circuit=dataclasses.replace(self.circuit, **changes))

    @property
    def differential(self) -> bool:
        """True when :meth:`bind` takes (2, rows, cols) G+/G- pairs (differential column pairs)."""
        return bool(self.circuit.differential)

    def bind(self, g) -> "BoundCrossbar":
        """Per-matrix set-up for conductances ``g`` (S): (rows, cols), or (2, rows, cols) = (G+, G-) for
        differential pairs. Warns (:class:`ValidityRangeWarning`) outside :attr:`validity`."""
        shape = np.shape(g)
        if len(shape) not in (2, 3, 4):
            raise ConfigError(f"conductances g (S): expected a (rows, cols), (2, rows, cols), (N, rows, cols) or "
                              f"(2, N, rows, cols) array, got shape {shape}")
        spec = self.circuit.spec(int(shape[-2]), int(shape[-1]))
        g = check_conductances(spec, g)
        validity = self.validity
        problems = validity.circuit_problems(self.circuit) + validity.array_problems(g, spec.rows, spec.cols)
        widest = (validity.cols[1] * (2 if True in validity.differential else 1)
                  * validity.devices_per_polarity[1])
        if spec.physical_cols > widest:
            problems.append(f"{spec.physical_cols} physical columns ({spec.devices_per_polarity} devices per "
                            f"polarity) beyond the widest covered array ({widest})")
        _warn(problems, "bind", validity.circuit_excess(self.circuit) + validity.array_excess(g, spec.rows, spec.cols),
              validity.circuit_notes(self.circuit))
        g_phys, fraction = self.circuit.cell_conductances(physical_conductances(spec, g))
        a_phys, info, ladders = _linear_transfer(g_phys, self.circuit, self.settings)
        cubic = quadratic = ()
        if self.circuit.device == "sinh" or self.circuit.cell == "1t1r":
            cubic, quadratic = _nonlinear_terms(g_phys, fraction, a_phys, ladders, self.circuit, self.settings)
        if not info["converged"]:
            warnings.warn(f"crossbar model: probe relaxation stopped after {info['iterations']} sweeps at relative "
                          f"change {info['change']:.2e} > tol {self.settings.tol:g}; the model error may exceed "
                          "its error table (raise ModelSettings.max_iter)", ValidityRangeWarning, stacklevel=2)
        combine = output_combination(spec)
        if combine is not None and not cubic and not quadratic:  # fold the column combination into the matrix
            a_phys, combine = combine.T @ a_phys, None
        f32 = [tuple(np.ascontiguousarray(m, dtype=np.float32) for m in terms) for terms in (cubic, quadratic)]
        return BoundCrossbar(self, np.ascontiguousarray(a_phys.T, dtype=np.float32), f32[0],
                             None if combine is None else combine.astype(np.float32), info, f32[1])


def output_combination(spec: CrossbarSpec) -> np.ndarray | None:
    """(physical cols, logical cols) matrix that turns physical column currents into the logical outputs
    (:func:`~devicelab.spice.crossbar.spec.output_matrix`), or None when they are the same."""
    return None if spec.physical_cols == spec.cols else output_matrix(spec)


class BoundCrossbar:
    """A model bound to one conductance matrix: :meth:`apply` maps input voltages to column currents.

    ``a_t`` (rows, cols) float32 is the effective transfer matrix in S (I = V a_t). With nonlinear cells
    it is per physical column: ``cubic`` = (M0 (rows, cols) A/V^3, M1 (rows, cols) 1/V^2, M2 (rows, cols)
    1/(V A), M3 (cols,) 1/A^2) adds I += V^3 M0 + (V^2 M1) I + (V M2) I^2 + M3 I^3 (sinh devices) and
    ``quadratic`` = (Q0 (rows, cols) A/V^2, Q1 (rows, cols) 1/V, Q2 (cols,) 1/A) adds
    I += V^2 Q0 + (V Q1) I + Q2 I^2 (1T1R access transistors), with I = V a_t; ``combine`` (physical cols,
    logical cols) then maps physical column currents to the outputs (None: they are the outputs).
    ``info``: relaxation sweeps and convergence.
    """

    def __init__(self, model: CrossbarModel, a_t: np.ndarray, cubic: tuple = (), combine: np.ndarray | None = None,
                 info: dict | None = None, quadratic: tuple = ()):
        self.model = model
        self.a_t = a_t
        self.cubic = tuple(cubic)
        self.quadratic = tuple(quadratic)
        self.combine = combine
        self.info = info or {}

    @property
    def linear(self) -> bool:
        """True when I = V a_t exactly (linear passive cells): ``a_t`` (rows, logical cols) can be folded into
        a larger matrix by the caller."""
        return not self.cubic and not self.quadratic and self.combine is None

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
        return (rows, cols if self.combine is None else self.combine.shape[1])

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
            v_max = self.model.validity.v_max
            _warn([f"|V| up to {v_abs:.3g} V > v_max {v_max:.3g} V ({100 * (v_abs / v_max - 1):.3g} % above)"],
                  "apply", [RangeExcess("|input voltage|", "V", 0.0, v_abs, 0.0, v_max,
                                        float(np.mean(np.abs(v) > v_max * (1 + 1e-6))))])
        lin = v @ self.a_t.astype(dtype, copy=False)
        out = lin
        v2 = v * v if (self.cubic or self.quadratic) else None
        if self.quadratic:
            q0, q1, q2 = (m.astype(dtype, copy=False) for m in self.quadratic)
            out = out + v2 @ q0 + ((v @ q1) + q2 * lin) * lin
        if self.cubic:
            m0, m1, m2, m3 = (m.astype(dtype, copy=False) for m in self.cubic)
            out = out + (v2 * v) @ m0 + ((v2 @ m1) + ((v @ m2) + m3 * lin) * lin) * lin
        if self.combine is not None:
            out = out @ self.combine.astype(dtype, copy=False)
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


def _nonlinear_terms(g: np.ndarray, fraction: np.ndarray, a_lin: np.ndarray, ladders: CrossbarLadders,
                     circuit: CrossbarCircuit, settings: ModelSettings) -> tuple[tuple, tuple]:
    """(cubic (M0, M1, M2, M3) or (), quadratic (Q0, Q1, Q2) or ()) corrections to the linear transfer
    ``a_lin`` (physical cols, rows) of the network of small-signal cell conductances ``g`` (S).

    ``fraction`` is the share of the cell voltage across the device (1 for passive cells; for 1T1R the
    device in series with the transistor's on-resistance). Each cell's departure from its small-signal
    conductance is an excess current e_ij between its row and column nodes; it reaches the sense of its
    column with the weight A_ji / (G_ij p_ij). The cell voltage is v = p V_i - q I_j and the column-node
    voltage s I_j (p, q, s from two relaxed small-signal solves, even and odd rows driven).

    - sinh devices: the device sees fraction * v and only ``fraction`` of its excess current leaves the
      cell, so e = fraction^4 G v^3 / (6 v0^2) = g fraction^3 v^3 / (6 v0^2) (cubic terms, scale kappa3).
    - 1T1R: in its linear region the transistor passes i = beta x (v_ov - v_s - x/2) for a drain-source
      voltage x of either sign (v_ov = v_gate - vt0, source v_s = column node), i.e. an on-resistance
      r_on (1 + (v_s + x/2) / v_ov) to first order; with x = g r_on v the cell loses
      e = -g^2 r_on / v_ov (v v_s + g r_on v^2 / 2) (quadratic terms).
    """
    n, p = g.shape
    even = (np.arange(n) % 2 == 0).astype(float)
    res = relax_lines(ladders, np.stack([even, 1.0 - even], axis=1), np.zeros((p, 2)),
                      tol=min(settings.tol, 1e-4), max_iter=settings.max_iter)
    cell = res.u - res.w                                # (n, p, 2) cell voltages per volt
    v_all, i_all = cell.sum(axis=2), res.sense.sum(axis=1)
    is_even = even[:, None] > 0
    v_own = np.where(is_even, cell[:, :, 0], cell[:, :, 1])
    i_own = np.where(is_even, res.sense[None, :, 0], res.sense[None, :, 1])
    # column-node voltage per output current (ohm); 0 for columns that carry no current
    carries = np.abs(i_all) > 1e-12 * max(float(np.abs(i_all).max()), 1e-300)
    s_col = np.divide(res.w.sum(axis=2), i_all[None, :], out=np.zeros_like(v_all), where=carries[None, :])
    # v = p V - q I_j fitted through (all rows, own half) at 1 V: q from the change of column loading. Where
    # one half carries (almost) none of the column's current (e.g. a column whose only devices sit on even
    # rows) the change is rounding noise: there q is the column-node estimate s instead.
    load = i_all[None, :] - i_own
    reliable = np.abs(load) > 1e-3 * np.abs(i_all)[None, :]
    q = np.divide(v_own - v_all, load, out=s_col.copy(), where=reliable & carries[None, :])
    p_row = v_all + q * i_all[None, :]
    p_safe = np.where(np.abs(p_row) > 1e-12, p_row, 1e-12)
    g_safe = np.where(g > 0, g, 1.0)
    transfer = np.where(g > 0, a_lin.T / (g_safe * p_safe), 0.0)   # sense current per injected cell current
    cubic = quadratic = ()
    if circuit.device == "sinh":
        v0 = circuit.v0
        f3 = fraction**3
        weight = f3 * g * transfer / (6.0 * v0 * v0)    # output per cubic cell voltage
        # the V^3 excess current drawn from each row lowers that row downstream: row-ladder solve of it
        excess = f3 * g * p_row**3 / (6.0 * v0 * v0)
        _, beta = ladders.attenuations()
        row_drop = ladders.rows.solve(excess.T[:, :, None])[:, :, 0].T
        k = settings.kappa3
        cubic = (k * (weight * p_row**3 - g * beta * row_drop), k * (-3.0 * weight * p_row**2 * q),
                 k * (3.0 * weight * p_row * q**2), k * (-(weight * q**3).sum(axis=0)))
    if circuit.cell == "1t1r":
        t = circuit.transistor
        r_on = circuit.r_on
        v_ov = t.v_gate - t.vt0
        c = -transfer * g * g * r_on / v_ov              # e = c (v v_s + h v^2)
        h = 0.5 * g * r_on
        quadratic = (c * h * p_row**2, c * (p_row * s_col - 2.0 * h * p_row * q),
                     (c * (h * q**2 - q * s_col)).sum(axis=0))
    return cubic, quadratic
