"""Versioned HDF5 device-model files: :func:`save_model` and :func:`load_model`.

Layout (format ``devicelab.device_model``, format_version 2; root attributes per :mod:`devicelab.files`)::

    /model                      attrs: kind = "PCMModel", name
        g_max, t0, t_read, ...  scalar datasets with attrs units and stderr (NaN when unknown)
        prog_coeffs             1-D dataset (S) with a ``stderr`` dataset-attribute of the same length
        g_range                 1-D dataset (S) of 2: the target range the laws were fitted on (absent: unstated)
        nu_mean/ nu_std/        groups, attr ``law`` = drift-law family (loglinear, linear, quadratic, pchip),
                                one dataset per parameter of :mod:`devicelab.devices.laws` (dimensionless;
                                scalars, or 1-D for the PCHIP knots g_rel_knots / y_knots; +-inf when a clip
                                is unused)
        read_noise/             group (attr law = "power") of scalars c, exponent, q_max
                                optional fields that are None (activation_energy, v0, g_max_clip) are absent

Version 1 files (no ``law`` attribute: both drift laws are log-linear; no g_range) are still read.
    /fit/<part>                 attrs: formula, chisqr, redchi, aic, bic, n_points, success, criterion;
                                one scalar dataset per parameter (attrs units, stderr, min, max)
    /validity                   attrs: g_min, g_max (S), t_min, t_max (s), temperatures (K) of the data

The root ``provenance`` attribute (JSON) holds the input files with their SHA-256 hashes, the fit notes and
statistics, and whatever the caller adds. Files are written atomically.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import h5py
import numpy as np

from devicelab.devices.fit_pcm import PCMFitResult
from devicelab.devices.pcm import PRESETS, PCMModel, preset
from devicelab.errors import ConfigError, ModelFileError
from devicelab.files import atomic_output, check_header, write_dataset, write_header

FORMAT = "devicelab.device_model"
FORMAT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)

#: Unit of every PCMModel field (sub-fields of the laws are dimensionless).
FIELD_UNITS = {
    "g_max": "S", "prog_coeffs": "S", "t0": "s", "t_read": "s", "activation_energy": "eV",
    "t_ref_temperature": "K", "v0": "V", "g_max_clip": "S", "g_range": "S",
}
_LAWS = ("nu_mean", "nu_std", "read_noise")


def _nan_if_none(value):
    return math.nan if value is None else float(value)


def save_model(result_or_model: PCMFitResult | PCMModel, path, provenance: dict | None = None) -> Path:
    """Write a fitted model (or a plain :class:`PCMModel`) to ``path`` as a versioned HDF5 file.

    ``provenance`` is merged into the file's provenance record (e.g. ``{"inputs": [{"path", "sha256"}]}``).
    A :class:`PCMFitResult` also stores its per-part fits, sources and validity range.
    Returns the path written.
    """
    if isinstance(result_or_model, PCMFitResult):
        model, result = result_or_model.model, result_or_model
    elif isinstance(result_or_model, PCMModel):
        model, result = result_or_model, None
    else:
        raise ConfigError(f"save_model needs a PCMFitResult or PCMModel, got {type(result_or_model).__name__}")
    prov: dict[str, object] = {"model_name": model.name}
    if result is not None:
        prov.update(sources=list(result.sources), notes=list(result.notes),
                    fit_statistics={k: {s: v for s, v in p.summary().items() if s != "params"}
                                    for k, p in result.parts.items()})
    prov.update(provenance or {})
    path = Path(path)
    data = model.to_dict()
    unc = model.uncertainties or {}
    with atomic_output(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as h5:
            write_header(h5, FORMAT, FORMAT_VERSION, prov)
            grp = h5.create_group("model")
            grp.attrs["kind"] = "PCMModel"
            grp.attrs["name"] = model.name
            for key, value in data.items():
                if key in ("name", "uncertainties") or value is None:
                    continue
                if key in _LAWS:
                    _write_law(grp.create_group(key), value, unc.get(key) or {})
                elif key == "prog_coeffs":
                    err = unc.get(key) or [math.nan] * len(value)
                    write_dataset(grp, key, np.asarray(value, float), "S", stderr=np.asarray(err, float))
                elif key == "g_range":
                    write_dataset(grp, key, np.asarray(value, float), "S")
                else:
                    write_dataset(grp, key, float(value), FIELD_UNITS[key], stderr=_nan_if_none(unc.get(key)))
            if result is not None:
                _write_fits(h5, result)
    return path


def _write_law(grp, law: dict, unc: dict) -> None:
    grp.attrs["law"] = law["law"]
    for k, v in law.items():
        if k == "law":
            continue
        err = unc.get(k, math.nan)
        if isinstance(v, list):
            err = np.full(len(v), math.nan) if not isinstance(err, list) else np.asarray(err, float)
            write_dataset(grp, k, np.asarray(v, float), "1", stderr=err)
        else:
            write_dataset(grp, k, float(v), "1", stderr=_nan_if_none(err))


def _read_law(grp, default: str) -> tuple[dict, dict]:
    data: dict[str, str | float | list[float]] = {"law": str(grp.attrs.get("law", default))}
    unc: dict[str, float | list[float]] = {}
    for k in grp:
        ds = grp[k]
        if ds.ndim == 0:
            data[k], unc[k] = _scalar(ds)
        else:
            data[k] = [float(v) for v in ds[()]]
            unc[k] = [float(e) for e in np.atleast_1d(ds.attrs.get("stderr", []))]
    return data, unc


def _write_fits(h5, result: PCMFitResult) -> None:
    fits = h5.create_group("fit")
    for name, part in result.parts.items():
        grp = fits.create_group(name)
        grp.attrs.update(formula=part.formula, chisqr=part.chisqr, redchi=part.redchi, aic=part.aic,
                         bic=part.bic, n_points=part.n_points, success=part.success, criterion=part.criterion,
                         candidates=json.dumps(list(part.candidates)))
        for key, p in part.params.items():
            write_dataset(grp, key, p.value, p.units, stderr=p.stderr, min=p.min, max=p.max)
    val = h5.create_group("validity")
    for key, value in result.validity.items():
        val.attrs[key] = value


def _scalar(ds) -> tuple[float, float]:
    return float(ds[()]), float(ds.attrs.get("stderr", math.nan))


def load_model(path) -> PCMModel:
    """Read a device-model file written by :func:`save_model`; its uncertainties are in ``model.uncertainties``.

    Raises :class:`ModelFileError` for a missing, truncated or corrupt file, another format, an unsupported
    format_version, or an incomplete model description.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with h5py.File(path, "r") as h5:
            check_header(h5, path, FORMAT, SUPPORTED_VERSIONS)
            if "model" not in h5:
                raise ModelFileError(f"{path}: no /model group (corrupt or incomplete model file)")
            grp = h5["model"]
            if grp.attrs.get("kind") != "PCMModel":
                raise ModelFileError(f"{path}: unsupported model kind {grp.attrs.get('kind')!r} "
                                     f"(this devicelab reads 'PCMModel')")
            data: dict = {"name": str(grp.attrs.get("name", "custom"))}
            unc: dict = {}
            for key in grp:
                item = grp[key]
                if key in _LAWS:
                    data[key], unc[key] = _read_law(item, "power" if key == "read_noise" else "loglinear")
                elif key == "g_range":
                    data[key] = tuple(float(g) for g in item[()])
                elif key == "prog_coeffs":
                    data[key] = [float(c) for c in item[()]]
                    unc[key] = [float(e) for e in np.atleast_1d(item.attrs.get("stderr", []))]
                else:
                    data[key], unc[key] = _scalar(item)
    except ModelFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ModelFileError(f"{path}: cannot read device model ({exc})") from exc
    try:
        model = PCMModel.from_dict(data)
    except ConfigError as exc:
        raise ModelFileError(f"{path}: invalid model description ({exc})") from exc
    return dataclasses.replace(model, uncertainties=unc)


