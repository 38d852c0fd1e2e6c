"""Every claim id of the notes is cited by a test or an experiment spec."""

import re
from pathlib import Path

from mpkeras import specs

TESTS = Path(__file__).resolve().parent


def claim_ids():
    lines = (TESTS / "notes_claim_ids.txt").read_text().splitlines()
    return [word for line in lines if not line.startswith("#") for word in line.split()]


def cited(claim, text):
    """``C2`` as a name of its own: in ``test_linear_C2`` or ``(C2)``, not in ``C20`` or ``abC2``."""
    return re.search(rf"(?<![A-Za-z0-9]){claim}(?![0-9])", text) is not None


def test_the_id_list_is_the_notes_checklist():
    ids = claim_ids()
    assert len(ids) == len(set(ids)) == 29
    assert cited("C2", "def test_shift_C2():") and cited("C2", "claims (C1-C2)")
    assert not cited("C2", "C20") and not cited("C2", "ABC2")


def test_every_claim_is_cited_by_a_test_or_a_spec():
    tests_text = "".join(path.read_text() for path in TESTS.rglob("test_*.py") if path.name != Path(__file__).name)
    spec_claims = {claim for name in specs.available() for claim in specs.load(name).claims}
    uncovered = [claim for claim in claim_ids() if claim not in spec_claims and not cited(claim, tests_text)]
    assert not uncovered, f"claims of the notes cited by no test and no spec: {uncovered}"
