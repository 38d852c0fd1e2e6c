"""Pieces the chapter-5b experiments share: data, a per-step logger, distances."""

import keras
import numpy as np

from mpkeras import data


def image_splits(dataset, binarize="dynamic", batch_size=64, seed=0):
    """Train pipeline, validation pipeline and test arrays for a VAE on `dataset`.

    Training images are binarised afresh each epoch (`binarize="dynamic"`) or
    once ("static"); validation and test are binarised once with a fixed
    seed, so their log-likelihoods are of fixed binary data (nats comparable
    across runs).
    """
    train = data.load(
        dataset,
        split="train",
        batch_size=batch_size,
        task="reconstruction",
        binarize=binarize,
        seed=seed,
    )
    validation = data.load(
        dataset, split="validation", batch_size=256, task="reconstruction", binarize="static"
    )
    x_test, _ = data.load_arrays(dataset, split="test", task="reconstruction", binarize="static")
    return train, validation, x_test


class BetaTrajectory(keras.callbacks.Callback):
    """Record the VAE's beta weight after every training batch and each epoch's KL.

    beta is read from the model's weight (the logs hold epoch means), so the
    per-step trajectory is the dual ascent's exactly.
    """

    def __init__(self):
        super().__init__()
        self.beta = []
        self.epoch_kl = []

    def on_train_batch_end(self, batch, logs=None):
        self.beta.append(float(self.model.beta.numpy()))

    def on_epoch_end(self, epoch, logs=None):
        if logs and "kl" in logs:
            self.epoch_kl.append(float(logs["kl"]))


def nearest_distance(points, reference):
    """Mean Euclidean distance from each point to its nearest reference point."""
    from sklearn.neighbors import NearestNeighbors

    points = np.asarray(points, np.float64).reshape(len(points), -1)
    reference = np.asarray(reference, np.float64).reshape(len(reference), -1)
    distances, _ = NearestNeighbors(n_neighbors=1).fit(reference).kneighbors(points)
    return float(distances.mean())
