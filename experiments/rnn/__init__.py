"""Chapter 4 of the notes, recurrent networks: experiments for claims R1-R6.

vanishing_exploding (R3), adding_problem (R4), gradient_clipping (R5),
sequence_modes (R1, R2, R6) and sentiment (many-to-one on real text, R2;
needs the remote imdb_reviews data).
"""
