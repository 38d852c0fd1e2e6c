"""Encoder and decoder builders for the VAE, on top of the chapter-5a builders.

`build_vae_encoder` is `mpkeras.models.autoencoder.build_encoder` with
2 * latent_dim outputs, [mean, log_var] side by side (the VAE splits them);
`build_vae_decoder` is `build_decoder`, by default with a linear output
layer: the logits of a Bernoulli p(x | z) (pass `from_logits=True` to the
VAE) or the means of a Gaussian one. `build_vae` pairs the two halves with a
`VAE` whose `from_logits` matches the decoder it builds. Default sizes
come from the chapter-5a builders: conv filters (32, 64) for 8x8 digits,
(32, 64, 64) for 28x28 MNIST, (32, 32, 64, 64) for 64x64 sprites; MLP
widths (256, 128).
"""

from mpkeras import validation
from mpkeras.models.autoencoder import build_decoder, build_encoder
from mpkeras.models.vae import VAE
from mpkeras.models.vae_likelihoods import LIKELIHOODS


def build_vae_encoder(
    input_shape, latent_dim, kind="mlp", hidden=None, activation="relu", name="encoder"
):
    """An encoder x -> [mean, log_var] concatenated, shape (batch, 2 * latent_dim).

    Args:
        input_shape: one image's shape, e.g. (8, 8, 1), (28, 28, 1), (64, 64, 1).
        latent_dim: size of z, positive.
        kind: "mlp" or "conv" (or "linear").
        hidden: Dense widths or conv filters per stride-2 stage; None for
            the defaults sized for the input.
        activation: hidden activation.
        name: model name and layer-name prefix.
    """
    return build_encoder(
        input_shape,
        2 * _latent(latent_dim),
        kind=kind,
        hidden=hidden,
        activation=activation,
        name=name,
    )


def build_vae_decoder(
    latent_dim,
    output_shape,
    kind="mlp",
    hidden=None,
    activation="relu",
    output_activation=None,
    name="decoder",
):
    """A decoder z -> the parameters of p(x | z), shaped like x.

    With the default linear `output_activation` the outputs are Bernoulli
    logits (then `VAE(..., from_logits=True)`) or Gaussian means;
    `output_activation="sigmoid"` gives Bernoulli probabilities in [0, 1]
    (`VAE`'s default, `from_logits=False`). The VAE reads a sigmoid's logits
    for the loss, so both are numerically stable.
    """
    return build_decoder(
        _latent(latent_dim),
        output_shape,
        kind=kind,
        hidden=hidden,
        activation=activation,
        output_activation=output_activation,
        name=name,
    )


def build_vae(
    input_shape,
    latent_dim,
    kind="mlp",
    hidden=None,
    activation="relu",
    likelihood="bernoulli",
    from_logits=False,
    name="vae",
    **vae_kwargs,
):
    """A `VAE` whose encoder and decoder mirror each other.

    A Bernoulli decoder ends in a sigmoid (probabilities, Keras's
    convention) or, with `from_logits=True`, in a linear layer (logits);
    the VAE reads it accordingly. A Gaussian decoder outputs linear means.

    Args:
        input_shape, latent_dim, kind, hidden, activation: as in
            `build_vae_encoder` / `build_vae_decoder`.
        likelihood: "bernoulli" or "gaussian".
        from_logits: whether a Bernoulli decoder outputs logits.
        name: the model name; the sub-models are `f"{name}_encoder"` and
            `f"{name}_decoder"`.
        **vae_kwargs: `VAE` arguments (beta, kl_threshold, seed, ...).

    Example:

    >>> vae = build_vae((64, 64, 1), 10, kind="conv", beta=4.0, seed=0)
    """
    likelihood = validation.one_of(likelihood, "likelihood", LIKELIHOODS)
    probabilities = likelihood == "bernoulli" and not from_logits
    encoder = build_vae_encoder(
        input_shape, latent_dim, kind, hidden, activation, name=f"{name}_encoder"
    )
    decoder = build_vae_decoder(
        latent_dim,
        input_shape,
        kind,
        hidden,
        activation,
        output_activation="sigmoid" if probabilities else None,
        name=f"{name}_decoder",
    )
    return VAE(
        encoder, decoder, likelihood=likelihood, from_logits=from_logits, name=name, **vae_kwargs
    )


def _latent(latent_dim):
    return validation.positive_int(latent_dim, "latent_dim")
