"""Compact device models, their presets, lmfit fitting and model files.

Public API: :class:`PCMModel` (with :class:`LogLinearClip`, :class:`PowerLawClip`), :func:`preset`.
Fitting (lmfit): :func:`fit_pcm_model` -> :class:`PCMFitResult` (per part :class:`PartFit`), :class:`FitOptions`;
model files :func:`save_model` / :func:`load_model`; reports; :func:`fit_relaxation` for measured relaxation
and read-noise data; file workflows :func:`fit_files`, :func:`fit_relaxation_files`, :func:`sample_model`.
"""

from devicelab.devices.pcm import LogLinearClip, PCMModel, PowerLawClip, preset, PRESETS  # noqa: F401
from devicelab.devices.update import UpdateModel, load_update_model, save_update_model, update_preset  # noqa: F401
from devicelab.devices.update_fit import UpdateFitResult, fit_update_model  # noqa: F401
from devicelab.devices.fitbase import FitQualityWarning, ParamEstimate, PartFit  # noqa: F401
from devicelab.devices.fit_pcm import FitOptions, PCMFitResult, classify_table, fit_pcm_model  # noqa: F401
from devicelab.devices.modelfile import load_model, read_model_info, save_model  # noqa: F401
from devicelab.devices.relaxation import RelaxationResult, fit_relaxation  # noqa: F401
from devicelab.devices.report import write_fit_report, write_relaxation_report  # noqa: F401
from devicelab.devices.workflow import fit_files, fit_relaxation_files, sample_model, write_samples  # noqa: F401
from devicelab.devices.fit_drift import fit_activation_energy, fit_device_drift, nu_level_stats  # noqa: F401
from devicelab.devices.fit_noise import fit_psd, fit_series_psd, relative_psd  # noqa: F401
from devicelab.devices.fit_program import fit_read_iv, fit_sigma_prog, sigma_prog_levels  # noqa: F401
from devicelab.devices.mtj import MTJ_PRESETS, MTJModel, mtj_preset  # noqa: F401
from devicelab.devices.fit_mtj import MTJFitResult, fit_mtj_resistances  # noqa: F401
