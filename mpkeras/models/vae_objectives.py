"""The VAE's objectives: one KL weight, three ways to set it (claims A4, A6).

The notes (section 5.4) derive the evidence lower bound

    log p(x) >= E_{z ~ q(z | x)}[log p(x | z)] - D_KL(q(z | x) || p(z)) = ELBO(x)

and weight its KL term in the beta-VAE. With rec = -E_q[log p(x | z)] (the
reconstruction term) and kl = D_KL(q(z | x) || N(0, I)), both in nats per
example and averaged over the batch, every objective here minimises a loss
of the form rec + w * kl. Each says three things, as pure functions of
scalar tensors:

- `loss(rec, kl, beta, step)`: the value logged as `loss`;
- `kl_weight(kl, beta, step)`: w, the weight of the KL term's gradient;
- `next_beta(kl, beta)`: beta after a training step (None: unchanged).

`VAE` owns the terms, beta (a non-trainable weight, saved and checkpointed)
and the step counter, and calls the objective `make_objective` picks from
its arguments. Nothing here creates a variable.
"""

from keras import ops


class BetaObjective:
    """The VAE (beta = 1) and the beta-VAE (Higgins et al. 2017), claim A6.

    The notes' beta-VAE maximises E_q[log p(x | z)] - beta D_KL(q || p):

        loss = rec + beta * kl

    beta = 1 gives the negative ELBO; beta > 1 presses q(z | x) towards the
    factorised prior, trading reconstruction for disentanglement.
    """

    def loss(self, rec, kl, beta, step):
        return rec + beta * kl

    def kl_weight(self, kl, beta, step):
        return beta

    def next_beta(self, kl, beta):
        return None


class ConstrainedObjective:
    """max E_q[log p(x | z)] subject to D_KL(q || p) <= delta, claim A6.

    The notes rewrite the constraint as the Lagrangian

        L(phi, psi, beta) = E_q[log p_psi(x | z)] - beta (D_KL(q_phi || p(z)) - delta),

    beta >= 0. The networks take a gradient step on -L,

        loss = rec + beta * (kl - delta),

    and beta a step of projected dual ascent after every batch,

        beta <- max(0, beta + beta_learning_rate * (kl - delta)),

    so beta grows while kl > delta and shrinks while kl < delta, and kl
    settles at delta.

    Args:
        kl_threshold: delta >= 0, in nats.
        beta_learning_rate: the dual step size > 0.
    """

    def __init__(self, kl_threshold, beta_learning_rate):
        self.kl_threshold = kl_threshold
        self.beta_learning_rate = beta_learning_rate

    def loss(self, rec, kl, beta, step):
        return rec + beta * (kl - self.kl_threshold)

    def kl_weight(self, kl, beta, step):
        return beta

    def next_beta(self, kl, beta):
        return ops.maximum(0.0, beta + self.beta_learning_rate * (kl - self.kl_threshold))


class CapacityObjective:
    """A KL target that rises during training (Burgess et al. 2018).

    Not in the notes; the controlled-capacity variant of the beta-VAE:

        loss = rec + beta * |kl - C(t)|,   C(t) = C_max * min(1, t / T)

    with t the training step, so the KL is pulled to a target capacity C
    that rises linearly from 0 to C_max over T steps. The KL gradient's
    weight is beta * sign(kl - C(t)).

    Args:
        capacity: C_max >= 0, in nats.
        capacity_steps: T, a positive number of steps.
    """

    def __init__(self, capacity, capacity_steps):
        self.capacity = capacity
        self.capacity_steps = capacity_steps

    def target(self, step):
        """C(t) for the training step t (a tensor)."""
        fraction = ops.minimum(1.0, ops.cast(step, "float32") / float(self.capacity_steps))
        return self.capacity * fraction

    def loss(self, rec, kl, beta, step):
        return rec + beta * ops.abs(kl - self.target(step))

    def kl_weight(self, kl, beta, step):
        return beta * ops.sign(kl - self.target(step))

    def next_beta(self, kl, beta):
        return None


def make_objective(kl_threshold=None, beta_learning_rate=0.01, capacity=None, capacity_steps=10000):
    """The objective a `VAE`'s arguments name: constrained, capacity or beta."""
    if kl_threshold is not None and capacity is not None:
        raise ValueError(
            "Pass either `kl_threshold` (dual ascent on beta) or `capacity` "
            f"(a KL target schedule), not both. Received: kl_threshold="
            f"{kl_threshold}, capacity={capacity}"
        )
    if kl_threshold is not None:
        return ConstrainedObjective(kl_threshold, beta_learning_rate)
    if capacity is not None:
        return CapacityObjective(capacity, capacity_steps)
    return BetaObjective()
