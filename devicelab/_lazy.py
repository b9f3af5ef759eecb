"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A stage's ``__init__`` names its public API as ``{module: [names]}``; each name is imported from its module on
first access, so ``import devicelab.network`` (and the CLI's start-up) loads nothing heavy until it is used.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, list[str]]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """(``__getattr__``, ``__dir__``, ``__all__``) for ``package`` re-exporting ``exports`` lazily.

    ``exports`` maps a module path (absolute, or relative to ``package`` when it starts with ".") to the names
    it provides. A name is imported from its module on first access and then cached in the package namespace.
    """
    where: dict[str, str] = {}
    for module, names in exports.items():
        target = package + module if module.startswith(".") else module
        for name in names:
            if name in where:
                raise ValueError(f"{package}: {name!r} is exported twice")
            where[name] = target

    def __getattr__(name: str) -> Any:
        try:
            module = where[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__, sorted(where)
