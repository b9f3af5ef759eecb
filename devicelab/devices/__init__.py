"""Compact device models, their presets, lmfit fitting and model files.

Public API: :class:`PCMModel` (with :class:`LogLinearClip`, :class:`PowerLawClip`), :func:`preset`.
"""

from devicelab.devices.pcm import LogLinearClip, PCMModel, PowerLawClip, preset, PRESETS  # noqa: F401
