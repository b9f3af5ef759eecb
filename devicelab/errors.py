"""One exception hierarchy for the whole package, and typed warnings.

Messages say what went wrong, where (file, row, field) and what was expected. The CLI turns any
:class:`DevicelabError` into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations


class DevicelabError(Exception):
    """Base class of every error devicelab raises on purpose."""


class InputFileError(DevicelabError):
    """A measurement or input file is missing, unreadable or invalid.

    Parameters
    ----------
    path:
        The file concerned.
    message:
        What is wrong and what was expected.
    row:
        1-based data row number (header not counted) where the problem is, if known.
    field:
        Column or dataset name where the problem is, if known.
    """

    def __init__(self, path, message: str, *, row: int | None = None, field: str | None = None):
        self.path = str(path)
        self.row = row
        self.field = field
        self.detail = message
        where = self.path
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class ModelFileError(DevicelabError):
    """A model file (device, behavioral, network weights) is invalid or of an unknown format/version."""


class ConfigError(DevicelabError):
    """A configuration value, name or sweep description is invalid."""


class OutputError(DevicelabError):
    """An output file or folder cannot be written, or writing it would replace something without --overwrite."""


class SimulationError(DevicelabError):
    """A circuit simulation failed (did not converge, crashed or timed out).

    The simulator log, when there is one, is kept in :attr:`log`.
    """

    def __init__(self, message: str, log: str = ""):
        self.log = log
        super().__init__(message)


class MissingDependencyError(DevicelabError):
    """An optional dependency (PyTorch, Dask) is needed for this feature but not installed."""

    def __init__(self, package: str, feature: str, extra: str):
        super().__init__(
            f"{feature} needs the optional package '{package}', which is not installed; "
            f"install it with: pip install 'devicelab[{extra}]'"
        )


class DevicelabWarning(UserWarning):
    """Base class of devicelab's warnings."""


class ValidityRangeWarning(DevicelabWarning):
    """A model is used outside the range it was built or fitted for; its stated error does not apply."""


class FitQualityWarning(DevicelabWarning):
    """A fit converged poorly or a parameter sits on a bound; check the report before trusting it."""


def require(module: str, feature: str, extra: str):
    """Import and return an optional module, or raise :class:`MissingDependencyError` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(module.split(".")[0], feature, extra) from exc
