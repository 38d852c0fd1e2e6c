"""The experiment registry: names from files, declared metrics and datasets, validation before any work."""

import dataclasses
import typing
from pathlib import Path

import mpkeras_experiments
import pytest
from click.testing import CliRunner
from mpkeras_experiments import CHAPTERS, registry

from mpkeras import runner, specs
from mpkeras.cli import main


def test_every_bundled_spec_has_its_experiment_and_every_experiment_its_spec():
    root = Path(mpkeras_experiments.__file__).parent
    modules = {path.stem: path.parent.name for path in root.glob("*/[!_]*.py")}
    assert modules == {name: path.parent.name for name, path in specs.bundled().items()}
    for name, chapter in modules.items():
        # The name is the module's file name, the chapter its folder.
        assert registry.get(name).function.__module__ == f"mpkeras_experiments.{chapter}.{name}"
        assert chapter in CHAPTERS


def test_every_bundled_experiment_declares_its_metrics_and_datasets():
    for name in specs.available():
        experiment = registry.get(name)
        assert experiment.metrics, f"{name} declares no metrics in @register(..., metrics=...)"
        hints = typing.get_type_hints(experiment.config_class)
        for field in dataclasses.fields(experiment.config_class):
            free_text = hints[field.name] is str
            if field.name == "dataset" and free_text:
                assert "dataset" in experiment.datasets, (
                    f"{name}: a str `dataset` field needs datasets=..."
                )
        for field in experiment.datasets:
            # Its own default must pass, or the experiment could not run at all.
            default = getattr(experiment.config_class(), field)
            assert experiment.datasets[field] and isinstance(default, str), (name, field)


@pytest.mark.parametrize("quick", [False, True])
def test_every_bundled_spec_resolves_and_validates(quick):
    for name in specs.available():
        spec, experiment, config = runner.resolve(name, quick=quick)
        experiment.check_expectations(spec)
        experiment.validate(config)


@pytest.mark.parametrize(
    "name, override, message",
    [
        # Measured (issue 18): this failed inside the run, after the perceptron had trained.
        (
            "xor",
            "dataset=digits",
            r"Received an invalid value for `dataset`, expected a dataset experiment 'xor' trains on "
            r"\(toy2d/xor\). Received: dataset='digits'",
        ),
        (
            "sequence_modes",
            "adding=copy/t10",
            r"`adding`, expected a dataset experiment 'sequence_modes'",
        ),
        (
            "sequence_modes",
            "adding=adding/t7",
            r"`adding`: Unknown config 't7' for dataset 'adding'",
        ),
        (
            "gradient_clipping",
            "dataset=copy/t10",
            r"`dataset`, expected a dataset .*\(adding/t\*\)",
        ),
        (
            "nonlinear_ae",
            "dataset=digits\ntest_split=bogus",
            r"`test_split`, expected a split of 'digits' \(train, validation, test",
        ),
        # Measured (issue 18): the run dir was made, then Keras could not interpret the name.
        (
            "xor",
            "train.optimizer=sgdd",
            r"`train.optimizer`, expected the name of a Keras optimizer",
        ),
        # keras.optimizers exports Lamb, but keras.optimizers.get("lamb") cannot build it.
        (
            "xor",
            "train.optimizer=lamb",
            r"`train.optimizer`, expected the name of a Keras optimizer",
        ),
    ],
)
def test_a_config_the_experiment_cannot_use_is_refused_before_any_work(
    name, override, message, tmp_path
):
    overrides = override.split("\n")
    with pytest.raises(specs.SpecError, match=message):
        runner.resolve(name, overrides)
    args = ["run", name, "--run-dir", str(tmp_path / "run")]
    for item in overrides:
        args += ["--set", item]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output, (
        result.output
    )
    assert not (tmp_path / "run").exists()


def test_the_optimizer_check_accepts_what_keras_accepts():
    from mpkeras_experiments import TrainConfig

    xor = registry.get("xor")
    config = xor.config_class()
    for optimizer in ("adam", "SGD", "rmsprop", "AdamW", "nadam"):
        xor.validate(dataclasses.replace(config, train=TrainConfig(optimizer=optimizer)))


