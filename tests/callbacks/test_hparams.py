"""Runs in TensorBoard's HParams dashboard: sessions, the experiment config, the runner's call.

The event files are read back twice: raw (TensorBoard's EventAccumulator and
the HParams plugin's own metadata parsers) and through the HParams plugin's
HTTP handlers (``/experiment``, ``/session_groups``), as the dashboard asks.
"""

import json

import numpy as np
import pytest
from tensorboard.backend.event_processing import (
    data_provider,
    event_accumulator,
    plugin_event_multiplexer,
)
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, hparams_plugin
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

from mpkeras import runner
from mpkeras.callbacks import hparams

ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def read_session(logdir):
    """(hparams, metrics, end status) of the one session written in ``logdir``."""
    events = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    events.Reload()
    content = events.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    start = hparams_metadata.parse_session_start_info_plugin_data(
        content[hparams_metadata.SESSION_START_INFO_TAG]
    )
    end = hparams_metadata.parse_session_end_info_plugin_data(
        content[hparams_metadata.SESSION_END_INFO_TAG]
    )
    settings = {}
    for name, value in start.hparams.items():
        settings[name] = getattr(value, value.WhichOneof("kind"))
    metrics = {}
    for tag in events.Tags()["tensors"]:
        if tag in content:
            continue
        (event,) = events.Tensors(tag)
        assert event.step == 0, (tag, event.step)
        metrics[tag] = float(tensor_util.make_ndarray(event.tensor_proto))
    return settings, metrics, end.status, start.group_name


class HParamsServer:
    """The HParams plugin's handlers over ``logdir``, as TensorBoard serves them."""

    def __init__(self, logdir):
        multiplexer = plugin_event_multiplexer.EventMultiplexer()
        multiplexer.AddRunsFromDirectory(str(logdir))
        multiplexer.Reload()
        provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
        context = base_plugin.TBContext(
            logdir=str(logdir), data_provider=provider, multiplexer=multiplexer
        )
        self.apps = hparams_plugin.HParamsPlugin(context).get_plugin_apps()

    def post(self, route, body):
        client = werkzeug_test.Client(self.apps[route], wrappers.Response)
        response = client.post(route, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.get_data(as_text=True)
        return json.loads(response.get_data())

    def experiment(self):
        return self.post("/experiment", {"experimentName": ""})

    def session_groups(self):
        return self.post(
            "/session_groups",
            {
                "experimentName": "",
                "allowedStatuses": ALL_STATUSES,
                "colParams": [],
                "startIndex": 0,
                "sliceSize": 100,
            },
        )["sessionGroups"]


CONFIG = {
    "beta": 4.0,
    "kind": "mlp",
    "hidden": [128, 64],
    "kl_threshold": None,
    "shuffle": True,
    "train": {"epochs": 3, "learning_rate": 1e-3, "schedule": {"warmup": 2}},
    "empty": {},
}


def test_flatten_config_dotted_names_scalars_and_json_lists():
    flat = hparams.flatten_config(CONFIG)
    assert flat == {
        "beta": 4.0,
        "kind": "mlp",
        "hidden": "[128, 64]",
        "kl_threshold": "null",
        "shuffle": True,
        "train.epochs": 3,
        "train.learning_rate": 1e-3,
        "train.schedule.warmup": 2,
    }
    assert list(flat) == sorted(flat)
    assert isinstance(flat["train.epochs"], int) and isinstance(flat["shuffle"], bool)
    assert hparams.flatten_config({"n": np.int64(3), "x": np.float32(0.5)}) == {"n": 3, "x": 0.5}


def test_flatten_config_reads_an_experiment_dataclass():
    from mpkeras_experiments.vae.vae_digits import VaeDigitsConfig

    config = VaeDigitsConfig(latent_dim=4)
    flat = hparams.flatten_config(config)
    assert flat["latent_dim"] == 4 and flat["train.epochs"] == config.train.epochs
    assert flat["hidden"] == json.dumps(config.hidden)
    with pytest.raises(ValueError, match="`config`"):
        hparams.flatten_config(VaeDigitsConfig)  # The class, not a config.


@pytest.mark.parametrize(
    "config, match",
    [
        ([1, 2], "`config`"),
        ({1: 2}, "non-empty string keys"),
        ({"model": object()}, "`model`"),
    ],
)
def test_flatten_config_refuses_what_is_not_a_setting(config, match):
    with pytest.raises(ValueError, match=match):
        hparams.flatten_config(config)


def test_scalar_metrics_keep_one_number_per_metric():
    metrics = {
        "loss": 1.5,
        "steps": 3,
        "holds": True,
        "curve": [1.0, 2.0],
        "note": "x",
        "none": None,
        "np": np.float32(0.25),
        "np0d": np.array(2.0),
    }
    assert hparams.scalar_metrics(metrics) == {
        "holds": 1.0,
        "loss": 1.5,
        "np": 0.25,
        "np0d": 2.0,
        "steps": 3.0,
    }
    with pytest.raises(ValueError, match="`metrics`"):
        hparams.scalar_metrics([1.0])


def test_session_holds_the_settings_the_metrics_and_the_status(tmp_path):
    settings, metrics = hparams.write_run_hparams(
        tmp_path / "s", CONFIG, {"kl": 2.5, "curve": [1, 2]}, trial_id="point-1"
    )
    read_settings, read_metrics, status, group = read_session(tmp_path / "s")
    assert read_settings == {**settings, "train.epochs": 3.0, "train.schedule.warmup": 2.0}
    assert read_metrics == metrics == {"kl": 2.5}
    assert status == api_pb2.STATUS_SUCCESS
    assert group == "point-1"


def test_writing_a_session_again_replaces_it(tmp_path):
    hparams.write_run_hparams(tmp_path / "s", {"beta": 1.0}, {"kl": 1.0}, status="failure")
    hparams.write_run_hparams(tmp_path / "s", {"beta": 2.0}, {"kl": 3.0})
    assert len(list((tmp_path / "s").glob("events.out.tfevents.*"))) == 1
    settings, metrics, status, _ = read_session(tmp_path / "s")
    assert settings == {"beta": 2.0} and metrics == {"kl": 3.0}
    assert status == api_pb2.STATUS_SUCCESS


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"status": "done"}, "`status`"),
        ({"trial_id": 3}, "`trial_id`"),
    ],
)
def test_write_run_hparams_refuses_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        hparams.write_run_hparams(tmp_path / "s", {"beta": 1.0}, {}, **kwargs)
    assert not (tmp_path / "s").exists()


