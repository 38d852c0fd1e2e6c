"""The experiments' latent codes in TensorBoard's Embedding Projector (claims A5, A6)."""

from mpkeras import data
from mpkeras.callbacks.projector import latent_means
from mpkeras.data import registry


def log_test_codes(context, name, model, dataset, x, split="test"):
    """Write the codes of ``x`` to the Projector, labelled when ``dataset`` has labels.

    ``x`` must be the first ``len(x)`` examples of ``split`` in stored order
    (as ``data.load_arrays`` gives them, binarised or not): their labels are
    read from the same split with the classification task. Datasets without
    one (binarized_mnist) get codes and sprite without labels.

    Returns:
        The path of the embedding's ``projector_config.pbtxt``
        (``logs/<name>/projector``).
    """
    labels = None
    if "classification" in registry.resolve(dataset)[0].tasks:
        labels = data.load_arrays(dataset, split=split, task="classification")[1][: len(x)]
    return context.log_embedding(name, latent_means(model, x), metadata=labels, images=x)
