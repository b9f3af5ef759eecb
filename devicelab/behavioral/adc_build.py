"""One call from an ADC spec to a characterized, exported behavioral ADC model (used by the CLI and the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devicelab.behavioral.adc import ADCModel, from_characterization, save_adc_model
from devicelab.errors import OutputError
from devicelab.files import atomic_folder
from devicelab.spice.adc.characterize import ADCCharacterization, characterize_adc
from devicelab.spice.adc.netlist import RampADCSpec, SARADCSpec
from devicelab.spice.adc.plots import plot_inl_dnl, plot_transfer_curve


@dataclass(frozen=True)
class ADCBuild:
    """Result of :func:`build_adc_model`: the ``model``, its ``characterization`` and the files written."""

    model: ADCModel
    characterization: ADCCharacterization
    model_path: Path | None
    figures: dict[str, Path]


def build_adc_model(spec, n_points: int, *, rng: np.random.Generator, n_heldout: int = 64,
                    output: str | Path | None = None, report_dir: str | Path | None = None,
                    checkpoint_dir: str | Path | None = None, timeout: float = 600.0,
                    progress: bool = False, overwrite: bool = True) -> ADCBuild:
    """Characterize ``spec`` in ngspice (``n_points`` sweep + ``n_heldout`` held-out inputs), build the model.

    Writes the model file to ``output`` and the transfer-curve and INL/DNL plots (PNG) to ``report_dir``
    when given (atomically; existing plots of the same name are replaced only with ``overwrite``). The
    held-out error is measured with the model's noise when it has any (drawn from ``rng``).
    """
    char = characterize_adc(spec, n_points, rng=rng, n_heldout=n_heldout, timeout=timeout,
                            checkpoint_dir=checkpoint_dir, progress=progress)
    model = from_characterization(char, rng)
    model_path = save_adc_model(model, output) if output is not None else None
    figures: dict[str, Path] = {}
    if report_dir is not None:
        stem = f"adc_{spec.kind}_{spec.bits}bit"
        with atomic_folder(report_dir, overwrite=overwrite) as folder:
            for name, plot in (("transfer", plot_transfer_curve), ("inl_dnl", plot_inl_dnl)):
                plot(char).savefig(folder / f"{stem}_{name}.png", dpi=110)
                figures[name] = Path(report_dir) / f"{stem}_{name}.png"
    return ADCBuild(model, char, model_path, figures)


def summary_lines(build: ADCBuild) -> list[str]:
    """Human-readable headline numbers of a build (units in the text)."""
    char, table = build.characterization, build.model.error_table
    lin = char.linearity
    lines = [f"{char.bits}-bit {char.spec.kind} ADC, input range [{char.v_min:g}, {char.v_max:g}] V, "
             f"LSB {lin.lsb * 1e3:.4g} mV, {char.inputs.size} sweep points "
             f"(transition levels to +-{char.transition_resolution:.3f} LSB)",
             f"offset (best fit)       {lin.offset * 1e3:+.4f} mV   (endpoint {lin.offset_endpoint * 1e3:+.4f} mV)",
             f"gain error (best fit)   {lin.gain_error * 100:+.4f} %    "
             f"(endpoint {lin.gain_error_endpoint * 100:+.4f} %)",
             f"max |INL|               {lin.max_inl:.4f} LSB best fit, {lin.max_inl_endpoint:.4f} LSB endpoint",
             f"max |DNL|               {lin.max_dnl:.4f} LSB, missing codes: {len(lin.missing_codes)}",
             f"ENOB                    {char.enob:.3f} bits (raw, incl. gain/offset: {char.enob_raw:.3f})",
             f"energy per conversion   {char.energy_per_conversion * 1e12:.4g} pJ",
             f"input-referred noise    {char.input_noise * 1e3:.4g} mV rms"]
    if table:
        lines.append(f"model vs SPICE (held out, n={table['n_inputs']}): {table['fraction_exact'] * 100:.1f} % exact "
                     f"codes, max |code error| {table['max_abs_code_error']} (ideal ADC: "
                     f"{table['ideal_fraction_exact'] * 100:.1f} % exact)")
    return lines


def demo_adc_models(out: str | Path, rng: np.random.Generator) -> tuple[dict[str, Path], list[tuple[str, str]]]:
    """The demo's ADC step: a 6-bit SAR and a 5-bit ramp ADC characterized and exported into ``out``/adc.

    Returns the model paths by kind and the report sections (title, Markdown with image links relative to
    ``out``).
    """
    out = Path(out)
    folder = out / "adc"
    specs: dict[str, SARADCSpec | RampADCSpec] = {
        "sar": SARADCSpec(bits=6, comparator_offset=3e-3, comparator_noise=0.5e-3, cap_mismatch=0.02),
        "ramp": RampADCSpec(bits=5, comparator_offset=3e-3, r_leak=1e9)}
    paths: dict[str, Path] = {}
    sections = []
    for kind, spec in specs.items():
        build = build_adc_model(spec, 8 * 2**spec.bits, rng=rng, n_heldout=64,
                                output=folder / f"adc_{kind}_{spec.bits}bit.h5", report_dir=folder)
        if build.model_path is None:  # build_adc_model writes the model whenever output is given
            raise OutputError(f"{folder}: no {kind} ADC model file was written")
        paths[kind] = build.model_path
        params = ", ".join(f"{k}={v}" for k, v in spec.to_dict().items())
        body = ["```", *summary_lines(build), "```", "", f"Parameters: {params}.",
                f"Model file: `{build.model_path.relative_to(out)}`.", ""]
        body += [f"![{name}]({path.relative_to(out)})" for name, path in build.figures.items()]
        sections.append((f"ADC: {spec.bits}-bit {kind.upper()} (ngspice transient)", "\n".join(body)))
    return paths, sections