def _point(root, name, beta, kl, status="completed", seed=0):
    run_dir = root / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(
        json.dumps(
            {
                "spec": "toy",
                "seed": seed,
                "quick": True,
                "config": {"beta": beta, "hidden": [8], "train": {"epochs": 2}},
            }
        )
    )
    (run_dir / "results.json").write_text(
        json.dumps(
            {
                "status": status,
                "metrics": {"kl": kl, "per_step": [1, 2]},
                "wall_time_s": 1.25,
            }
        )
    )
    return run_dir


def test_run_hparams_reads_the_run_directory(tmp_path):
    settings, metrics = hparams.run_hparams(_point(tmp_path, "p1", 4.0, 2.5, seed=3))
    assert settings == {
        "beta": 4.0,
        "hidden": "[8]",
        "quick": True,
        "seed": 3,
        "spec": "toy",
        "train.epochs": 2,
    }
    assert metrics == {"kl": 2.5, "wall_time_s": 1.25}
    with pytest.raises(ValueError, match="config.json"):
        hparams.run_hparams(tmp_path / "missing")


def test_a_config_setting_named_like_a_run_setting_is_refused(tmp_path):
    run_dir = _point(tmp_path, "p1", 1.0, 1.0)
    stored = json.loads((run_dir / "config.json").read_text())
    stored["config"]["seed"] = 5
    (run_dir / "config.json").write_text(json.dumps(stored))
    with pytest.raises(ValueError, match="seed"):
        hparams.run_hparams(run_dir)


def test_a_failed_run_is_a_failed_session(tmp_path):
    logdir = hparams.log_run_hparams(_point(tmp_path, "p1", 1.0, 1.0, status="diverged"))
    assert read_session(logdir)[2] == api_pb2.STATUS_FAILURE


