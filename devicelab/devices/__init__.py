"""Compact device models, their presets, lmfit fitting and model files.

Public API: :class:`PCMModel` (with :class:`LogLinearClip`, :class:`PowerLawClip`), :func:`preset`.
"""

from devicelab.devices.pcm import LogLinearClip, PCMModel, PowerLawClip, preset, PRESETS  # noqa: F401
from devicelab.devices.update import UpdateModel, load_update_model, save_update_model, update_preset  # noqa: F401
from devicelab.devices.update_fit import UpdateFitResult, fit_update_model  # noqa: F401
