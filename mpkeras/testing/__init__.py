"""The contract every public mpkeras layer, model, loss and metric goes through.

As Keras has `testing.TestCase.run_layer_test` and keras-hub its `run_*_test`
helpers, one call runs a class through everything a Keras user will do with it
and raises one `AssertionError` naming each aspect that failed:

    reference       the eager outputs equal a NumPy definition of the layer
                    (`reference=`), at every size tried; "n/a" without one
    symbolic        a functional model on `keras.Input` (batch None) gives the
                    eager call's outputs; symbolic shapes and dtypes match them
    tf_function     a `tf.function` with a batch-None signature, on the batch
                    and on a smaller one, gives the eager outputs
    jit_compile     the same under `tf.function(jit_compile=True)` (XLA)
    unknown_sizes   a functional model whose spatial sizes are None, and a
                    `tf.function` whose signature leaves them None (dynamic
                    at run time), on every size tried, give the eager outputs
    odd_sizes       odd, non-square spatial sizes: eager and functional agree
    output_shape    `compute_output_shape` equals the real output shape at every
                    size tried (and None where the sizes are None)
    config          `from_config(get_config())` repeats the config and, with
                    the same weights, the outputs
    saving          a `.keras` round trip gives the outputs in this process and
                    in a FRESH process that imports only the class's subpackage
                    (`import mpkeras.layers`) and calls plain
                    `keras.saving.load_model`
    fit             one `fit` step: finite loss, every trainable weight moves
                    and the gradient reaches the inputs
    mixed_bfloat16  under the "mixed_bfloat16" policy: float32 variables,
                    bfloat16 outputs (layers), finite and close to float32

The spatial aspects apply to inputs of rank >= 3 (axes 1 .. rank - 2: the
height and width of images, the time axis of sequences); without such axes
they are "n/a". An aspect a class cannot support is skipped only with a
reason: `skip={"jit_compile": "no XLA kernel for MaxPoolWithArgmax"}`.

Comparisons: the eager call is the reference; the other modes run the same
float32 computation, so they must agree to `rtol=1e-5, atol=1e-5` (only
fusion and summation order differ); integer outputs must be equal. Before
every call the layer's variables (seed-generator states included) are reset
to one snapshot, so stochastic layers draw the same noise in every mode.
bfloat16 outputs are compared with float32 to `rtol = atol = 2**-5` relative
to the largest float32 output (bfloat16 keeps 8 significant bits).

Fresh-process loads are slow (a Python start and a TensorFlow import each),
so a test suite collects them: pass one `FreshProcessReloads` to every call
and call its `check()` once at the end; it loads every file in ONE fresh
process, one subpackage after another. Without one, each call starts its own
process (about 5 s).

Where each part lives (the public names are re-exported here):

    inputs              CallArgs (one call's arguments), Raises (must be refused)
    comparison          tolerances, assert_outputs_close, error text
    contract            the aspects, skips with reasons, the report
    callable_contract   the aspects of anything called: layers and models
    layers, models      run_layer_test, run_model_test
    objectives          run_loss_test, run_metric_test
    reloads             FreshProcessReloads; reload_check.py runs in the fresh process

Example:

    import keras
    import numpy as np
    from mpkeras import testing
    from mpkeras.layers import BedOfNails2D, ElmanCell
    from mpkeras.losses import BernoulliNLL

    # One layer, on its own: every aspect, its own fresh process.
    report = testing.run_layer_test(BedOfNails2D, {"size": 2}, input_shape=(2, 16, 16, 3))
    report["odd_sizes"]                     # 'ok' (17x19 inputs were tried)

    # A test suite: one fresh process for all the files, at the end.
    reloads = testing.FreshProcessReloads()
    testing.run_layer_test(ElmanCell, {"units": 4}, input_shape=(2, 16, 3),
                           wrap=keras.layers.RNN, reloads=reloads)
    y_true = np.array([[0.0, 1.0], [1.0, 1.0]], "float32")
    testing.run_loss_test(BernoulliNLL, {}, y_true, np.full((2, 2), 0.7, "float32"),
                          reloads=reloads)
    reloads.check()                         # AssertionError naming each failure
"""

from mpkeras.testing.comparison import BF16_TOLERANCE, assert_outputs_close
from mpkeras.testing.contract import ASPECTS, LOSS_ASPECTS, METRIC_ASPECTS
from mpkeras.testing.inputs import CallArgs, Raises
from mpkeras.testing.layers import run_layer_test
from mpkeras.testing.models import run_model_test
from mpkeras.testing.objectives import run_loss_test, run_metric_test
from mpkeras.testing.reloads import FreshProcessReloads

__all__ = [
    "ASPECTS",
    "BF16_TOLERANCE",
    "CallArgs",
    "FreshProcessReloads",
    "LOSS_ASPECTS",
    "METRIC_ASPECTS",
    "Raises",
    "assert_outputs_close",
    "run_layer_test",
    "run_loss_test",
    "run_metric_test",
    "run_model_test",
]
