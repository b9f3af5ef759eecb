"""Package layout for setuptools (metadata lives in pyproject.toml).

The SPICE subcircuit library stays at the repository's top level (``circuits/*.lib``, next to ``netlists/``)
and is installed as the package ``devicelab.circuits`` so that a plain, non-editable ``pip install .`` ships it;
:mod:`devicelab.spice.library` looks there first, then in the source tree.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["devicelab", "devicelab.*"]) + ["devicelab.circuits"],
    package_dir={"devicelab.circuits": "circuits"},
    package_data={"devicelab": ["data/*", "data/**/*"], "devicelab.circuits": ["*.lib"]},
)
