"""The SPICE subcircuit library in ``circuits/``: loading with validation.

The folder is ``circuits/`` at the top of the repository, installed as package data ``devicelab/circuits``
by a non-editable install (see setup.py). A library file may only hold comments, blank lines, ``.subckt`` /
``.ends`` / ``.model`` / ``.param`` statements, continuation lines and element lines whose names pass
:func:`~devicelab.spice.names.check_name`.
Anything else (``.control`` blocks, ``.include``, ``shell`` commands, ...) is rejected, so a library
cannot make ngspice do more than describe circuits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from devicelab.errors import InputFileError
from devicelab.spice.names import check_name


def _circuits_dir() -> Path:
    """The library folder: installed as ``devicelab/circuits`` (package data of a wheel), else the source
    tree's top-level ``circuits/`` (editable install or a checkout on the path)."""
    installed = Path(__file__).resolve().parents[1] / "circuits"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "circuits"


CIRCUITS_DIR = _circuits_dir()
_ELEMENT = re.compile(r"[BCDEFGHIKLMRSVWX][A-Za-z0-9_]{0,63}", re.IGNORECASE)
_DOT = (".subckt", ".ends", ".model", ".param")
_FORBIDDEN = re.compile(r"[`;$\\]|\bshell\b", re.IGNORECASE)


@dataclass(frozen=True)
class Library:
    """A validated library file: its ``text``, ``path``, and the ``subcircuits`` and ``models`` it defines."""

    path: Path
    text: str
    subcircuits: tuple[str, ...]
    models: tuple[str, ...]

    def model_card(self, name: str) -> str:
        """The ``.model`` line (with continuations) defining ``name``."""
        return _statement(self, ".model", name)

    def subcircuit(self, name: str) -> str:
        """The text of subcircuit ``name`` from ``.subckt`` to ``.ends``."""
        lines = self.text.splitlines()
        start = next((k for k, line in enumerate(lines) if _starts(line, ".subckt", name)), None)
        if start is None:
            raise InputFileError(self.path, f"no subcircuit {name!r} (defines {', '.join(self.subcircuits)})")
        end = next(k for k in range(start, len(lines)) if lines[k].strip().lower().startswith(".ends"))
        return "\n".join(lines[start:end + 1])


def _starts(line: str, dot: str, name: str) -> bool:
    words = line.split()
    return len(words) >= 2 and words[0].lower() == dot and words[1].lower() == name.lower()


def _statement(lib: Library, dot: str, name: str) -> str:
    lines = lib.text.splitlines()
    for k, line in enumerate(lines):
        if _starts(line, dot, name):
            end = k + 1
            while end < len(lines) and lines[end].startswith("+"):
                end += 1
            return "\n".join(lines[k:end])
    raise InputFileError(lib.path, f"no {dot} {name!r} (defines models {', '.join(lib.models)})")


def load_library(name: str, directory: Path | None = None) -> Library:
    """Load and validate ``circuits/<name>.lib`` (``name`` must be a valid SPICE name).

    Raises :class:`~devicelab.errors.InputFileError` naming the file and line of anything not allowed.
    """
    check_name(name, "library name")
    path = (directory or CIRCUITS_DIR) / f"{name}.lib"
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"cannot read the subcircuit library ({exc})") from exc
    subcircuits: list[str] = []
    models: list[str] = []
    depth = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("*"):
            continue
        if _FORBIDDEN.search(line):
            raise InputFileError(path, f"forbidden character or command in {line!r}", row=number)
        words = line.split()
        head = words[0].lower()
        if head.startswith("."):
            if head not in _DOT:
                raise InputFileError(path, f"statement {words[0]!r} is not allowed in a library (only "
                                           f"{', '.join(_DOT)})", row=number)
            if head in (".subckt", ".model"):
                if len(words) < 2:
                    raise InputFileError(path, f"{head} needs a name", row=number)
                try:
                    check_name(words[1], f"{head} name")
                except Exception as exc:
                    raise InputFileError(path, str(exc), row=number) from exc
                (subcircuits if head == ".subckt" else models).append(words[1])
            depth += head == ".subckt"
            depth -= head == ".ends"
            if depth not in (0, 1):
                raise InputFileError(path, "nested or unbalanced .subckt/.ends", row=number)
        elif line.startswith("+"):
            continue
        elif _ELEMENT.fullmatch(words[0]) is None:
            raise InputFileError(path, f"{words[0]!r} is not a valid element name", row=number)
    if depth != 0:
        raise InputFileError(path, "a .subckt is not closed by .ends")
    return Library(path, text, tuple(subcircuits), tuple(models))
