"""Spec parsing and typed, type-checked config resolution (no TensorFlow needed)."""

import dataclasses
import typing
from pathlib import Path

import pytest

from mpkeras import claims, specs, typed_config


@dataclasses.dataclass
class Train:
    epochs: int = 10
    learning_rate: float = 0.1


@dataclasses.dataclass
class Config:
    dataset: str = "toy2d/xor"
    hidden: list[int] = dataclasses.field(default_factory=lambda: [4])
    dropout: float | None = None
    verbose: bool = False
    train: Train = dataclasses.field(default_factory=Train)


def write_spec(tmp_path, text):
    path = tmp_path / "demo.toml"
    path.write_text(text)
    return path


SPEC = """
experiment = "demo"
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
    full = typed_config.resolve_config(Config, spec)
    assert full.hidden == [8, 8] and full.train.epochs == 100 and full.train.learning_rate == 0.1
    quick = typed_config.resolve_config(Config, spec, quick=True)
    assert quick.train.epochs == 5
    overridden = typed_config.resolve_config(
        Config,
        spec,
        quick=True,
        overrides=[
            typed_config.parse_override("train.epochs=7"),
            typed_config.parse_override("dropout=0.5"),
            typed_config.parse_override("dataset=digits"),
            typed_config.parse_override("train.learning_rate=1"),
        ],
    )
    assert overridden.train.epochs == 7
    assert overridden.dropout == 0.5
    assert overridden.dataset == "digits"
    # An int where a float is expected is widened, as in Python.
    assert overridden.train.learning_rate == 1.0 and isinstance(
        overridden.train.learning_rate, float
    )


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
        typed_config.resolve_config(Config, spec, overrides=[typed_config.parse_override(override)])


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
        ("experiment = 3", r"Invalid `experiment` .*: expected the name of an experiment"),
        (
            'experiment = "x"\nchapter = 1',
            r"Remove `chapter` .*the chapter is the experiment's folder",
        ),
        ('experiment = "x"\nbogus = 1', "Unknown top-level key"),
        (
            'experiment = "x"\nclaims = "N1"',
            r"Invalid `claims` .*expected a list of claim ids, got 'N1'",
        ),
        ('experiment = "x"\nseed = -1', r"Invalid `seed` .*expected a non-negative integer"),
        ('experiment = "x"\nseed = true', r"Invalid `seed`"),
        ('experiment = "x"\ntitle = 3', r"Invalid `title`"),
        ('experiment = "x"\nconfig = 3', r"Invalid `config` .*expected a table"),
        ('experiment = "x"\nquick = [1]', r"Invalid `quick` .*expected a table"),
        (
            'experiment = "x"\nexpectations = [1]',
            r"Invalid `expectations` .*expected an array of tables",
        ),
        ('experiment = "x"\nfigures = "loss"', r"Invalid `figures` .*a list of figure names"),
        ('experiment = "x"\nfigures = [""]', r"Invalid `figures` .*a list of figure names"),
    ],
)
def test_invalid_specs_fail_with_one_clear_line(tmp_path, text, message):
    with pytest.raises(specs.SpecError, match=message):
        specs.load(write_spec(tmp_path, text))


EXPECTATION = (
    'experiment = "x"\nclaims = ["N1"]\n[[expectations]]\nclaim = "N1"\nmetric = "m"\nop = "<"\n'
)


@pytest.mark.parametrize(
    "entry, message",
    [
        # Measured (issue 18): a spec whose expectation had value = "x" trained, then died in Click.
        ('value = "x"', r"#1 .*`value`, expected a finite number. Received: value='x'"),
        ("value = true", r"`value`, expected a finite number"),
        ("value = nan", r"`value`, expected a finite number"),
        ('value = 1\nquick_value = "0.5"', r"`quick_value`, expected a finite number"),
        ("other = 3", r"`other`, expected a metric name"),
        ("value = 1\ndescription = 2", r"`description`, expected a string"),
        ("value = 1\nvalu = 1", r"unknown key\(s\) \['valu'\]"),
        ('value = 1\nop = "~"', r"`op`, expected one of '<', '<=', '>', '>=', '=='"),
        ('value = 1\nmetric = ""', r"`metric`, expected a non-empty string"),
        ('value = 1\nclaim = "N2"', r"its claim 'N2' is not among the spec's `claims` \['N1'\]"),
    ],
)
def test_invalid_expectations_are_refused_when_the_spec_is_read(tmp_path, entry, message):
    # Later keys of the same name would be a TOML error, so the entry replaces the defaults.
    lines = [
        line
        for line in EXPECTATION.splitlines()
        if line.split(" = ")[0] not in {part.split(" = ")[0] for part in entry.splitlines()}
    ]
    with pytest.raises(specs.SpecError, match=message):
        specs.load(write_spec(tmp_path, "\n".join(lines) + "\n" + entry + "\n"))


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
    return typed_config.resolve_config(
        Choices, spec, overrides=[typed_config.parse_override(o) for o in overrides]
    )


def test_nested_override_keeps_the_fields_own_default_instance(tmp_path):
    # Overriding train.epochs must keep Choices's learning_rate=0.5, not Train's 0.1.
    config = _resolve(tmp_path, "train.epochs=7")
    assert config.train == Train(epochs=7, learning_rate=0.5)


def test_literal_choices_and_dict_values(tmp_path):
    assert _resolve(tmp_path, 'upsampling="nearest"').upsampling == "nearest"
    with pytest.raises(
        specs.SpecError, match=r"'upsampling': expected one of 'transpose', 'nearest'"
    ):
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
    with pytest.raises(specs.SpecError, match=message):
        specs.load(write_spec(tmp_path, EXPECTATION + entry + "\n"))


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


def _fake_bundle(tmp_path, monkeypatch, text, folder="neural_networks"):
    path = tmp_path / folder / "xor.toml"
    path.parent.mkdir()
    path.write_text(text)
    monkeypatch.setattr(specs, "bundled", lambda: {"xor": path})
    return path


def test_a_bundled_spec_is_named_by_its_file_and_numbered_by_its_folder(tmp_path, monkeypatch):
    path = _fake_bundle(tmp_path, monkeypatch, 'claims = ["N2"]\n', folder="rnn")
    spec = specs.load("xor")
    assert (spec.name, spec.experiment, spec.chapter, spec.path) == ("xor", "xor", 4, path)


def test_a_bundled_spec_may_not_name_its_experiment_again(tmp_path, monkeypatch):
    _fake_bundle(tmp_path, monkeypatch, 'experiment = "perceptron"\n')
    with pytest.raises(
        specs.SpecError, match=r"Remove `experiment` .*the experiment of its file name, 'xor'"
    ):
        specs.load("xor")


def test_a_bundled_spec_outside_a_known_chapter_folder_is_refused(tmp_path, monkeypatch):
    root = tmp_path / "package"
    (root / "misc").mkdir(parents=True)
    (root / "misc" / "odd.toml").write_text('claims = ["N2"]\n')
    monkeypatch.setattr(specs.importlib.resources, "files", lambda package: root)
    with pytest.raises(
        specs.SpecError, match=r"the folder 'misc' is no chapter of mpkeras_experiments"
    ):
        specs.bundled()


def test_a_spec_file_of_ones_own_configures_the_experiment_it_names_in_its_chapter(tmp_path):
    mine = write_spec(tmp_path, 'experiment = "vae_digits"\nclaims = ["A4"]\n')
    spec = specs.load(mine)
    assert (spec.name, spec.experiment, spec.chapter) == ("demo", "vae_digits", 5)
    # Without `experiment`, the file name; an experiment without a bundled spec has chapter 0.
    (tmp_path / "xor.toml").write_text('claims = ["N2"]\n')
    assert (
        specs.load(tmp_path / "xor.toml").experiment,
        specs.load(tmp_path / "xor.toml").chapter,
    ) == ("xor", 1)
    assert specs.load(write_spec(tmp_path, 'experiment = "test_only"\n')).chapter == 0


def test_bundled_chapters_are_the_chapters_of_the_claims_they_cite():
    from mpkeras_experiments import CHAPTERS

    assert set(CHAPTERS) == {path.parent.name for path in specs.bundled().values()}
    for name in specs.available():
        spec = specs.load(name)
        assert {claims.get(claim).chapter for claim in spec.claims} == {spec.chapter}, name


def test_the_quick_table_is_checked_on_a_full_run_too(tmp_path):
    spec = specs.load(write_spec(tmp_path, 'experiment = "demo"\n[quick]\n"train.epoch" = 3\n'))
    with pytest.raises(
        specs.SpecError, match=r"In \[quick\] of .*demo.toml: Unknown config key 'train.epoch'"
    ):
        typed_config.resolve_config(Config, spec)
    with pytest.raises(specs.SpecError, match=r"Unknown config key 'train.epoch'"):
        typed_config.resolve_config(Config, spec, quick=True)
