"""Latent codes in TensorBoard's Embedding Projector: the files, and the plugin reading them.

The plugin is TensorBoard's own ``ProjectorPlugin`` over the log directory,
asked through its HTTP handlers what the Projector tab asks: ``/runs``,
``/info``, ``/tensor``, ``/metadata``, ``/sprite_image``.
"""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from mpkeras_experiments.embeddings import log_test_codes
from PIL import Image
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.projector import projector_plugin
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

from mpkeras import data, runner
from mpkeras.callbacks import EmbeddingLogger, latent_means, projector, write_embedding
from mpkeras.models import build_autoencoder, build_vae

RNG = np.random.default_rng(0)
CODES = RNG.normal(size=(10, 3)).astype(np.float32)
IMAGES = RNG.random((10, 8, 8, 1)).astype(np.float32)
NAME = projector.TENSOR_NAME


class ProjectorServer:
    """The Projector plugin's handlers over ``logdir``, as TensorBoard serves them."""

    def __init__(self, logdir):
        multiplexer = plugin_event_multiplexer.EventMultiplexer()
        multiplexer.AddRunsFromDirectory(str(logdir))
        multiplexer.Reload()
        provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
        context = base_plugin.TBContext(
            logdir=str(logdir), data_provider=provider, multiplexer=multiplexer
        )
        self.apps = projector_plugin.ProjectorPlugin(context).get_plugin_apps()

    def get(self, route, **params):
        client = werkzeug_test.Client(self.apps[route], wrappers.Response)
        response = client.get(route, query_string=params)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response


def test_the_plugin_serves_codes_labels_and_sprite(tmp_path):
    write_embedding(
        tmp_path / "vae" / "projector", CODES, metadata=np.arange(10) % 3, images=IMAGES
    )
    server = ProjectorServer(tmp_path)
    assert server.get("/runs").json == ["vae/projector"]
    (info,) = server.get("/info", run="vae/projector").json["embeddings"]
    assert info["tensorName"] == NAME and info["tensorShape"] == [10, 3]
    tensor = server.get("/tensor", run="vae/projector", name=NAME).get_data()
    np.testing.assert_array_equal(np.frombuffer(tensor, np.float32).reshape(10, 3), CODES)
    labels = server.get("/metadata", run="vae/projector", name=NAME).get_data(as_text=True)
    assert labels.splitlines() == [str(i % 3) for i in range(10)]  # One column: no header.
    sprite = server.get("/sprite_image", run="vae/projector", name=NAME)
    assert sprite.content_type == "image/png"
    side = projector.MIN_THUMBNAIL_SIDE  # 8 px images, enlarged 4 times.
    assert info["sprite"]["singleImageDim"] == [side, side]
    image = np.asarray(Image.open(io.BytesIO(sprite.get_data())))
    assert image.shape == (4 * side, 4 * side)  # ceil(sqrt(10)) = 4 thumbnails a row.


def test_files_are_as_the_plugin_documents(tmp_path):
    config = write_embedding(
        tmp_path, CODES, metadata={"label": list("abcdefghij"), "k": range(10)}, images=IMAGES
    )
    assert config == tmp_path / "projector_config.pbtxt"
    text = config.read_text()
    assert f'tensor_name: "{NAME}"' in text and 'metadata_path: "metadata.tsv"' in text
    assert 'image_path: "sprite.png"' in text
    # The checkpoint holds the codes under the configured name.
    np.testing.assert_array_equal(tf.train.load_checkpoint(str(tmp_path)).get_tensor(NAME), CODES)
    # Several columns: a header row, tab-separated.
    lines = (tmp_path / "metadata.tsv").read_text().splitlines()
    assert lines[0] == "label\tk" and lines[1:3] == ["a\t0", "b\t1"] and len(lines) == 11


