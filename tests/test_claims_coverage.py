"""Every claim of the notes is cited by a test or an experiment spec (mpkeras/claims.toml lists them)."""

import re
from pathlib import Path

import pytest

from mpkeras import claims, specs

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
NOTES = ROOT.parent / "shared" / "NOTES.md"


def cited(claim, text):
    """``C2`` as a name of its own: in ``test_linear_C2`` or ``(C2)``, not in ``C20`` or ``abC2``."""
    return re.search(rf"(?<![A-Za-z0-9]){claim}(?![0-9])", text) is not None


def test_the_claim_list_is_the_notes_checklist():
    ids = claims.ids()
    assert len(ids) == len(set(ids)) == 29
    assert [claims.get(claim_id).chapter for claim_id in ("N1", "C7", "F3", "R1", "A6")] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert all(
        0 < len(claim.claim) <= 110 and "\n" not in claim.claim for claim in claims.all_claims()
    )
    assert cited("C2", "def test_shift_C2():") and cited("C2", "claims (C1-C2)")
    assert not cited("C2", "C20") and not cited("C2", "ABC2")


def test_the_claim_list_matches_the_notes_when_they_are_beside_the_repository():
    if not NOTES.is_file():
        pytest.skip(f"{NOTES} is not here; mpkeras/claims.toml is the copy")
    in_notes = re.findall(r"^- ([NCFRA]\d+) ", NOTES.read_text(), flags=re.M)
    assert in_notes == claims.ids()


def test_every_claim_is_cited_by_a_test_or_a_spec():
    tests_text = "".join(
        path.read_text() for path in TESTS.rglob("test_*.py") if path.name != Path(__file__).name
    )
    spec_claims = {claim for name in specs.available() for claim in specs.load(name).claims}
    uncovered = [
        claim for claim in claims.ids() if claim not in spec_claims and not cited(claim, tests_text)
    ]
    assert not uncovered, f"claims of the notes cited by no test and no spec: {uncovered}"


@pytest.mark.parametrize("claim", claims.all_claims(), ids=lambda claim: claim.id)
def test_the_tests_a_claim_lists_exist_and_cite_it(claim):
    assert claim.tests, f"{claim.id} lists no test file"
    for path in claim.tests:
        assert (ROOT / path).is_file(), f"{claim.id}: {path} does not exist"
        assert cited(claim.id, (ROOT / path).read_text()), (
            f"{claim.id}: {path} does not cite {claim.id}"
        )


def test_every_spec_cites_claims_of_the_notes():
    known = set(claims.ids())
    for name in specs.available():
        spec = specs.load(name)
        assert spec.claims and set(spec.claims) <= known, f"{name} cites {spec.claims}"
