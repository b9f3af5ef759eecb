"""ADCs in SPICE: SAR and single-slope (ramp) netlists, transient characterization, static metrics, plots.

Units: V, s, J. ``characterize_adc(spec) -> ADCCharacterization`` runs the transfer-curve sweep through ngspice
and measures INL/DNL, ENOB and energy per conversion; the behavioral ADC model is built from it.
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".characterize": ["ADCCharacterization", "ADCRun", "characterize_adc", "simulate_adc"],
    ".metrics": ["Linearity", "enob_from_sweep", "linearity", "transitions_from_sweep"],
    ".netlist": ["RampADCSpec", "SARADCSpec", "build_ramp_netlist", "build_sar_netlist"],
    ".plots": ["plot_inl_dnl", "plot_transfer_curve"],
})
