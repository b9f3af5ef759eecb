"""ADC benchmark: ngspice transient time per conversion vs the behavioral ADC model, and the model's accuracy.

Run: ``python benchmarks/bench_adc.py`` (about 2-4 minutes on 2 shared cores). Prints, for a 6-bit SAR and a
6-bit ramp ADC: ngspice time per conversion (amortized over a sweep in few runs), behavioral ``convert`` time
per conversion (10^6 float32 inputs, best of 5), their ratio, and the model-vs-SPICE held-out error table; then
the cell-table lookup of ``ADCModel.convert`` against a binary search and a float32 multiply-add.
"""

from __future__ import annotations

import time

import numpy as np

from devicelab.behavioral.adc import from_characterization, ideal_adc
from devicelab.spice.adc.characterize import characterize_adc
from devicelab.spice.adc.netlist import RampADCSpec, SARADCSpec


def _best(fn, repeats: int = 5) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    v = rng.uniform(0.0, 1.0, 1_000_000).astype(np.float32)
    specs = [SARADCSpec(bits=6, cap_mismatch=0.02, comparator_offset=3e-3),
             RampADCSpec(bits=6, comparator_offset=3e-3, r_leak=1e9)]
    print("| ADC | ngspice s/conversion | model s/conversion | ratio | held-out exact (model / ideal) | max code err |")
    print("|---|---|---|---|---|---|")
    for spec in specs:
        start = time.perf_counter()
        char = characterize_adc(spec, 8 * 2**spec.bits, rng=rng, n_heldout=256)
        spice_time = (time.perf_counter() - start) / (char.inputs.size + char.heldout_inputs.size)
        model = from_characterization(char)
        model_time = _best(lambda: model.convert(v)) / v.size
        table = model.error_table
        print(f"| {spec.bits}-bit {spec.kind} | {spice_time:.3g} | {model_time:.3g} | {spice_time / model_time:.3g} "
              f"| {table['fraction_exact']:.3f} / {table['ideal_fraction_exact']:.3f} "
              f"| {table['max_abs_code_error']} |")
    ideal = ideal_adc(6, 0.0, 1.0)
    levels32 = ideal.transitions.astype(np.float32)
    lookup = _best(lambda: ideal.convert(v)) / v.size
    search = _best(lambda: np.searchsorted(levels32, v, side="right")) / v.size
    madd = _best(lambda: v * np.float32(64.0) + np.float32(0.5)) / v.size
    print()
    print("| 6-bit convert of 10^6 float32 inputs | s/element | vs cell lookup |")
    print("|---|---|---|")
    print(f"| ADCModel.convert (cell lookup) | {lookup:.3g} | 1 |")
    print(f"| np.searchsorted over the levels | {search:.3g} | {search / lookup:.3g} |")
    print(f"| float32 multiply-add (floor of any per-element op) | {madd:.3g} | {madd / lookup:.3g} |")


if __name__ == "__main__":
    main()
