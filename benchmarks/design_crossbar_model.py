"""Design evidence for the behavioral crossbar model: how candidate methods compare with the exact circuit.

Run: ``python benchmarks/design_crossbar_model.py`` (about 1 minute). Prints the tables quoted in
docs/design/crossbar_model.md:

1. Error of candidate transfer matrices on 64 x 64 arrays whose wire resistance is scaled to the IR-drop
   regimes of 256 x 256 / 2 ohm and 512 x 512 / 5 ohm segments (the drop along a line grows with
   r n^2, so r_64 = r (n / 64)^2). Exact reference: the transfer matrix A of the nodal solver (one solve per
   row driven at 1 V; linear cells). Conductances uniform in [0.25, 25] uS; 256 input vectors each of dense
   uniform [0, 0.2] V, sparse (10 % of rows uniform [0, 0.2] V, the rest 0) and signed (normal, standard
   deviation 0.1 V, clipped to +-0.2 V). Error =
   rms(I_method - I_exact) / rms(I_exact).
2. The singular values of the error E = A - A0 of the line-attenuation model against its projection on k
   smooth (cosine) probes on both sides: why the model corrects E with probes instead of a low-rank fit.
3. Relaxation sweeps the probe responses need at the full sizes (256 x 256 / 2 ohm, 512 x 512 / 5 ohm).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from devicelab.behavioral.crossbar_model import BENCHMARK_VALIDITY, CrossbarModel, ModelSettings, _cosines
from devicelab.spice.crossbar.nodal import solve_nodal
from devicelab.spice.crossbar.spec import CrossbarSpec

N = 64
REGIMES = ((256, 2.0), (512, 5.0))  # (size, ohm per segment) whose IR drop the 64 x 64 arrays reproduce
G_RANGE = (0.25e-6, 25e-6)  # S
V_MAX = 0.2  # V
# the scaled 64 x 64 wires (32 and 320 ohm) lie outside the shipped validity range on purpose: they stand in for
# the IR drop of the large arrays
STUDY_VALIDITY = dataclasses.replace(BENCHMARK_VALIDITY, r_wire=(0.0, 1e3))


def _bind(g: np.ndarray, r: float, settings: ModelSettings | None = None):
    return CrossbarModel.from_params(r, r, settings=settings, validity=STUDY_VALIDITY).bind(g)


def _inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    dense = rng.uniform(0.0, V_MAX, (256, N))
    sparse = rng.uniform(0.0, V_MAX, (256, N)) * (rng.random((256, N)) < 0.1)
    signed = np.clip(rng.normal(0.0, V_MAX / 2, (256, N)), -V_MAX, V_MAX)
    return {"dense": dense, "sparse": sparse, "signed": signed}


def _error(a_t: np.ndarray, a_exact_t: np.ndarray, v: np.ndarray) -> float:
    exact = v @ a_exact_t
    return float(np.sqrt(np.mean((v @ a_t - exact) ** 2) / np.mean(exact**2)))


def _candidates(g: np.ndarray, r: float, a_exact_t: np.ndarray) -> dict[str, np.ndarray]:
    """Transfer matrices (rows, cols), I = V A^T, of every candidate method."""
    spec = CrossbarSpec(N, N, r_row=r, r_col=r)
    a0_t = _bind(g, r, ModelSettings(n_probes=0)).a_t.astype(float)
    # effective conductances from one exact solve at a reference input (all rows at V_MAX): G_eff = G v_cell / V
    v_ref = np.full((1, N), V_MAX)
    _, nodes = solve_nodal(spec, g, v_ref, return_node_voltages=True)
    g_eff = g * nodes.cell[0] / V_MAX
    # rank-1 correction that makes A0 exact on the uniform input direction u = 1 / sqrt(N)
    u = np.full((N, 1), 1 / np.sqrt(N))
    rank1_t = a0_t + u @ (u.T @ (a_exact_t - a0_t))
    out = {"ideal V.G": g, "line attenuations A0 (alpha beta)": a0_t,
           "G_eff from one exact solve at V = 0.2 V": g_eff, "A0 + rank-1 on the uniform input": rank1_t}
    e_t = a_exact_t - a0_t
    u_svd, s, vt = np.linalg.svd(e_t)
    for k in (4, 8):
        out[f"A0 + best rank-{k} of E (SVD, needs the exact A)"] = a0_t + (u_svd[:, :k] * s[:k]) @ vt[:k]
    for k in (2, 4, 8):
        bound = _bind(g, r, ModelSettings(n_probes=k, tol=1e-6, max_iter=2000))
        out[f"A0 + two-sided probes, k = {k} (the model)"] = bound.a_t.astype(float)
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    inputs = _inputs(rng)
    g = rng.uniform(*G_RANGE, (N, N))
    results, spectra = {}, {}
    for size, r_full in REGIMES:
        r = r_full * (size / N) ** 2
        spec = CrossbarSpec(N, N, r_row=r, r_col=r)
        a_exact_t = solve_nodal(spec, g, np.eye(N))  # row i: currents with row i at 1 V -> A^T
        for name, a_t in _candidates(g, r, a_exact_t).items():
            results.setdefault(name, []).extend(_error(a_t, a_exact_t, v) for v in inputs.values())
        a0_t = _bind(g, r, ModelSettings(n_probes=0)).a_t.astype(float)
        e_t = a_exact_t - a0_t
        s = np.linalg.svd(e_t, compute_uv=False)
        spectra[(size, r_full)] = (s, e_t)
    heads = [f"{size}x{r:g} ohm {kind}" for size, r in REGIMES for kind in inputs]
    print(f"1. rms error vs exact, {N} x {N} arrays scaled to the regimes "
          f"(r_64 = {', '.join(f'{r * (size / N) ** 2:g}' for size, r in REGIMES)} ohm)")
    print("| method | " + " | ".join(heads) + " |")
    print("|---|" + "---|" * len(heads))
    for name, errs in results.items():
        print(f"| {name} | " + " | ".join(f"{100 * e:.3g} %" for e in errs) + " |")

    print("\n2. E = A - A0: singular values (relative to the largest) vs the part left by k smooth probes per side")
    print("| regime | s_2/s_1 | s_5/s_1 | s_9/s_1 | s_17/s_1 | "
          "rough-rough part of E after k = 4 / 8 probes (fraction of ||E||_F) |")
    print("|---|---|---|---|---|---|")
    for (size, r_full), (s, e_t) in spectra.items():
        left = []
        for k in (4, 8):
            p = _cosines(N, k)
            rough = e_t - p @ (p.T @ e_t) - (e_t @ p) @ p.T + p @ (p.T @ e_t @ p) @ p.T
            left.append(np.linalg.norm(rough) / np.linalg.norm(e_t))
        print(f"| {size}x{size} / {r_full:g} ohm | {s[1] / s[0]:.3f} | {s[4] / s[0]:.3f} | {s[8] / s[0]:.3f} | "
              f"{s[16] / s[0]:.3f} | {100 * left[0]:.2g} % / {100 * left[1]:.2g} % |")

    print("\n3. probe relaxation at full size (default ModelSettings: k = 4, tol 3e-3)")
    print("| array | wire (ohm) | sweeps | converged | bind time (s) |")
    print("|---|---|---|---|---|")
    for size, r_full in REGIMES:
        g_full = rng.uniform(*G_RANGE, (size, size))
        start = time.perf_counter()
        bound = _bind(g_full, r_full)
        elapsed = time.perf_counter() - start
        print(f"| {size}x{size} | {r_full:g} | {bound.info['iterations']} | {bound.info['converged']} | "
              f"{elapsed:.2f} |")


if __name__ == "__main__":
    main()