@pytest.mark.parametrize("dims", [1, 2])
def test_small_codes_get_zero_columns_for_the_3d_view(tmp_path, dims):
    write_embedding(tmp_path, CODES[:, :dims])
    stored = tf.train.load_checkpoint(str(tmp_path)).get_tensor(NAME)
    assert stored.shape == (10, projector.MIN_DIMENSIONS)
    np.testing.assert_array_equal(stored[:, :dims], CODES[:, :dims])
    np.testing.assert_array_equal(stored[:, dims:], 0.0)


@pytest.mark.parametrize("dtype", [tf.bfloat16, tf.float16])
def test_half_precision_codes_are_stored_as_float32(tmp_path, dtype):
    # A model's codes under --mixed-precision are bfloat16 or float16 arrays.
    codes = tf.cast(CODES, dtype)
    write_embedding(tmp_path / "tensor", codes)
    write_embedding(tmp_path / "array", codes.numpy())
    expected = tf.cast(codes, tf.float32).numpy()
    for kind in ("tensor", "array"):
        stored = tf.train.load_checkpoint(str(tmp_path / kind)).get_tensor(NAME)
        assert stored.dtype == np.float32
        np.testing.assert_array_equal(stored, expected)


def test_sprite_places_each_image_row_major(tmp_path):
    images = np.zeros((5, 8, 8), np.uint8)
    for index in range(5):
        images[index, index, :] = 200 + index  # a line at row `index` of image `index`
    grid, side = projector.sprite_image(images)
    assert side == 32 and grid.shape == (3 * 32, 3 * 32)
    for index in range(5):
        row, col = divmod(index, 3)
        tile = grid[row * 32 : (row + 1) * 32, col * 32 : (col + 1) * 32]
        expected = images[index].repeat(4, axis=0).repeat(4, axis=1)
        np.testing.assert_array_equal(tile, expected)
    # Places with no image are white.
    np.testing.assert_array_equal(grid[64:, 64:], 255)


def test_sprite_shrinks_to_the_projector_limit(monkeypatch):
    monkeypatch.setattr(projector, "MAX_SPRITE_SIDE", 100)
    grid, side = projector.sprite_image(np.ones((10, 64, 48, 3)))
    assert side == 25 and grid.shape == (100, 100, 3)  # 4 a row, 100 // 4; padded to square
    np.testing.assert_array_equal(grid[:25, :25], 255)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"codes": np.zeros(10)}, "`codes`"),
        ({"codes": np.zeros((0, 3))}, "`codes`"),
        ({"codes": np.full((10, 3), np.nan)}, "finite"),
        ({"metadata": np.arange(9)}, "10 values"),
        ({"metadata": {"a": range(10), "b": range(11)}}, "metadata\\['b'\\]"),
        ({"metadata": ["x\ty"] * 10}, "without tabs"),
        ({"metadata": "labels"}, "`metadata`"),
        ({"images": IMAGES[:9]}, "10 images"),
        ({"images": IMAGES * 2}, "floats in \\[0, 1\\]"),
        ({"images": np.zeros((10, 8, 8, 2))}, "`images`"),
    ],
)
def test_bad_inputs_are_refused_before_anything_is_written(tmp_path, kwargs, match):
    arguments = {"codes": CODES, "metadata": None, "images": None, **kwargs}
    with pytest.raises(ValueError, match=match):
        write_embedding(tmp_path / "e", **arguments)
    assert not (tmp_path / "e").exists()


def test_writing_again_replaces_the_embedding(tmp_path):
    write_embedding(tmp_path, CODES, metadata=range(10), images=IMAGES)
    write_embedding(tmp_path, CODES[:4] * 2)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("events")) == [
        "checkpoint",
        "embedding.ckpt-1.data-00000-of-00001",
        "embedding.ckpt-1.index",
        "projector_config.pbtxt",
    ]
    assert len(list(tmp_path.glob("events.*"))) == 1
    np.testing.assert_array_equal(
        tf.train.load_checkpoint(str(tmp_path)).get_tensor(NAME), CODES[:4] * 2
    )


