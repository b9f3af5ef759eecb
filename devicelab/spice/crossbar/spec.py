"""The canonical crossbar: its description (:class:`CrossbarSpec`), input checks and node topology.

Canonical topology (shared exactly by the netlist builder and the nodal solver):
rows i = 0..N-1, physical columns p = 0..P-1. Row i is driven at its p = 0 end by an ideal source
V_i through ``r_driver``; row wire segments ``r_row`` join (i,p)-(i,p+1); column wire segments ``r_col``
join (i,p)-(i+1,p); the cell sits between row node (i,p) and column node (i,p); column p is sensed at its
i = N-1 end by a virtual ground (0 V) through ``r_sense`` and the output is the current into that virtual
ground. A zero resistance merges the nodes it joins (no zero-ohm resistor is ever written or stamped).

Differential arrays (``differential=True``) have P = 2 M physical columns interleaved as
p = 2 j (G+ of logical column j) and p = 2 j + 1 (G- of logical column j); the output of logical column j
is I(2 j) - I(2 j + 1).

Multi-device unit cells (``devices_per_polarity = N > 1``; physical columns): each logical column j is a block
of B = N x (2 if differential else 1) adjacent physical columns, p = j B + s N + k for polarity s (0 = G+,
1 = G-) and device slot k = 0..N-1 (k = 0 the most significant). Every device has its own column and sense;
the logical output is the significance-weighted average sum_k f_k (I(j, +, k) - I(j, -, k)) / sum_k f_k,
formed in the periphery (digitally or by scaled sense gains), so a weight is stored as
W ~ sum_k f_k (G+_k - G-_k) / sum_k f_k. With N = 1 this is the single-device layout above.

1T1R cells: the device joins row node (i,p) to an internal node m(i,p), the drain of an NMOS access
transistor whose source is column node (i,p), gate a common word-line node at ``v_gate`` and bulk ground.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from devicelab.errors import ConfigError
from devicelab.spice.names import check_array, check_number

DEVICES = ("linear", "sinh")
CELLS = ("passive", "1t1r")
GMIN = 1e-12
"""Conductance (S) ngspice puts across every MOSFET junction (its ``gmin`` option; set in the netlists)."""


@dataclass(frozen=True)
class AccessTransistor:
    """NMOS access transistor of a 1T1R cell: SPICE level-1 (Shichman-Hodges) with gamma = 0, IS = 0.

    Defaults equal the ``dl_nmos_access`` model card in ``circuits/crossbar_cells.lib``.

    Attributes: ``v_gate`` word-line voltage (V); ``vt0`` threshold voltage (V); ``kp`` transconductance
    parameter (A/V^2); ``w``, ``l`` channel width and length (m); ``lambda_`` channel-length modulation (1/V).
    Drain current in the linear region ``beta (1 + lambda vds) vds (vgs - vt0 - vds/2)``, in saturation
    ``beta/2 (1 + lambda vds) (vgs - vt0)^2`` with ``beta = kp w / l`` (A/V^2); zero below threshold.
    """

    v_gate: float = 1.8
    vt0: float = 0.5
    kp: float = 200e-6
    w: float = 1e-6
    l: float = 0.1e-6
    lambda_: float = 0.0

    def __post_init__(self):
        check_number(self.v_gate, "AccessTransistor.v_gate (V)")
        check_number(self.vt0, "AccessTransistor.vt0 (V)")
        check_number(self.kp, "AccessTransistor.kp (A/V^2)", positive=True)
        check_number(self.w, "AccessTransistor.w (m)", positive=True)
        check_number(self.l, "AccessTransistor.l (m)", positive=True)
        check_number(self.lambda_, "AccessTransistor.lambda_ (1/V)", minimum=0.0)

    @property
    def beta(self) -> float:
        """kp w / l (A/V^2)."""
        return self.kp * self.w / self.l


@dataclass(frozen=True)
class CrossbarSpec:
    """One crossbar circuit (everything except the conductances and inputs).

    ``rows`` x ``cols`` logical cells; ``r_row``, ``r_col`` wire segment resistances, ``r_driver`` row
    driver and ``r_sense`` column sense resistances (ohm, >= 0; 0 merges nodes). ``device`` is the read
    I-V: ``"linear"`` (I = G V) or ``"sinh"`` (I = G v0 sinh(V / v0), ``v0`` in V). ``cell`` is
    ``"passive"`` or ``"1t1r"`` (with ``transistor``). ``differential``: each logical column is a G+/G-
    pair of physical columns and the output is I+ - I-. ``devices_per_polarity`` (N >= 1) devices per
    polarity on adjacent physical columns with ``significance`` factors (N values > 0, most significant
    first; default all 1): the output is sum_k f_k I_k / sum_k f_k over the device slots (module docstring).
    """

    rows: int
    cols: int
    r_row: float = 0.0
    r_col: float = 0.0
    r_driver: float = 0.0
    r_sense: float = 0.0
    device: str = "linear"
    v0: float | None = None
    cell: str = "passive"
    transistor: AccessTransistor = field(default_factory=AccessTransistor)
    differential: bool = False
    devices_per_polarity: int = 1
    significance: tuple[float, ...] | None = None

    def __post_init__(self):
        for name in ("rows", "cols"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 4096:
                raise ConfigError(f"CrossbarSpec.{name}: expected an integer in [1, 4096], got {value!r}")
        for name in ("r_row", "r_col", "r_driver", "r_sense"):
            check_number(getattr(self, name), f"CrossbarSpec.{name} (ohm)", minimum=0.0)
        if self.device not in DEVICES:
            raise ConfigError(f"CrossbarSpec.device: expected one of {DEVICES}, got {self.device!r}")
        if self.device == "sinh":
            if self.v0 is None:
                raise ConfigError("CrossbarSpec.v0: the 'sinh' device needs v0 (V) > 0")
            check_number(self.v0, "CrossbarSpec.v0 (V)", positive=True)
        elif self.v0 is not None:
            raise ConfigError("CrossbarSpec.v0: only the 'sinh' device takes v0; leave it None for 'linear'")
        if self.cell not in CELLS:
            raise ConfigError(f"CrossbarSpec.cell: expected one of {CELLS}, got {self.cell!r}")
        if not isinstance(self.transistor, AccessTransistor):
            raise ConfigError(f"CrossbarSpec.transistor: expected an AccessTransistor, got {self.transistor!r}")
        if not isinstance(self.differential, (bool, np.bool_)):
            raise ConfigError(f"CrossbarSpec.differential: expected True or False, got {self.differential!r}")
        object.__setattr__(self, "significance", check_unit_cell(self.devices_per_polarity, self.significance,
                                                                 "CrossbarSpec"))

    def to_dict(self) -> dict:
        """Plain dict of the fields by name (the transistor as a nested dict); inverse of :meth:`from_dict`."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        assert self.significance is not None  # a tuple since __post_init__
        out["significance"] = list(self.significance)
        out["transistor"] = {f.name: getattr(self.transistor, f.name) for f in fields(self.transistor)}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "CrossbarSpec":
        """Spec from :meth:`to_dict` output; unknown keys are a ConfigError naming them."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"CrossbarSpec: unknown field(s) {sorted(unknown)}")
        values = dict(data)
        if isinstance(values.get("transistor"), dict):
            extra = set(values["transistor"]) - {f.name for f in fields(AccessTransistor)}
            if extra:
                raise ConfigError(f"AccessTransistor: unknown field(s) {sorted(extra)}")
            values["transistor"] = AccessTransistor(**values["transistor"])
        return cls(**values)

    @property
    def polarities(self) -> int:
        """2 for G+/G- pairs (differential), else 1."""
        return 2 if self.differential else 1

    @property
    def physical_cols(self) -> int:
        """Number of physical columns: cols x polarities x devices_per_polarity."""
        return self.cols * self.polarities * self.devices_per_polarity

    @property
    def g_shape(self) -> tuple[int, ...]:
        """Expected shape of the conductance array: (rows, cols), or (2, rows, cols) when differential; with
        N = devices_per_polarity > 1, (N, rows, cols), or (2, N, rows, cols) when differential."""
        n = self.devices_per_polarity
        lead = ((2,) if self.differential else ()) + ((n,) if n > 1 else ())
        return lead + (self.rows, self.cols)


def check_unit_cell(devices_per_polarity, significance, owner: str) -> tuple[float, ...]:
    """Validated significance factors (a tuple of N floats, default all 1) of a unit cell with
    ``devices_per_polarity`` = N >= 1 devices per polarity; ConfigError naming ``owner``'s option otherwise.

    The factors weight the device slots' currents in the output (most significant first); they must be
    finite and > 0 (a zero or negative factor would drop or invert a device's contribution and the
    weighted average sum_k f_k G_k / sum_k f_k would no longer be a conductance in [0, g_max])."""
    n = devices_per_polarity
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 64:
        raise ConfigError(f"{owner}.devices_per_polarity: expected an integer in [1, 64] (devices per polarity "
                          f"of a unit cell), got {n!r}")
    if significance is None:
        return (1.0,) * int(n)
    try:
        factors = tuple(float(f) for f in significance)
    except (TypeError, ValueError):
        raise ConfigError(f"{owner}.significance: expected {n} numbers > 0 (one per device slot, most "
                          f"significant first), got {significance!r}") from None
    if len(factors) != n:
        raise ConfigError(f"{owner}.significance: expected {n} factors (one per device per polarity), "
                          f"got {len(factors)}: {factors}")
    if not all(np.isfinite(f) and f > 0 for f in factors):
        raise ConfigError(f"{owner}.significance: every factor must be finite and > 0 so that the weighted "
                          f"device average stays a conductance, got {factors}")
    return factors


def output_matrix(spec: CrossbarSpec) -> np.ndarray:
    """(physical_cols, cols) matrix M with logical outputs I = I_physical M: +f_k / sum f for G+ slots,
    -f_k / sum f for G- slots of the column's block (see the module docstring)."""
    n, polarities = spec.devices_per_polarity, spec.polarities
    factors = np.asarray(spec.significance, dtype=float)
    weights = factors / float(np.sum(factors))
    signs = np.array([1.0, -1.0][:polarities])
    block = (signs[:, None] * weights[None, :]).ravel()          # (polarities * n,), p = s n + k
    out = np.zeros((spec.cols, polarities * n, spec.cols))
    out[np.arange(spec.cols), :, np.arange(spec.cols)] = block
    return out.reshape(spec.physical_cols, spec.cols)


