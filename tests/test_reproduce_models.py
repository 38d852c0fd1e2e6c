"""``reproduce --seeds``: each seed's model is its own file, none replaces another's."""

import dataclasses
import json

import numpy as np
from mpkeras_experiments import Results, register


@dataclasses.dataclass
class SeedModelConfig:
    units: int = 1


@register(SeedModelConfig, name="test_reproduce_seed_model")
def seed_model(config, context):
    """A one-weight model whose weight is the run's seed: each seed's file is told apart."""
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(config.units, use_bias=False)])
    model.layers[0].kernel.assign(np.full((1, config.units), float(context.seed), "float32"))
    return Results(metrics={"seed": float(context.seed)}, model=model)


def _spec(tmp_path):
    path = tmp_path / "seedmodel.toml"
    path.write_text('experiment = "test_reproduce_seed_model"\nclaims = ["N1"]\n')
    return path


def _kernel(path):
    import keras

    return float(keras.saving.load_model(path).layers[0].kernel.numpy()[0, 0])


def test_reproduce_on_several_seeds_keeps_every_seeds_model(tmp_path):
    from mpkeras.runner import reproduce

    models = tmp_path / "models"
    report_dir, _ = reproduce(
        [_spec(tmp_path)],
        seeds=[0, 3],
        runs_dir=tmp_path / "runs",
        models_dir=models,
        report=lambda _: None,
    )
    for seed in (0, 3):
        path = models / f"seed-{seed}" / "seedmodel.keras"
        assert _kernel(path) == seed
        result = json.loads(
            (report_dir / "seedmodel" / f"seed-{seed}" / "results.json").read_text()
        )
        assert result["models"] == [str(path)]
    assert not (models / "seedmodel.keras").exists()


def test_reproduce_on_one_seed_writes_the_model_where_run_does(tmp_path):
    from mpkeras.runner import reproduce

    models = tmp_path / "models"
    reproduce(
        [_spec(tmp_path)],
        seeds=[2],
        runs_dir=tmp_path / "runs",
        models_dir=models,
        report=lambda _: None,
    )
    assert _kernel(models / "seedmodel.keras") == 2
    assert not list(models.glob("seed-*"))
