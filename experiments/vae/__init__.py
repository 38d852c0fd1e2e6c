"""Chapter 5b of the notes, variational autoencoders: experiments for claims A4, A5 and A6.

- ``vae_digits`` (A4, A5): a VAE trained on the ELBO; the test ELBO and the
  importance-weighted log-likelihood (K = 1000) in nats; prior samples,
  reconstructions and latent interpolations that stay on the data.
- ``beta_vae_sprites`` (A6): beta in {1, 4} on the sprites factor grid with
  the same budget; MIG and BetaVAE score per beta; latent traversals.
- ``constrained_beta_vae`` (A6): KL <= delta by dual ascent on beta, delta in
  {5, 15} nats; the final KL per delta and the beta trajectory.
"""
