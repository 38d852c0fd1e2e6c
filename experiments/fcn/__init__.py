"""Chapter 3 of the notes, fully convolutional networks: experiments for claims F1 and F3.

- ``unet_shapes`` (F3): a U-Net segments the offline ``shapes`` images
  (mean IoU on the test split, per-class IoU, input / true mask / predicted
  mask in TensorBoard every epoch); ``--set dataset=oxford_iiit_pet`` runs
  it on the Oxford pets trimaps.
- ``upsampling_compare`` (F1, F3): the four upsampling methods (transposed
  convolution, nearest neighbour, bed of nails, max unpooling) in the same
  U-Net, and the U-Net without its skip connections, on the same budget and
  seed: mean IoU, parameters, step time.
Claims F1 (the Figures 7-10 worked example) and F2 (transposed convolution
= transposed conv matrix) are tested in tests/layers.
"""