def read_model_info(path) -> dict:
    """Everything in a model file as a JSON-friendly dict: header, model, uncertainties, fits, validity."""
    model = load_model(path)
    with h5py.File(path, "r") as h5:
        info = {
            "path": str(path),
            "format": str(h5.attrs["format"]),
            "format_version": int(h5.attrs["format_version"]),
            "created_by": str(h5.attrs.get("created_by", "")),
            "provenance": json.loads(h5.attrs.get("provenance", "{}")),
            "model": model.to_dict(),
            "units": dict(FIELD_UNITS),
            "fits": {},
            "validity": {k: float(v) for k, v in h5["validity"].attrs.items()} if "validity" in h5 else {},
        }
        for name, grp in (h5["fit"].items() if "fit" in h5 else []):
            info["fits"][name] = {
                "formula": str(grp.attrs["formula"]),
                **{k: float(grp.attrs[k]) for k in ("chisqr", "redchi", "aic", "bic", "n_points")},
                "criterion": str(grp.attrs.get("criterion", "")),
                "candidates": json.loads(grp.attrs.get("candidates", "[]")),
                "params": {k: {"value": float(ds[()]), "stderr": float(ds.attrs["stderr"]),
                               "units": str(ds.attrs["units"])} for k, ds in grp.items()},
            }
    info["model"]["uncertainties"] = model.uncertainties
    return info


def resolve_model(ref: str | os.PathLike) -> PCMModel:
    """A :class:`PCMModel` from a preset name (see :data:`~devicelab.devices.pcm.PRESETS`) or a model file path.

    A string that names a preset is taken as the preset; anything else is read with :func:`load_model`.
    """
    if isinstance(ref, str) and ref in PRESETS:
        return preset(ref)
    return load_model(ref)
