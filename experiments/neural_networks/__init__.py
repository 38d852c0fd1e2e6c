"""Chapter 1 of the notes, neural networks: experiments for claims N1, N2, N6 and N7."""