def check_conductances(spec: CrossbarSpec, g) -> np.ndarray:
    """Validated copy of the conductances ``g`` (S, >= 0) with shape ``spec.g_shape``."""
    array = check_array(g, "conductances g (S)", ndim=(1, 2, 3, 4), minimum=0.0)
    if array.shape != spec.g_shape:
        raise ConfigError(f"conductances g (S): expected shape {spec.g_shape} for this CrossbarSpec, got {array.shape}")
    return array


def check_inputs(spec: CrossbarSpec, v) -> np.ndarray:
    """Validated copy of the input voltages ``v`` (V), shape (n_vectors, rows); a 1-D vector becomes one row."""
    array = check_array(v, "input voltages v (V)", ndim=(1, 2))
    if array.ndim == 1:
        array = array[None, :]
    if array.shape[1] != spec.rows:
        raise ConfigError(f"input voltages v (V): expected shape (n_vectors, {spec.rows}), got {array.shape}")
    return array


def physical_conductances(spec: CrossbarSpec, g: np.ndarray) -> np.ndarray:
    """(rows, physical_cols) conductances (S): G+ and G- interleaved when differential, the device slots
    of each polarity adjacent (see the module docstring)."""
    if spec.physical_cols == spec.cols:
        return g
    stacked = np.reshape(g, (spec.polarities, spec.devices_per_polarity, spec.rows, spec.cols))
    return np.ascontiguousarray(stacked.transpose(2, 3, 0, 1)).reshape(spec.rows, spec.physical_cols)