def test_an_expectation_on_a_metric_the_experiment_never_produces_is_refused_before_training(
    tmp_path,
):
    spec = tmp_path / "typo.toml"
    spec.write_text(
        'experiment = "xor"\nclaims = ["N2"]\n[[expectations]]\nclaim = "N2"\n'
        'metric = "mlp_acuracy"\nop = ">="\nvalue = 1.0\n'
    )
    with pytest.raises(
        specs.SpecError,
        match=r"#1 .* names metric 'mlp_acuracy', which experiment 'xor' "
        r"never produces. It produces: .*mlp_accuracy",
    ):
        runner.resolve(spec)
    result = CliRunner().invoke(main, ["run", str(spec), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2 and not (tmp_path / "run").exists(), result.output
    # The other side of a comparison is checked too.
    spec.write_text(
        'experiment = "xor"\nclaims = ["N2"]\n[[expectations]]\nclaim = "N2"\n'
        'metric = "mlp_accuracy"\nop = ">="\nother = "perceptron_acc"\n'
    )
    with pytest.raises(specs.SpecError, match=r"names other 'perceptron_acc'"):
        runner.resolve(spec)


def test_declared_metric_names_with_placeholders():
    experiment = registry.Experiment("demo", None, object, metrics=("max_error_m{m}", "loss"))
    assert experiment.produces("max_error_m1") and experiment.produces("max_error_m12")
    assert experiment.produces("loss")
    assert not experiment.produces("max_error_m") and not experiment.produces("max_error_n1")
    # A placeholder stands for an identifier part, underscores included (no_skips, beta0_5).
    assert experiment.produces("max_error_mno_skips")
    assert not experiment.produces("losses")
    assert experiment.undeclared({"loss": 1, "max_error_m2": 2, "lost": 3}) == ["lost"]
    # Undeclared metrics (an experiment outside the bundle) are not checked.
    assert registry.Experiment("demo", None, object).produces("anything")


@dataclasses.dataclass
class _Config:
    dataset: str = "digits"


def test_register_outside_the_bundle_needs_a_name_and_checks_its_declarations():
    def function(config, context):
        return None

    with pytest.raises(TypeError, match=r"defined outside mpkeras_experiments; give it name="):
        registry.register(_Config)(function)
    with pytest.raises(TypeError, match=r"datasets names 'data', which is not a field of _Config"):
        registry.register(_Config, datasets={"data": ("digits",)}, name="test_registry_a")
    with pytest.raises(TypeError, match=r"must be a non-empty tuple of dataset names"):
        registry.register(_Config, datasets="digits", name="test_registry_a")
    with pytest.raises(TypeError, match=r"metrics must be a tuple of metric names"):
        registry.register(_Config, metrics="loss", name="test_registry_a")
    with pytest.raises(TypeError, match=r"must be a dataclass"):
        registry.register(dict, name="test_registry_a")
    registry.register(_Config, metrics=("loss",), datasets=("digits",), name="test_registry_a")(
        function
    )
    assert registry.get("test_registry_a").datasets == {"dataset": ("digits",)}


def test_a_bundled_experiment_is_named_by_its_file_only():
    def function(config, context):
        return None

    function.__module__ = "mpkeras_experiments.neural_networks.test_registry_b"
    with pytest.raises(
        TypeError, match=r"is named by its file \('test_registry_b'\); drop name='other'"
    ):
        registry.register(_Config, name="other")(function)
    registry.register(_Config)(function)
    assert registry.get("test_registry_b").function is function
    function.__module__ = "mpkeras_experiments.test_registry_c"
    with pytest.raises(TypeError, match=r"must be mpkeras_experiments.<chapter>.<name>"):
        registry.register(_Config)(function)


def test_two_experiments_of_one_name_are_refused():
    def first(config, context):
        return None

    def second(config, context):
        return None

    registry.register(_Config, name="test_registry_twice")(first)
    with pytest.raises(ValueError, match=r"'test_registry_twice' is registered twice"):
        registry.register(_Config, name="test_registry_twice")(second)
