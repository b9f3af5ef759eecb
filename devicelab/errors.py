"""One exception hierarchy for the whole package, and typed warnings.

Messages say what went wrong, where (file, row, field) and what was expected. The CLI turns any
:class:`DevicelabError` into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    """A model is used outside the range it was built or fitted for; its stated error does not apply.

    ``excess`` (tuple of :class:`RangeExcess`) says what was out of range and by how much, ``notes`` (tuple
    of str) what is outside without a size (e.g. an uncovered device kind); both empty when not known.
    """

    def __init__(self, message: str, excess: tuple = (), notes: tuple = ()):
        super().__init__(message)
        self.excess = tuple(excess)
        self.notes = tuple(notes)


class ValidityRangeError(DevicelabError):
    """A model would be used outside its validity range and the caller asked for strict validity."""


@dataclass(frozen=True)
class RangeExcess:
    """One quantity outside a validity range: values seen span [``low``, ``high``] (in ``unit``) against
    the valid [``lo``, ``hi``]; ``fraction`` of the elements outside (None for a single value)."""

    quantity: str
    unit: str
    low: float
    high: float
    lo: float
    hi: float
    fraction: float | None = None

    def merged(self, other: RangeExcess) -> RangeExcess:
        """The span of both (same quantity and range): widest values, largest fraction outside."""
        fractions = [f for f in (self.fraction, other.fraction) if f is not None]
        return RangeExcess(self.quantity, self.unit, min(self.low, other.low), max(self.high, other.high),
                           self.lo, self.hi, max(fractions) if fractions else None)

    def describe(self) -> str:
        """E.g. ``conductances up to 3.1e-05 S, 24 % above the maximum 2.5e-05 S (0.31 % of the elements)``."""
        unit = f" {self.unit}" if self.unit else ""
        parts = []
        if self.high > self.hi:
            above = f", {100 * (self.high / self.hi - 1):.3g} % above" if self.hi > 0 else " above"
            parts.append(f"up to {self.high:.3g}{unit}{above} the maximum {self.hi:.3g}{unit}")
        if self.low < self.lo:
            below = f", {100 * (1 - self.low / self.lo):.3g} % below" if self.lo > 0 else " below"
            parts.append(f"down to {self.low:.3g}{unit}{below} the minimum {self.lo:.3g}{unit}")
        text = f"{self.quantity} " + " and ".join(parts or [f"in [{self.low:.3g}, {self.high:.3g}]{unit}"])
        if self.fraction is not None:
            text += f" ({100 * self.fraction:.3g} % of the elements)"
        return text


class FitQualityWarning(DevicelabWarning):
    """A fit converged poorly or a parameter sits on a bound; check the report before trusting it."""


def require(module: str, feature: str, extra: str):
    """Import and return an optional module, or raise :class:`MissingDependencyError` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(module.split(".")[0], feature, extra) from exc