def test_latent_means_of_a_vae_and_an_autoencoder():
    vae = build_vae((8, 8, 1), 3, kind="mlp", hidden=(8,), seed=0)
    np.testing.assert_allclose(
        latent_means(vae, IMAGES, batch_size=3), vae.encode(IMAGES)[0], rtol=1e-5, atol=1e-6
    )
    autoencoder = build_autoencoder((8, 8, 1), 2, kind="mlp", hidden=(8,))
    np.testing.assert_allclose(
        latent_means(autoencoder, IMAGES), autoencoder.encoder(IMAGES), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="`model`"):
        latent_means(keras.Sequential([keras.layers.Dense(2)]), IMAGES)


class KerasExampleVAE(keras.Model):
    """As keras.io's VAE example: an encoder giving [z_mean, z_log_var, z]."""

    def __init__(self):
        super().__init__()
        inputs = keras.Input((8, 8, 1))
        flat = keras.layers.Flatten()(inputs)
        self.encoder = keras.Model(inputs, [keras.layers.Dense(3)(flat) for _ in range(3)])

    def call(self, x):
        return self.encoder(x)[0]


def test_latent_means_refuses_to_guess_among_several_encoder_outputs(tmp_path):
    model = KerasExampleVAE()
    with pytest.raises(ValueError, match="several"):
        latent_means(model, IMAGES)
    model.compile(optimizer="sgd", loss="mse")
    plain = keras.Model(model.encoder.input, model.encoder.output[0])
    plain.compile(optimizer="sgd", loss="mse")
    # Without `encode` or `encoder`, the logger refuses when fit starts, not after it.
    with pytest.raises(ValueError, match="`encode`"):
        plain.fit(
            IMAGES,
            np.zeros((10, 3)),
            epochs=1,
            verbose=0,
            callbacks=[EmbeddingLogger(tmp_path, IMAGES)],
        )
    assert not list(tmp_path.iterdir())


def test_embedding_logger_writes_the_codes_after_fit(tmp_path):
    autoencoder = build_autoencoder((8, 8, 1), 4, kind="mlp", hidden=(8,))
    autoencoder.compile(optimizer="adam", loss="mse")
    logger = EmbeddingLogger(
        tmp_path / "conv" / "projector", IMAGES, metadata=range(10), images=IMAGES
    )
    autoencoder.fit(IMAGES, IMAGES, epochs=1, verbose=0, callbacks=[logger])
    (info,) = ProjectorServer(tmp_path).get("/info", run="conv/projector").json["embeddings"]
    assert info["tensorShape"] == [10, 4]
    stored = tf.train.load_checkpoint(str(tmp_path / "conv" / "projector")).get_tensor(NAME)
    np.testing.assert_allclose(stored, autoencoder.encoder(IMAGES), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="10 values"):
        EmbeddingLogger(tmp_path, IMAGES, metadata=range(3))


def test_run_context_and_experiment_helper_label_the_test_codes(tmp_path):
    """log_test_codes through RunContext.log_embedding: the digits' test labels, in order."""
    x_test, _ = data.load_arrays("digits", split="test", task="reconstruction")
    x_test = x_test[:20]
    model = build_autoencoder(x_test.shape[1:], 2, kind="mlp", hidden=(8,))
    context = runner.RunContext(run_dir=tmp_path, seed=0, quick=True)
    config = log_test_codes(context, "conv", model, "digits", x_test)
    assert config == tmp_path / "logs" / "conv" / "projector" / "projector_config.pbtxt"
    images, labels = data.load_arrays("digits", split="test", task="classification")
    np.testing.assert_array_equal(images[:20], x_test)  # Same split, same order.
    written = (config.parent / "metadata.tsv").read_text().splitlines()
    assert written == [str(label) for label in labels[:20]]
