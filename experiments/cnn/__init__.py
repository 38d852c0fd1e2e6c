"""Chapter 2 of the notes, CNNs: experiments for claims C4 and C7.

``cnn_digits`` (C7): conv/pool blocks and a dense head classify handwritten
digits (offline ``digits``; ``--set dataset=mnist`` or ``fashion_mnist`` for
the TFDS data). ``explicit_vs_autodiff`` (C4): a CNN whose conv gradients
come from the notes' backward formulas trains exactly like Keras' Conv2D.
Claims C1-C3, C5 and C6 are tested in tests/ops and tests/models.
"""
