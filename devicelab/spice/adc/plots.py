"""Plots of an ADC characterization: transfer curve and INL/DNL. Each returns a matplotlib Figure."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from devicelab.spice.adc.metrics import ideal_transitions


def plot_transfer_curve(char) -> Figure:
    """Simulated codes vs input voltage (V) of an ADCCharacterization, with the ideal staircase."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ideal = ideal_transitions(char.bits, char.v_min, char.v_max)
    edges = np.concatenate([[char.inputs[0]], ideal, [char.inputs[-1]]])
    ax.stairs(np.arange(2**char.bits), edges, baseline=None, color="0.6", label="ideal")
    ax.plot(char.inputs, char.codes, ".", ms=3, label=f"ngspice ({char.spec.kind})")
    ax.set_xlabel("input voltage (V)")
    ax.set_ylabel("output code")
    ax.set_title(f"{char.bits}-bit {char.spec.kind.upper()} ADC transfer curve")
    ax.legend(loc="upper left")
    return fig


def plot_inl_dnl(char) -> Figure:
    """INL (endpoint and best-fit, per transition) and DNL (per code), in LSB, of an ADCCharacterization."""
    lin = char.linearity
    fig = Figure(figsize=(6.4, 5.0), layout="constrained")
    ax_inl, ax_dnl = fig.subplots(2, 1, sharex=True)
    k = np.arange(1, lin.inl_endpoint.size + 1)
    ax_inl.plot(k, lin.inl_endpoint, "o-", ms=3, label="endpoint")
    ax_inl.plot(k, lin.inl_bestfit, "s-", ms=3, label="best fit")
    ax_inl.axhline(0.0, color="0.6", lw=0.8)
    ax_inl.set_ylabel("INL (LSB)")
    ax_inl.legend()
    ax_dnl.bar(np.arange(1, lin.dnl.size + 1), lin.dnl, color="C2")
    ax_dnl.axhline(0.0, color="0.6", lw=0.8)
    ax_dnl.set_ylabel("DNL (LSB)")
    ax_dnl.set_xlabel("code (transition k for INL)")
    ax_inl.set_title(f"{char.bits}-bit {char.spec.kind.upper()} ADC: max |INL| {lin.max_inl:.3f} LSB (best fit), "
                     f"max |DNL| {lin.max_dnl:.3f} LSB; transitions to +-{char.transition_resolution:.3f} LSB",
                     fontsize=8)
    return fig
