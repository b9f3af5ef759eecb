"""Compact device models, their presets, lmfit fitting and model files.

Public API: :class:`PCMModel` (drift laws :class:`LogLinearClip`, :class:`LinearClip`, :class:`QuadraticClip`,
:class:`PchipLaw`; read noise :class:`PowerLawClip`; the plain law functions in :mod:`devicelab.devices.laws`;
defaults in :mod:`devicelab.devices.constants`), :func:`preset`, :func:`resolve_model` (preset name or model file);
:func:`export_aihwkit` (aihwkit JSON). MTJ (MRAM) devices: :class:`MTJModel`, :func:`mtj_preset`,
:func:`fit_mtj_resistances`. Pulse-update models for in-memory training: :class:`UpdateModel`, :func:`update_preset`.
Fitting (lmfit): :func:`fit_pcm_model` -> :class:`PCMFitResult` (per part :class:`PartFit`), :class:`FitOptions`;
model files :func:`save_model` / :func:`load_model`; reports; :func:`fit_relaxation` for measured relaxation
and read-noise data; file workflows :func:`fit_files`, :func:`fit_relaxation_files`, :func:`sample_model`.
"""

from devicelab._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".pcm": ["LogLinearClip", "PCMModel", "PowerLawClip", "preset", "PRESETS"],
    ".laws": ["DRIFT_LAWS", "LinearClip", "PchipLaw", "QuadraticClip"],
    ".update": ["UpdateModel", "load_update_model", "save_update_model", "update_preset"],
    ".update_fit": ["UpdateFitResult", "fit_update_model"],
    ".fitbase": ["FitQualityWarning", "ParamEstimate", "PartFit"],
    ".fit_pcm": ["FitOptions", "PCMFitResult", "classify_table", "fit_pcm_model"],
    ".modelfile": ["load_model", "read_model_info", "resolve_model", "save_model"],
    ".relaxation": ["RelaxationResult", "fit_relaxation"],
    ".report": ["write_fit_report", "write_relaxation_report"],
    ".workflow": ["fit_files", "fit_relaxation_files", "sample_model", "write_samples"],
    ".fit_drift": ["fit_activation_energy", "fit_device_drift", "nu_level_stats"],
    ".fit_noise": ["fit_psd", "fit_series_psd", "relative_psd"],
    ".fit_program": ["fit_read_iv", "fit_sigma_prog", "sigma_prog_levels"],
    ".mtj": ["MTJ_PRESETS", "MTJModel", "mtj_preset"],
    ".fit_mtj": ["MTJFitResult", "fit_mtj_resistances"],
    ".aihwkit_export": ["aihwkit_parameters", "export_aihwkit"],
})