def combine_outputs(spec: CrossbarSpec, currents: np.ndarray) -> np.ndarray:
    """Logical output currents (A) from physical column currents (n_vectors, physical_cols)."""
    if spec.physical_cols == spec.cols:
        return currents
    if spec.devices_per_polarity == 1:
        return currents[:, 0::2] - currents[:, 1::2]
    return currents @ output_matrix(spec)


def ideal_outputs(spec: CrossbarSpec, g, v) -> np.ndarray:
    """Ideal outputs (A) of ``spec``'s layout: every physical column V.G (no wires, no transistor, linear
    devices), combined into the logical outputs. Shape (n_vectors, cols)."""
    g_phys = physical_conductances(spec, check_conductances(spec, g))
    return combine_outputs(spec, check_inputs(spec, v) @ g_phys)


def ideal_currents(g, v) -> np.ndarray:
    """Ideal crossbar output V.G (A): ``v`` (n_vectors, rows) V, ``g`` (rows, cols) S or (2, rows, cols)
    S for differential pairs (then V.G+ - V.G-). Returns (n_vectors, cols)."""
    g = check_array(g, "conductances g (S)", ndim=(2, 3))
    v = check_array(v, "input voltages v (V)", ndim=(1, 2))
    v = v[None, :] if v.ndim == 1 else v
    if g.ndim == 3:
        if g.shape[0] != 2:
            raise ConfigError(f"conductances g (S): a 3-D array must be (2, rows, cols), got {g.shape}")
        g = g[0] - g[1]
    if v.shape[1] != g.shape[0]:
        raise ConfigError(f"input voltages v (V): expected {g.shape[0]} columns (one per row), got shape {v.shape}")
    return v @ g


