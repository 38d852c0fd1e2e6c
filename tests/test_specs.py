"""Spec parsing and typed, type-checked config resolution (no TensorFlow needed)."""

import dataclasses
import typing

import pytest

from mpkeras import specs


@dataclasses.dataclass
class Train:
    epochs: int = 10
    learning_rate: float = 0.1


@dataclasses.dataclass
class Config:
    dataset: str = "toy2d/xor"
    hidden: list[int] = dataclasses.field(default_factory=lambda: [4])
    dropout: typing.Optional[float] = None
    verbose: bool = False
    train: Train = dataclasses.field(default_factory=Train)


def write_spec(tmp_path, text):
    path = tmp_path / "demo.toml"
    path.write_text(text)
    return path


SPEC = """
experiment = "demo"
chapter = 1
claims = ["N2"]
title = "demo"
seed = 3
[config]
hidden = [8, 8]
[config.train]
epochs = 100
[quick]
"train.epochs" = 5
[[expectations]]
claim = "N2"
metric = "accuracy"
op = ">="
value = 0.9
quick_value = 0.7
"""


def test_resolve_applies_spec_quick_and_overrides_in_order(tmp_path):
    spec = specs.load(write_spec(tmp_path, SPEC))
    assert spec.seed == 3 and spec.claims == ("N2",) and spec.default_dataset == ""
    full = specs.resolve_config(Config, spec)
    assert full.hidden == [8, 8] and full.train.epochs == 100 and full.train.learning_rate == 0.1
    quick = specs.resolve_config(Config, spec, quick=True)
    assert quick.train.epochs == 5
    overridden = specs.resolve_config(
        Config, spec, quick=True,
        overrides=[specs.parse_override("train.epochs=7"), specs.parse_override("dropout=0.5"),
                   specs.parse_override("dataset=digits"), specs.parse_override("train.learning_rate=1")],
    )
    assert overridden.train.epochs == 7
    assert overridden.dropout == 0.5
    assert overridden.dataset == "digits"
    # An int where a float is expected is widened, as in Python.
    assert overridden.train.learning_rate == 1.0 and isinstance(overridden.train.learning_rate, float)


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.epochs=abc", r"Invalid value for 'train.epochs': expected int, got 'abc'"),
        ("train.epochs=1.5", r"expected int"),
        ("hidden=[4, 'x']", r"'hidden\[1\]': expected int"),
        ("verbose=1", r"expected bool"),
        ("train.epoch=3", r"Unknown config key 'train.epoch'"),
        ("nonsense=3", r"Unknown config key 'nonsense'"),
        ("no_equals_sign", r"expected key=value"),
    ],
)
def test_bad_overrides_are_rejected_with_the_key_named(tmp_path, override, message):
    spec = specs.load(write_spec(tmp_path, SPEC))
    with pytest.raises(specs.SpecError, match=message):
        specs.resolve_config(Config, spec, overrides=[specs.parse_override(override)])


def test_expectation_uses_quick_threshold_only_in_quick_mode(tmp_path):
    (expectation,) = specs.load(write_spec(tmp_path, SPEC)).expectations
    assert expectation.check({"accuracy": 0.8}, quick=True)["holds"]
    assert not expectation.check({"accuracy": 0.8}, quick=False)["holds"]
    missing = expectation.check({}, quick=False)
    assert missing["measured"] is None and not missing["holds"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("experiment = ", "Invalid TOML"),
        ("chapter = 1", "Missing or invalid `experiment`"),
        ('experiment = "x"\nbogus = 1', "Unknown top-level key"),
        ('experiment = "x"\n[[expectations]]\nclaim="N1"\nmetric="m"\nop="~"\nvalue=1', "Invalid op"),
        ('experiment = "x"\n[[expectations]]\nclaim="N1"', "Invalid expectation #1"),
    ],
)
def test_invalid_specs_fail_with_one_clear_line(tmp_path, text, message):
    with pytest.raises(specs.SpecError, match=message):
        specs.load(write_spec(tmp_path, text))


def test_unknown_name_lists_the_available_specs():
    with pytest.raises(specs.SpecError, match=r"Unknown experiment 'nope'. Available: .*xor"):
        specs.find("nope")


def test_every_bundled_spec_parses_and_cites_known_claims():
    notes_ids = {f"{c}{i}" for c in "NCFRA" for i in range(1, 8)}
    for name in specs.available():
        spec = specs.load(name)
        assert spec.claims, f"{name} cites no claim id"
        assert set(spec.claims) <= notes_ids, name
        assert spec.expectations, f"{name} checks nothing"
        assert spec.default_dataset, f"{name} names no dataset (or data = ...)"
        for expectation in spec.expectations:
            assert expectation.claim in spec.claims, name
