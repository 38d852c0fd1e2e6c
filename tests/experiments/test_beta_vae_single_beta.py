"""beta_vae_sprites with one beta (a point of a sweep over beta) names its metrics plainly."""

from mpkeras_experiments import registry
from mpkeras_experiments.vae.beta_vae_sprites import single_beta_names

PER_BETA = {"mig_beta4": 0.1, "betavae_score_beta4": 0.7, "kl_beta4": 12.0}


def test_one_beta_gives_plain_names():
    assert single_beta_names(PER_BETA, [4.0]) == {"mig": 0.1, "betavae_score": 0.7, "kl": 12.0}
    assert single_beta_names({"mig_beta0_5": 0.2}, [0.5]) == {"mig": 0.2}


def test_two_betas_keep_the_suffixes_the_spec_compares():
    both = {**PER_BETA, "mig_beta1": 0.05}
    assert single_beta_names(both, [1.0, 4.0]) == both


def test_the_plain_names_are_declared():
    experiment = registry.get("beta_vae_sprites")
    names = ["mig", "betavae_score", "kl", "reconstruction", "mig_beta4", "kl_beta0_5"]
    assert experiment.undeclared(dict.fromkeys(names, 0.0)) == []
