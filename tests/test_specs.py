"""Spec parsing and typed, type-checked config resolution (no TensorFlow needed)."""

import dataclasses
import typing
from pathlib import Path

import pytest

from mpkeras import claims, specs


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
        ('experiment = "x"\nfigures = "loss"', "`figures` must be a list of figure names"),
        ('experiment = "x"\nfigures = [""]', "`figures` must be a list of figure names"),
    ],
)
def test_invalid_specs_fail_with_one_clear_line(tmp_path, text, message):
    with pytest.raises(specs.SpecError, match=message):
        specs.load(write_spec(tmp_path, text))


def test_unknown_name_lists_the_available_specs():
    with pytest.raises(specs.SpecError, match=r"Unknown experiment 'nope'. Available: .*xor"):
        specs.find("nope")


def test_every_bundled_spec_parses_and_cites_known_claims():
    notes_ids = set(claims.ids())
    for name in specs.available():
        spec = specs.load(name)
        assert spec.claims, f"{name} cites no claim id"
        assert set(spec.claims) <= notes_ids, name
        assert spec.figures, f"{name} names no key figure for the report"
        assert spec.expectations, f"{name} checks nothing"
        assert spec.default_dataset, f"{name} names no dataset (or data = ...)"
        for expectation in spec.expectations:
            assert expectation.claim in spec.claims, name


@dataclasses.dataclass
class Choices:
    upsampling: typing.Literal["transpose", "nearest"] = "transpose"
    weights: dict[str, float] = dataclasses.field(default_factory=lambda: {"a": 1.0})
    train: Train = dataclasses.field(default_factory=lambda: Train(epochs=3, learning_rate=0.5))

    def __post_init__(self):
        if self.train.epochs <= 0:
            raise ValueError(f"`train.epochs` must be positive, got {self.train.epochs}")


def _resolve(tmp_path, *overrides):
    spec = specs.load(write_spec(tmp_path, 'experiment = "demo"\n'))
    return specs.resolve_config(Choices, spec, overrides=[specs.parse_override(o) for o in overrides])


def test_nested_override_keeps_the_fields_own_default_instance(tmp_path):
    # Overriding train.epochs must keep Choices's learning_rate=0.5, not Train's 0.1.
    config = _resolve(tmp_path, "train.epochs=7")
    assert config.train == Train(epochs=7, learning_rate=0.5)


def test_literal_choices_and_dict_values(tmp_path):
    assert _resolve(tmp_path, 'upsampling="nearest"').upsampling == "nearest"
    with pytest.raises(specs.SpecError, match=r"'upsampling': expected one of 'transpose', 'nearest'"):
        _resolve(tmp_path, 'upsampling="bilinear"')
    assert _resolve(tmp_path, "weights={a = 2, b = 3.5}").weights == {"a": 2.0, "b": 3.5}
    assert _resolve(tmp_path, "weights.b=4").weights == {"a": 1.0, "b": 4.0}
    with pytest.raises(specs.SpecError, match=r"'weights.b': expected float"):
        _resolve(tmp_path, 'weights.b="x"')


def test_post_init_range_checks_become_spec_errors(tmp_path):
    with pytest.raises(specs.SpecError, match="`train.epochs` must be positive, got 0"):
        _resolve(tmp_path, "train.epochs=0")


def test_comparison_expectation_reports_its_margin():
    expectation = specs.Expectation(claim="F3", metric="skips", op=">", other="no_skips")
    row = expectation.check({"skips": 0.9, "no_skips": 0.7}, quick=False)
    assert row["holds"] and row["margin"] == pytest.approx(0.2)
    assert row["expected"] == "> no_skips (0.7)"
    row = expectation.check({"skips": 0.6, "no_skips": 0.7}, quick=False)
    assert not row["holds"] and row["margin"] == pytest.approx(-0.1)
    assert not expectation.check({"skips": 0.6}, quick=False)["holds"]
    assert not expectation.check({"skips": float("nan"), "no_skips": 0.7}, quick=False)["holds"]


def test_threshold_expectation_margin_is_positive_inside_the_bound():
    expectation = specs.Expectation(claim="N1", metric="ratio", op="<=", value=1.0)
    assert expectation.check({"ratio": 0.25}, quick=False)["margin"] == pytest.approx(0.75)


@pytest.mark.parametrize(
    "entry, message",
    [
        ('value = 1\nother = "b"', "exactly one of `value`"),
        ("", "exactly one of `value`"),
        ('other = "b"\nquick_value = 1', "`quick_value` applies to `value`"),
    ],
)
def test_expectation_needs_a_value_or_another_metric(tmp_path, entry, message):
    text = f'experiment = "x"\n[[expectations]]\nclaim = "N1"\nmetric = "a"\nop = "<"\n{entry}\n'
    with pytest.raises(specs.SpecError, match=message):
        specs.load(write_spec(tmp_path, text))


def test_a_toml_in_the_current_directory_does_not_replace_a_bundled_spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xor.toml").write_text('experiment = "impostor"\n')
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "xor.toml").write_text('experiment = "impostor"\n')
    assert specs.load("xor").experiment == "xor"
    # A path given explicitly still wins.
    assert specs.load("./xor.toml").experiment == "impostor"
    assert specs.load(str(tmp_path / "xor.toml")).experiment == "impostor"


def test_bundled_specs_are_package_data_beside_their_experiment():
    import mpkeras_experiments

    root = Path(mpkeras_experiments.__file__).parent
    for name, path in specs.bundled().items():
        assert path.parent.parent == root, f"{path} is not in a chapter folder of {root}"
        assert (path.parent / f"{name}.py").is_file(), f"{name}.toml has no {name}.py beside it"
