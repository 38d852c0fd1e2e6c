"""Names, configs, splits and tasks resolve -- or fail with a useful message."""

import subprocess
import sys

import pytest

from mpkeras.data import registry


def test_names_lists_every_offline_config_and_remote_name():
    names = registry.names()
    for expected in (
        "digits",
        "sprites/small",
        "sprites/full",
        "shapes",
        "adding/t10",
        "adding/t50",
        "adding/t100",
        "adding/t200",
        "copy/t10",
        "copy/t200",
        "toy2d/xor",
        "toy2d/blobs",
        "mnist",
        "fashion_mnist",
        "binarized_mnist",
        "dsprites",
        "oxford_iiit_pet",
        "imdb_reviews",
    ):
        assert expected in names
    assert len(names) == len(set(names))


def test_names_does_not_import_tensorflow():
    code = (
        "import sys, mpkeras.data as d; n = d.names(); d.DatasetUnavailableError; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; print(len(n))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(registry.names())


@pytest.mark.parametrize(
    "name, base, config",
    [
        ("toy2d", "toy2d", "xor"),
        ("toy2d/blobs", "toy2d", "blobs"),
        ("sprites", "sprites", "small"),
        ("adding", "adding", "t50"),
        ("copy/t200", "copy", "t200"),
        ("digits", "digits", None),
        ("mnist", "mnist", None),
    ],
)
def test_resolve_picks_config(name, base, config):
    spec, got = registry.resolve(name)
    assert (spec.name, got) == (base, config)


def test_unknown_dataset_lists_available_names():
    with pytest.raises(ValueError, match=r"Unknown dataset 'nope'.*toy2d/xor.*mnist"):
        registry.resolve("nope")


def test_unknown_config_lists_configs():
    with pytest.raises(ValueError, match=r"Unknown config 't7'.*adding/t10"):
        registry.resolve("adding/t7")


def test_split_and_task_checks():
    spec, _ = registry.resolve("digits")
    registry.check_split(spec, "train[:50%]+validation")
    with pytest.raises(ValueError, match=r"Unknown split 'dev'.*train, validation, test"):
        registry.check_split(spec, "dev")
    assert registry.check_task(spec, None) == "classification"
    with pytest.raises(ValueError, match=r"Unknown task 'regression'"):
        registry.check_task(spec, "regression")
    with pytest.raises(ValueError, match=r"'digits' cannot serve task 'segmentation'"):
        registry.check_task(spec, "segmentation")