@dataclass(frozen=True)
class Topology:
    """Node numbering of a crossbar (see the module docstring). Node 0 is ground.

    ``row``, ``col``, ``mid`` are (rows, physical_cols) node ids (``mid`` only for 1T1R); ``driver`` (rows,)
    the node held at V_i; ``sense`` (physical_cols,) the virtual-ground node of each column; ``gate`` the
    word-line node (-1 for passive); ``names`` the netlist name of every node; ``fixed`` marks nodes whose
    voltage is imposed by a source (ground, drivers, senses, gate).
    """

    names: tuple[str, ...]
    row: np.ndarray
    col: np.ndarray
    mid: np.ndarray | None
    driver: np.ndarray
    sense: np.ndarray
    gate: int
    fixed: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes including ground."""
        return len(self.names)


def topology(spec: CrossbarSpec) -> Topology:
    """Node ids and names of ``spec``'s circuit, zero resistances merged (see the module docstring)."""
    n, p = spec.rows, spec.physical_cols
    names: list[str] = ["0"]
    fixed: list[bool] = [True]

    def new(labels: list[str], is_fixed: bool) -> np.ndarray:
        start = len(names)
        names.extend(labels)
        fixed.extend([is_fixed] * len(labels))
        return np.arange(start, start + len(labels))

    ii, pp = np.meshgrid(np.arange(n), np.arange(p), indexing="ij")
    if spec.r_row > 0:
        row = new([f"r{i}_{j}" for i, j in zip(ii.ravel(), pp.ravel())], False).reshape(n, p)
    else:
        row = np.repeat(new([f"r{i}" for i in range(n)], False)[:, None], p, axis=1)
    if spec.r_driver > 0:
        driver = new([f"d{i}" for i in range(n)], True)
    else:
        driver = row[:, 0].copy()
        for node in np.unique(driver):
            fixed[node] = True
    if spec.r_col > 0:
        col = new([f"c{i}_{j}" for i, j in zip(ii.ravel(), pp.ravel())], False).reshape(n, p)
    else:
        col = np.repeat(new([f"c{j}" for j in range(p)], False)[None, :], n, axis=0)
    if spec.r_sense > 0:
        sense = new([f"s{j}" for j in range(p)], True)
    else:
        sense = col[n - 1].copy()
        for node in np.unique(sense):
            fixed[node] = True
    mid = None
    gate = -1
    if spec.cell == "1t1r":
        mid = new([f"m{i}_{j}" for i, j in zip(ii.ravel(), pp.ravel())], False).reshape(n, p)
        gate = int(new(["wl"], True)[0])
    return Topology(tuple(names), row, col, mid, driver, sense, gate, np.array(fixed))
