"""describe(), prepare() and info() for the CLI."""

import os

import pytest

import mpkeras.data as data


def test_describe_reports_source_prepared_and_size(fresh_data_dir):
    rows = data.describe(data_dir=fresh_data_dir)
    assert [r["name"] for r in rows] == data.names()
    assert all(set(r) >= {"name", "source", "prepared", "size_bytes"} for r in rows)
    assert all(not r["prepared"] and r["size_bytes"] is None for r in rows)
    sources = {r["name"]: r["source"] for r in rows}
    assert sources["toy2d/xor"] == "offline" and sources["mnist"] == "remote"

    path = data.prepare("toy2d/xor", data_dir=fresh_data_dir)
    assert os.path.isfile(os.path.join(path, "dataset_info.json"))
    row = {r["name"]: r for r in data.describe(data_dir=fresh_data_dir)}["toy2d/xor"]
    assert row["prepared"] is True
    total = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    assert row["size_bytes"] == total > 0
    others = [r for r in data.describe(data_dir=fresh_data_dir) if r["name"] != "toy2d/xor"]
    assert not any(r["prepared"] for r in others)


def test_prepare_is_idempotent_and_force_rebuilds(fresh_data_dir):
    path = data.prepare("toy2d/xor", data_dir=fresh_data_dir)
    stamp = os.path.getmtime(os.path.join(path, "dataset_info.json"))
    assert data.prepare("toy2d/xor", data_dir=fresh_data_dir) == path
    assert os.path.getmtime(os.path.join(path, "dataset_info.json")) == stamp
    os.utime(os.path.join(path, "dataset_info.json"), (0, 0))
    assert data.prepare("toy2d/xor", force=True, data_dir=fresh_data_dir) == path
    assert os.path.getmtime(os.path.join(path, "dataset_info.json")) > 0


def test_info_without_preparing_has_metadata_only(fresh_data_dir):
    info = data.info("toy2d/blobs", data_dir=fresh_data_dir)
    assert info.metadata["margin"] > 0
    assert info.supervised_keys == ("x", "label")
    variant = os.path.join(fresh_data_dir, "toy2d", "blobs", "1.0.0")
    assert not os.path.exists(os.path.join(variant, "dataset_info.json"))
    prepared = data.info("toy2d/blobs", data_dir=fresh_data_dir, prepare=True)
    assert prepared.splits["train"].num_examples == 200
    assert prepared.citation and prepared.description


def test_prepare_unknown_name():
    with pytest.raises(ValueError, match="Unknown dataset"):
        data.prepare("nope")
