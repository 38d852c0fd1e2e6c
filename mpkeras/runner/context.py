"""RunContext: what an experiment function may use of the run it is part of."""

import dataclasses
from pathlib import Path


@dataclasses.dataclass
class RunContext:
    """What an experiment function may use of the run it is part of.

    Attributes:
        run_dir: the run directory.
        seed: the run's seed; every other seed derives from it.
        quick: whether the spec's --quick budget is in force.
        verbose: passed to ``fit``/``evaluate`` (Keras's "auto", 0, 1, 2).
        strategy: the ``tf.distribute.Strategy`` the experiment runs under
            (its scope is entered already: models, optimizers and data built
            by the experiment belong to it; Keras distributes the datasets
            given to ``fit``); None outside a run.
        jit_compile: forced on every model ``fit`` trains, or None to leave
            each model's own setting.
    """

    run_dir: Path
    seed: int
    quick: bool
    verbose: object = "auto"
    strategy: object = None
    jit_compile: object = None

    def log_dir(self, tag):
        return self.run_dir / "logs" / tag

    def fit(
        self, model, x, *, tag, epochs, figure=None, figure_every=10, callbacks=(), **fit_kwargs
    ):
        """``model.fit(x, epochs=epochs, ...)`` under the run's callbacks.

        The one way an experiment trains: every fit gets TensorBoard under
        ``logs/<tag>``, BackupAndRestore under ``checkpoints/<tag>`` (so a
        killed run resumes, and a resumed run skips fits that had finished),
        the NaN stop, per-epoch data seeding and, if ``figure`` is given,
        ``figure(model)`` as a TensorBoard image every ``figure_every``
        epochs. ``callbacks`` are added after the run's own; other keyword
        arguments go to ``model.fit``.

        Returns:
            The ``History``, whose ``history`` covers every epoch of this fit,
            also those before a restart (see ``ResumableHistory``).
        """
        from mpkeras import _workarounds
        from mpkeras.callbacks import ResumableHistory

        if self.jit_compile is not None and model.jit_compile != self.jit_compile:
            model.jit_compile = self.jit_compile
            # Functions traced before (an earlier fit or evaluate) keep their
            # old setting: drop them so they are traced again.
            model.train_function = model.test_function = model.predict_function = None
        if _workarounds.is_multi_worker(self.strategy):
            _workarounds.patch_for_multi_worker(model, self.strategy)
        full = ResumableHistory(self.run_dir / "checkpoints" / tag / "history.json")
        own = self.callbacks(tag, figure=figure, figure_every=figure_every)
        history = model.fit(
            x,
            epochs=epochs,
            callbacks=[*own, full, *callbacks],
            verbose=self.verbose,
            **fit_kwargs,
        )
        history.history = full.history
        return history

    def callbacks(self, tag, figure=None, figure_every=10):
        """The standard callbacks for one ``fit`` named ``tag``.

        TensorBoard scalars (and ``figure(model)`` as an image every
        ``figure_every`` epochs), BackupAndRestore under ``checkpoints/tag``,
        a hard stop on NaN, and per-epoch shuffle seeding.
        """
        import keras

        from mpkeras import callbacks, progress

        result = [
            callbacks.ShuffleEpoch(),
            callbacks.StopOnNaN(),
            keras.callbacks.TensorBoard(log_dir=str(self.log_dir(tag)), write_graph=False),
            # Kept after fit ends (delete_checkpoint=False): a resumed run skips
            # the fits that had already finished instead of redoing them.
            keras.callbacks.BackupAndRestore(
                str(self.run_dir / "checkpoints" / tag),
                delete_checkpoint=False,
                double_checkpoint=True,
            ),
        ]
        if figure is not None:
            result.append(
                callbacks.FigureLogger(self.log_dir(tag), figure, name=tag, every=figure_every)
            )
        result += progress.fit_callbacks(tag)  # the experiment's progress line, if one is drawn
        return result

    def save_figure(self, name, figure):
        """Write ``figures/name.png`` and the same figure to TensorBoard."""
        import tensorflow as tf

        from mpkeras.callbacks import figure_to_image

        path = self.run_dir / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100, bbox_inches="tight")
        writer = tf.summary.create_file_writer(str(self.run_dir / "logs" / "figures"))
        with writer.as_default():
            tf.summary.image(name, figure_to_image(figure), step=0)
        writer.close()
        return path

    def log_embedding(self, name, codes, metadata=None, images=None):
        """Write ``codes`` (N, D) for TensorBoard's Projector under ``logs/<name>/projector``,
        with ``metadata`` (N labels, or a dict of columns) and ``images`` (N, the sprite)."""
        from mpkeras.callbacks.projector import write_embedding

        return write_embedding(self.log_dir(name) / "projector", codes, metadata, images)
