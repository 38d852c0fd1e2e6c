"""TFDS builders for the datasets that work offline, one module per builder.

Importing a module registers its builder with TFDS (so ``tfds.builder("toy2d")``
works once ``mpkeras.data.builders.toy2d`` is imported). Builders must live in
package modules: TFDS cannot prepare a builder defined in a script.
"""
