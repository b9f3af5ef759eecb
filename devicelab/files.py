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
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from devicelab.errors import InputFileError, ModelFileError, OutputError

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def check_writable(path: str | os.PathLike, *, folder: bool = False, overwrite: bool = True,
                   what: str = "output") -> Path:
    """Check, before any work, that ``path`` (a file, or a folder with ``folder=True``) can be written.

    The nearest existing parent must be a folder this process can create files in (tried for real, so a
    read-only file system or a missing permission is found even when running as root). An existing file,
    or an existing non-empty folder, is refused unless ``overwrite``. Raises
    :class:`~devicelab.errors.OutputError` naming the path and what was expected; returns ``Path(path)``.
    """
    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            raise OutputError(f"{what} folder {path} is an existing file; expected a folder (or a new name)")
        if not folder and path.is_dir():
            raise OutputError(f"{what} file {path} is an existing folder; expected a file name")
        if not overwrite and (not folder or any(path.iterdir())):
            kind = "file" if not folder else "folder (not empty)"
            raise OutputError(f"{what} {kind} {path} already exists; pass --overwrite to replace it, "
                              f"or choose another name")
    parent = path if folder and path.is_dir() else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {what} {path}: {parent} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".devicelab-probe-", dir=parent)
    except OSError as exc:
        raise OutputError(f"cannot write {what} {path}: folder {parent} is not writable ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)
    return path


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary folder next to ``path`` to write a report into; publish it only if the block succeeds.

    Every report folder is written this way: an interrupted run (an error, Ctrl-C) leaves no half-written
    report, only the temporary folder's removal. A new ``path`` is created by renaming the temporary folder;
    into an existing folder the files are renamed one by one (each atomic; ``report.*`` last), other files
    there are kept, and files of the same name are replaced only with ``overwrite`` (else
    :class:`~devicelab.errors.OutputError`, nothing published).
    """
    path = Path(path)
    check_writable(path, folder=True, overwrite=True, what="report")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        if not path.exists():
            os.replace(tmp, path)
            return
        entries = sorted(tmp.iterdir(), key=lambda p: (p.stem == "report", p.name))
        clashes = [p.name for p in entries if (path / p.name).exists()]
        if clashes and not overwrite:
            raise OutputError(f"report folder {path} already holds {', '.join(clashes)}; pass --overwrite to "
                              f"replace them, or choose another folder")
        for entry in entries:
            if entry.is_dir() and (path / entry.name).is_dir():
                shutil.rmtree(path / entry.name)
            os.replace(entry, path / entry.name)
        tmp.rmdir()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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


def load_numpy(path: str | os.PathLike, what: str, *, archive_ok: bool = False):
    """Load a .npy array (or, with ``archive_ok``, an .npz archive) of ``what`` without ever unpickling.

    The file's first bytes are checked first, so a text file, a CSV or anything else named ``.npy`` is
    reported as "not a NumPy file" (numpy itself would call it pickled data). Raises
    :class:`~devicelab.errors.InputFileError` naming the file; returns an ndarray or an open NpzFile.
    """
    import numpy as np

    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise InputFileError(path, f"cannot read {what} ({exc.strerror or exc})") from None
    is_zip = head[:4] == _ZIP_MAGIC
    if head != _NPY_MAGIC and not (archive_ok and is_zip):
        found = "an .npz archive" if is_zip else "empty" if not head else f"starts with {head!r}"
        expected = ".npy (or .npz)" if archive_ok else ".npy"
        raise InputFileError(path, f"{what}: not a NumPy {expected} file ({found}); save arrays with numpy.save")
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "Object arrays" in str(exc) or "pickled" in str(exc):
            raise InputFileError(path, f"{what}: holds Python objects (dtype=object), which devicelab never "
                                       f"unpickles; save a numeric array") from None
        raise InputFileError(path, f"{what}: damaged or truncated NumPy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise InputFileError(path, f"{what}: damaged or truncated NumPy file ({exc})") from None
    return loaded


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


def write_texts(directory: str | os.PathLike, texts: dict[str, str]) -> list[Path]:
    """Write each ``name -> text`` of ``texts`` as a file in ``directory``, atomically; return the paths."""
    paths = []
    for name, text in texts.items():
        path = Path(directory) / name
        with atomic_output(path, suffix=Path(name).suffix) as tmp:
            tmp.write_text(text)
        paths.append(path)
    return paths
