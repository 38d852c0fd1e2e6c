"""The claims of the course notes, as data: id, one line, the tests that check them.

The list ships with the package (``claims.toml`` beside this module) so that
``mpkeras reproduce`` can print every claim of the notes -- those an
experiment checks and those only the test suite checks -- in its report. It
reads TOML only (no TensorFlow).
"""

import dataclasses
import functools
import importlib.resources
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of the notes: ``id`` ("N1"), the claim in one line, its tests."""

    id: str
    claim: str
    tests: tuple = ()

    @property
    def chapter(self):
        """The notes' chapter of the claim, from its id's letter."""
        return CHAPTERS[self.id.rstrip("0123456789")]


# The id letters of the notes' chapters (NOTES.md): N1-N7, C1-C7, F1-F3, R1-R6, A1-A6.
CHAPTERS = {"N": 1, "C": 2, "F": 3, "R": 4, "A": 5}


@functools.cache
def all_claims():
    """Every claim of the notes, in the notes' order."""
    raw = tomllib.loads(importlib.resources.files("mpkeras").joinpath("claims.toml").read_text())
    return tuple(
        Claim(entry["id"], entry["claim"], tuple(entry.get("tests", ()))) for entry in raw["claims"]
    )


def ids():
    """The claim ids, in the notes' order."""
    return [claim.id for claim in all_claims()]


def get(claim_id):
    """The :class:`Claim` with id ``claim_id``; ``KeyError`` if the notes have none."""
    for claim in all_claims():
        if claim.id == claim_id:
            return claim
    raise KeyError(f"The notes have no claim {claim_id!r}; known: {', '.join(ids())}")
