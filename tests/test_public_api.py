"""Every public name mpkeras exported before the issue-18 refactors still imports.

`PUBLIC` is a snapshot of the `_EXPORTS` / `__all__` lists of every
subpackage on main (plus the modules ../shared/DESIGN.md names: the losses,
`mpkeras.models.rnn`, `mpkeras.saving`). Names may be added; removing or
moving one breaks users' imports, so it fails here. Names added later must
import too: every `__all__` entry has to resolve.
"""

import importlib

import pytest

import mpkeras

PUBLIC = {
    # ("experiments" moved out to the top-level mpkeras_experiments package.)
    "mpkeras": [
        "callbacks",
        "data",
        "losses",
        "models",
        "plotting",
        "runner",
        "saving",
        "specs",
    ],
    "mpkeras.layers": [
        "BedOfNails2D",
        "Elman",
        "ElmanCell",
        "ExplicitConv2D",
        "MaxPoolingWithArgmax1D",
        "MaxPoolingWithArgmax2D",
        "MaxPoolingWithArgmax3D",
        "MaxUnpooling1D",
        "MaxUnpooling2D",
        "MaxUnpooling3D",
        "Sampling",
    ],
    "mpkeras.models": [
        "Autoencoder",
        "Perceptron",
        "VAE",
        "build_autoencoder",
        "build_cnn",
        "build_decoder",
        "build_encoder",
        "build_mlp",
        "build_parallel_mlps",
        "build_unet",
        "build_vae",
        "build_vae_decoder",
        "build_vae_encoder",
        "compose_affine",
    ],
    "mpkeras.models.rnn": [
        "SummedOverSteps",
        "build_many_to_many",
        "build_many_to_one",
        "build_one_to_many",
        "build_one_to_one",
        "build_sequence_model",
        "recurrent_layer",
    ],
    "mpkeras.losses": [
        "BernoulliNLL",
        "GaussianNLL",
        "LaplaceNLL",
        "SummedOverSteps",
        "bernoulli_nll",
        "gaussian_kl",
        "gaussian_nll",
        "laplace_nll",
    ],
    "mpkeras.metrics": [
        "PSNR",
        "SSIM",
        "beta_vae_score",
        "evaluate_iou",
        "mutual_information_gap",
        "per_class_iou",
    ],
    "mpkeras.callbacks": [
        "FigureLogger",
        "LatentImageLogger",
        "ResumableHistory",
        "ShuffleEpoch",
        "StopOnNaN",
        "TrainingDiverged",
        "figure_to_image",
    ],
    "mpkeras.diagnostics": [
        "augment_with_one",
        "augmented_margin",
        "hidden_state_gradient_norms",
        "linear_decoder_basis",
        "log_norm_slope",
        "max_margin_separator",
        "set_spectral_radius",
        "subspace_angles",
    ],
    "mpkeras.ops": [
        "clip_gradient_norm",
        "conv2d_input_gradient",
        "conv2d_kernel_gradient",
        "conv_matrix",
        "convolve2d",
        "correlate2d",
        "max_pool2d_backward",
    ],
    "mpkeras.data": [
        "DatasetUnavailableError",
        "TASKS",
        "advance_epoch",
        "describe",
        "info",
        "load",
        "load_arrays",
        "names",
        "prepare",
        "set_epoch",
        # shuffle_per_epoch: removed as dead code (issue 20: exported, used nowhere).
    ],
    "mpkeras.saving": ["ModelFileError", "load_model", "register_all", "save_model_atomic"],
    "mpkeras.testing": [
        "ASPECTS",
        "CallArgs",
        "FreshProcessReloads",
        "run_layer_test",
        "run_loss_test",
        "run_metric_test",
        "run_model_test",
    ],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_every_public_name_imports(module_name):
    module = importlib.import_module(module_name)
    missing = []
    for name in PUBLIC[module_name]:
        namespace = {}
        try:  # the statement a user writes
            exec(f"from {module_name} import {name}", namespace)
        except ImportError as error:
            missing.append(f"{name} ({error})")
            continue
        assert namespace[name] is getattr(module, name)
    assert not missing, f"`from {module_name} import ...` fails for {missing}"


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_all_lists_only_names_that_import(module_name):
    module = importlib.import_module(module_name)
    listed = getattr(module, "__all__", None)
    if listed is None:
        return  # a plain module: its public names are checked above
    lost = sorted(set(PUBLIC[module_name]) - set(listed))
    assert not lost, f"{module_name}.__all__ no longer lists {lost}"
    unresolved = [name for name in listed if not hasattr(module, name)]
    assert not unresolved, f"{module_name}.__all__ names that do not import: {unresolved}"
    hidden = sorted(set(listed) - set(dir(module)))
    assert not hidden, f"dir({module_name}) lacks {hidden}"
    namespace = {}
    exec(f"from {module_name} import *", namespace)
    assert set(listed) <= set(namespace)


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_every_name_dir_lists_resolves(module_name):
    """`dir()` (tab completion) offers only names that exist."""
    module = importlib.import_module(module_name)
    broken = []
    for name in dir(module):
        try:
            getattr(module, name)
        except (AttributeError, ImportError) as error:
            broken.append(f"{name} ({type(error).__name__}: {error})")
    assert not broken, f"dir({module_name}) lists names that do not resolve: {broken}"


def test_top_level_submodules_are_attributes():
    for name in PUBLIC["mpkeras"]:
        assert getattr(mpkeras, name).__name__ == f"mpkeras.{name}"
