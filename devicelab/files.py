"""File conventions shared by every stage: atomic writes, content hashes and HDF5 headers.

Every devicelab HDF5 file carries the root attributes ``format``, ``format_version``, ``created_by``
(devicelab version) and ``provenance`` (JSON text); every dataset carries a ``units`` attribute.
Readers check format and version and fail clearly on unknown ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from devicelab.errors import ModelFileError


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    Nothing half-written is ever left at ``path``: on any exception the temporary file is removed
    and ``path`` keeps its previous content (or stays absent).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the mode a plain open() would (0666 minus umask).
        umask = os.umask(0)
        os.umask(umask)
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes (for provenance records)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a text (e.g. a netlist) encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_header(h5file, fmt: str, version: int, provenance: dict) -> None:
    """Write the standard root attributes of a devicelab HDF5 file."""
    from devicelab import __version__

    h5file.attrs["format"] = fmt
    h5file.attrs["format_version"] = int(version)
    h5file.attrs["created_by"] = f"devicelab {__version__}"
    h5file.attrs["provenance"] = json.dumps(provenance, sort_keys=True, default=str)


def check_header(h5file, path, fmt: str, supported_versions: tuple[int, ...]) -> dict:
    """Check format and version of an open HDF5 file; return its provenance dict.

    Raises :class:`ModelFileError` naming the file and what was expected.
    """
    found = h5file.attrs.get("format")
    if isinstance(found, bytes):
        found = found.decode()
    if found != fmt:
        raise ModelFileError(f"{path}: expected a devicelab '{fmt}' file, found format {found!r}")
    version = h5file.attrs.get("format_version")
    version = None if version is None else int(version)
    if version is None or version not in supported_versions:
        raise ModelFileError(
            f"{path}: '{fmt}' format_version {version!r} is not supported "
            f"(this devicelab reads versions {', '.join(map(str, supported_versions))})"
        )
    try:
        return json.loads(h5file.attrs.get("provenance", "{}"))
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: 'provenance' attribute is not valid JSON ({exc})") from exc


def write_dataset(group, name: str, data, units: str, **attrs):
    """Create a dataset with its mandatory ``units`` attribute (use "1" for dimensionless)."""
    ds = group.create_dataset(name, data=data)
    ds.attrs["units"] = units
    for key, value in attrs.items():
        ds.attrs[key] = value
    return ds