def test_experiment_config_lists_the_domains_and_replaces_the_old_one(tmp_path):
    hparams.write_hparams_config(tmp_path, {"beta": [1.0]}, ["old"])
    path = hparams.write_hparams_config(
        tmp_path,
        {"beta": [1, 4.0, 2, 4], "kind": ["mlp"], "bn": [True, False], "mixed": [1, "a"]},
        ["kl", "elbo"],
    )
    assert list(tmp_path.glob("events.out.tfevents.*")) == [path]
    experiment = HParamsServer(tmp_path).experiment()
    infos = {info["name"]: info for info in experiment["hparamInfos"]}
    assert infos["beta"]["type"] == "DATA_TYPE_FLOAT64"
    assert infos["beta"]["domainDiscrete"] == [1.0, 2.0, 4.0] and infos["beta"]["differs"]
    assert infos["kind"]["domainDiscrete"] == ["mlp"] and not infos["kind"]["differs"]
    assert infos["bn"]["type"] == "DATA_TYPE_BOOL" and infos["bn"]["domainDiscrete"] == [
        False,
        True,
    ]
    assert infos["mixed"]["type"] == "DATA_TYPE_STRING"
    assert [m["name"]["tag"] for m in experiment["metricInfos"]] == ["kl", "elbo"]  # As given.


@pytest.mark.parametrize(
    "arguments, match",
    [
        (([1.0], ["kl"]), "`hparams`"),
        (({"beta": 1.0}, ["kl"]), "`beta`"),
        (({"beta": [1.0]}, "kl"), "`metric_names`"),
    ],
)
def test_write_hparams_config_refuses_bad_arguments(tmp_path, arguments, match):
    with pytest.raises(ValueError, match=match):
        hparams.write_hparams_config(tmp_path, *arguments)


def test_a_sweep_root_shows_every_point_with_its_values(tmp_path):
    points = [
        _point(tmp_path, f"point-{i}", beta, kl)
        for i, (beta, kl) in enumerate([(1.0, 9.0), (4.0, 3.0), (16.0, 1.0)])
    ]
    for point in points:
        hparams.log_run_hparams(point)
    hparams.log_sweep_hparams(tmp_path, points)
    server = HParamsServer(tmp_path)
    experiment = server.experiment()
    infos = {info["name"]: info for info in experiment["hparamInfos"]}
    assert infos["beta"]["domainDiscrete"] == [1.0, 4.0, 16.0] and infos["beta"]["differs"]
    assert not infos["train.epochs"]["differs"]
    assert [m["name"]["tag"] for m in experiment["metricInfos"]] == ["kl", "wall_time_s"]
    groups = server.session_groups()
    by_beta = {group["hparams"]["beta"]: group for group in groups}
    assert sorted(by_beta) == [1.0, 4.0, 16.0]
    for beta, kl in [(1.0, 9.0), (4.0, 3.0), (16.0, 1.0)]:
        group = by_beta[beta]
        values = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        np.testing.assert_allclose(values["kl"], kl, rtol=1e-6)
        (session,) = group["sessions"]
        assert session["status"] == "STATUS_SUCCESS"
        assert session["name"].endswith("/logs/hparams")
    # Each point is its own group, named after its directory.
    assert sorted(group["name"] for group in groups) == [
        f"{tmp_path.name}/point-{i}" for i in range(3)
    ]


def test_a_finished_run_writes_its_session(tmp_path):
    """The runner's call: a tiny xor run's session holds its resolved config and metrics."""
    outcome = runner.run(
        "xor",
        quick=True,
        overrides=["perceptron_epochs=1", "train.epochs=1"],
        run_dir=tmp_path / "run",
        models_dir=tmp_path / "models",
        verbose=0,
        report=lambda line: None,
    )
    settings, metrics, status, _ = read_session(outcome.run_dir / "logs" / "hparams")
    config = json.loads((outcome.run_dir / "config.json").read_text())
    assert settings["train.epochs"] == 1 and settings["perceptron_epochs"] == 1
    assert (
        settings["seed"] == config["seed"]
        and settings["spec"] == "xor"
        and settings["quick"] is True
    )
    assert set(settings) == {*hparams.flatten_config(config["config"]), "seed", "quick", "spec"}
    expected = hparams.scalar_metrics(outcome.results["metrics"])
    assert expected and set(metrics) == {*expected, "wall_time_s"}
    np.testing.assert_allclose([metrics[k] for k in expected], list(expected.values()), rtol=1e-6)
    assert status == api_pb2.STATUS_SUCCESS
