"""Fast text-table parsing for measurement files (CSV/TSV, optionally gzip-compressed).

The whole file is read and decompressed at once and handed to numpy's C parser (``np.loadtxt``) for the
columns that are needed. Parse errors are located by halving the data lines until the first bad line is
found (the cost of about one more parse), then that single line is examined to name the row, the field
and the offending value. Blank lines and lines starting with ``#`` are skipped and not counted as rows.
"""

from __future__ import annotations

import gzip
import hashlib
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devicelab.errors import InputFileError

_EXTENSION_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}


@dataclass(frozen=True)
class TextFile:
    """Lines of a decoded text table and how to split them.

    ``names`` are the header names (None without header); ``lines`` are the lines after the header;
    ``delimiter`` is None for runs of whitespace.
    """

    path: Path
    lines: list
    names: list | None
    delimiter: str | None
    sha256: str

    def parse(self, usecols: list[int], fields: list[str], dtype=float) -> np.ndarray:
        """Columns ``usecols`` (0-based) of every data line as an (n_rows, len(usecols)) array.

        ``fields`` names each used column in error messages. Raises :class:`InputFileError` at the first
        line with too few fields or a value that is not a number.
        """
        try:
            return _loadtxt(self.lines, self.delimiter, usecols, dtype)
        except ValueError:
            pass
        bad = _first_failing_line(self.lines, self.delimiter, usecols, dtype)
        raise self._describe(bad, usecols, fields)

    def try_parse(self, usecols: list[int], dtype=float) -> np.ndarray | None:
        """Like :meth:`parse` but returns None instead of locating an error (the fast first attempt)."""
        try:
            return _loadtxt(self.lines, self.delimiter, usecols, dtype)
        except ValueError:
            return None

    def row_number(self, line_index: int) -> int:
        """1-based data-row number of ``self.lines[line_index]`` (blank and comment lines not counted)."""
        return 1 + sum(1 for line in self.lines[:line_index] if not _is_skipped(line))

    def split(self, line: str) -> list[str]:
        """Fields of one line, stripped of blanks and double quotes."""
        parts = line.split() if self.delimiter is None else line.split(self.delimiter)
        return [p.strip().strip('"') for p in parts]

    def _describe(self, index: int, usecols, fields) -> InputFileError:
        row = self.row_number(index)
        values = self.split(self.lines[index])
        for col, name in zip(usecols, fields):
            if col >= len(values):
                return InputFileError(self.path, f"line has {len(values)} fields, expected at least {col + 1}",
                                      row=row, field=name)
            try:
                float(values[col])
            except ValueError:
                shown = values[col] if len(values[col]) <= 40 else values[col][:40] + "..."
                what = "empty value" if values[col] == "" else f"{shown!r} is not a number"
                return InputFileError(self.path, f"{what} (expected a decimal number)", row=row, field=name)
        return InputFileError(self.path, "line cannot be parsed as numbers", row=row)


def _is_skipped(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _loadtxt(lines, delimiter, usecols, dtype) -> np.ndarray:
    with warnings.catch_warnings():
        # numpy notes that blank lines do not count towards its internal chunk size; irrelevant here.
        warnings.filterwarnings("ignore", message="Input line .* contained no data", category=UserWarning)
        # a slice of only blank/comment lines (while locating an error) is simply empty
        warnings.filterwarnings("ignore", message="loadtxt: input contained no data", category=UserWarning)
        return np.loadtxt(lines, delimiter=delimiter, usecols=usecols, dtype=dtype, ndmin=2, comments="#",
                          quotechar='"', encoding=None)


def _first_failing_line(lines, delimiter, usecols, dtype) -> int:
    """Index of the first line numpy cannot parse, found by halving (total work ~ one more parse)."""
    lo, hi = 0, len(lines)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            _loadtxt(lines[lo:mid], delimiter, usecols, dtype)
            lo = mid
        except ValueError:
            hi = mid
    return lo


def read_bytes(path: Path) -> tuple[bytes, str]:
    """File content (gunzipped when the file is gzip) and the SHA-256 of the bytes on disk."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(path, f"cannot read file ({exc.strerror or exc})") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if raw[:2] == b"\x1f\x8b" or path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise InputFileError(path, f"truncated or corrupt gzip data ({exc})") from exc
    return raw, digest


def open_text(path, delimiter: str | None, header: bool) -> TextFile:
    """Read ``path`` and split off its header; ``delimiter`` None means: from the extension, else sniffed.

    Raises :class:`InputFileError` for unreadable, non-UTF-8, truncated-gzip and empty files.
    """
    path = Path(path)
    raw, digest = read_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(path, f"not UTF-8 text (bad byte at line {line}); is this a binary file?") from exc
    lines = text.splitlines()
    first = next((k for k, line in enumerate(lines) if not _is_skipped(line)), None)
    if first is None:
        raise InputFileError(path, "file is empty (no header and no data rows)")
    if delimiter is None:
        delimiter = _guess_delimiter(path, lines[first])
    elif delimiter == "whitespace":
        delimiter = None
    names = None
    if header:
        names = [p.strip().strip('"') for p in (lines[first].split() if delimiter is None
                                                   else lines[first].split(delimiter))]
        lines = lines[first + 1:]
    else:
        lines = lines[first:]
    if all(_is_skipped(line) for line in lines):  # stops at the first data line
        raise InputFileError(path, "file has no data rows" + (" after the header" if header else ""))
    return TextFile(path=path, lines=lines, names=names, delimiter=delimiter, sha256=digest)


def _guess_delimiter(path: Path, first_line: str) -> str | None:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in _EXTENSION_DELIMITERS:
        return _EXTENSION_DELIMITERS[suffixes[-1]]
    for candidate in ("\t", ",", ";"):
        if candidate in first_line:
            return candidate
    return None


def labels_to_codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and sorted distinct labels of an array of device ids (integers kept as int64)."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "US":
        try:
            labels = labels.astype(np.int64)
        except (ValueError, OverflowError):
            pass
    elif labels.dtype.kind == "f" and np.all(labels == np.round(labels)) and np.all(np.abs(labels) < 2**53):
        labels = labels.astype(np.int64)
    distinct, codes = np.unique(labels, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), distinct
