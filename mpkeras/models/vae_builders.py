"""Encoder and decoder builders for the VAE, on top of the chapter-5a builders.

`build_vae_encoder` is `mpkeras.models.autoencoder.build_encoder` with
2 * latent_dim outputs, [mean, log_var] side by side (the VAE splits them);
`build_vae_decoder` is `build_decoder` with a linear output layer, the
logits of a Bernoulli p(x | z) or the means of a Gaussian one. Default sizes
come from the chapter-5a builders: conv filters (32, 64) for 8x8 digits,
(32, 64, 64) for 28x28 MNIST, (32, 32, 64, 64) for 64x64 sprites; MLP
widths (256, 128).
"""

from mpkeras.models.autoencoder import build_decoder, build_encoder
from mpkeras.models.vae import VAE


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
    logits (`VAE(likelihood="bernoulli")`, numerically stable) or Gaussian
    means; `output_activation="sigmoid"` gives means in [0, 1] (then use
    `VAE(..., from_logits=False)` for a Bernoulli likelihood).
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
    name="vae",
    **vae_kwargs,
):
    """A `VAE` whose encoder and decoder mirror each other.

    Args:
        input_shape, latent_dim, kind, hidden, activation: as in
            `build_vae_encoder` / `build_vae_decoder`.
        likelihood: "bernoulli" or "gaussian".
        name: the model name; the sub-models are `f"{name}_encoder"` and
            `f"{name}_decoder"`.
        **vae_kwargs: `VAE` arguments (beta, kl_threshold, seed, ...).

    Example:

    >>> vae = build_vae((64, 64, 1), 10, kind="conv", beta=4.0, seed=0)
    """
    encoder = build_vae_encoder(
        input_shape, latent_dim, kind, hidden, activation, name=f"{name}_encoder"
    )
    decoder = build_vae_decoder(
        latent_dim, input_shape, kind, hidden, activation, name=f"{name}_decoder"
    )
    return VAE(encoder, decoder, likelihood=likelihood, name=name, **vae_kwargs)


def _latent(latent_dim):
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim <= 0:
        raise ValueError(
            "Received an invalid value for `latent_dim`, expected a positive "
            f"integer. Received: latent_dim={latent_dim!r}"
        )
    return latent_dim
