"""Chapter 5a of the notes, autoencoders: experiments for claims A1, A2 and A3.

- ``linear_ae_pca`` (A1): a linear autoencoder trained by gradient descent
  learns the top-k PCA subspace and PCA's reconstruction error.
- ``nonlinear_ae`` (A2): a convolutional autoencoder reconstructs better
  than a linear one with the same latent size.
- ``denoising_ae`` and ``inpainting_ae`` (A3): overcomplete convolutional
  autoencoders trained on corrupted inputs restore the clean image; an
  undercomplete one is trained alongside for comparison.
"""
