"""The packages the distribution installs; every other setting is in setup.cfg.

The experiments live in the top-level ``experiments/`` folder (the notes executed,
no part of the library) and install as ``mpkeras_experiments``: a generic name
such as ``experiments`` must not land in site-packages. setup.cfg's
``packages = find:`` cannot install a folder under another name, and a
hand-written list would have to name every package again.
"""

from setuptools import find_packages, setup

EXPERIMENTS = "mpkeras_experiments"

setup(
    packages=[
        *find_packages(include=["mpkeras", "mpkeras.*"]),
        EXPERIMENTS,
        *(f"{EXPERIMENTS}.{name}" for name in find_packages("experiments")),
    ],
    package_dir={EXPERIMENTS: "experiments"},
)
