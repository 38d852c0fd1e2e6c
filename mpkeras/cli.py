"""The ``mpkeras`` command line: parses arguments and delegates to mpkeras.runner.

TensorFlow is imported only by the commands that train or load data, and
only once their arguments are checked, so ``mpkeras --help``, ``mpkeras list``
and every mistake in the arguments answer at once. Bad input -- an unknown
name, a value of the wrong type or out of range, a missing or foreign run
directory, a model that does not fit the dataset -- is one line on stderr
(``Error: ...``) and exit code 2, with nothing written.

One module because it is one concept, the parser: each of the eight commands
is a function of options and help text that delegates in a few lines; the
work is in mpkeras.runner, mpkeras.reporting and mpkeras.data.
"""

import functools
import os
import sys

import click

from mpkeras import _workarounds, readme_sections, reporting, runner, specs
from mpkeras.data.errors import DatasetUnavailableError
from mpkeras.saving import ModelFileError

# The library's validation errors: the user's to fix, exit code 2. Any other
# exception is a bug (exit 1 with its traceback).
BAD_INPUT = (
    specs.SpecError,
    reporting.ReportError,
    runner.RunError,
    ModelFileError,
    DatasetUnavailableError,
)


class InputError(click.ClickException):
    """Bad input from the user: one line on stderr, exit code 2."""

    exit_code = 2


def _one_line(error):
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())


def handle_errors(command):
    """Turn the library's exceptions into one-line messages and exit codes.

    The runner's validation errors (bad spec, override, seed, run directory,
    dataset name, model file) and data that cannot be had offline are the
    user's to fix: exit 2. A failed run (diverged, premise violated, or an
    error inside the experiment, whose traceback is in the run directory's
    error.log): exit 1. Set MPKERAS_TRACEBACK=1 to see the full traceback
    instead.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise
        except BAD_INPUT as error:
            if os.environ.get("MPKERAS_TRACEBACK"):
                raise
            raise InputError(_one_line(error)) from None
        except runner.RunFailed as error:
            if os.environ.get("MPKERAS_TRACEBACK"):
                raise
            raise click.ClickException(_one_line(error)) from None

    return wrapper


class OneLineGroup(click.Group):
    """A group whose usage errors are one line too: ``Error: ... (see 'mpkeras run -h')``.

    Click prints a usage error as the usage, a hint and the message on four
    lines; here, as every other bad input, it is the message on one line.
    """

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            raise _one_line_usage(error) from None

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            raise _one_line_usage(error) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _one_line_usage(error) from None


def _one_line_usage(error):
    where = error.ctx.command_path if error.ctx is not None else "mpkeras"
    return InputError(f"{_one_line(error.format_message())} (see '{where} -h')")


def check_dataset_name(name):
    """Raise :class:`InputError` unless ``name`` is a dataset mpkeras knows (no TensorFlow)."""
    from mpkeras.data import registry

    try:
        registry.resolve(name)
    except ValueError as error:
        raise InputError(_one_line(error)) from None


_TENSORFLOW_COMMANDS = ("run", "reproduce", "sweep", "evaluate", "prepare", "datasets")


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mpkeras")
@click.pass_context
def main(ctx):
    """mpkeras: the Machine Perception notes as Keras components and experiments.

    Every claim of the notes is an experiment (its spec ships with mpkeras)
    that trains, measures and checks itself. Start with `mpkeras list`, then
    `mpkeras run xor`, and watch it with `tensorboard --logdir runs`.
    """
    # TensorFlow's C++ noise (mpkeras._workarounds) stays out of the terminal
    # for as long as a command that may load TensorFlow runs.
    if ctx.invoked_subcommand in _TENSORFLOW_COMMANDS:
        ctx.with_resource(_workarounds.quiet_tensorflow_log())


@main.command("list")
def list_experiments():
    """List the experiment specs: name, chapter, claim ids, default dataset."""
    rows = [("name", "chapter", "claims", "dataset", "title")]
    for name in specs.available():
        try:
            spec = specs.load(name)
        except specs.SpecError as error:
            rows.append((name, "?", "?", "?", f"invalid spec: {_one_line(error)}"))
            continue
        rows.append(
            (spec.name, str(spec.chapter), ",".join(spec.claims), spec.default_dataset, spec.title)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])


_JOBS_HELP = (
    "Run this many experiments (points) at once, each in a worker process: the "
    "same results, sooner on several cores. A quick experiment keeps about one "
    "core busy, so --jobs 2 uses both of a 2-core machine."
)
# reproduce and sweep: the same option, for the same loop (runner.grid.run_points).
_jobs_option = click.option(
    "--jobs", type=click.IntRange(min=1), default=1, show_default=True, help=_JOBS_HELP
)
_SEEDS_HELP = (
    "Run on several seeds: a count N (seeds 0 to N-1) or a list such as 0,3,7 "
    "(default: the spec's seed)."
)

_STRATEGY_HELP = (
    "tf.distribute strategy: default (one device), mirrored (this machine's "
    "devices), multiworker (the cluster in TF_CONFIG). Default: default."
)


@main.command()
@click.argument("experiment")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set train.epochs=5 (repeatable).",
)
@click.option("--seed", type=int, default=None, help="Seed for everything (default: the spec's).")
@click.option(
    "--quick", is_flag=True, help="The spec's small budget: under a minute on 2 CPU cores."
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory (default: runs/NAME/<timestamp>).",
)
@click.option(
    "--resume", is_flag=True, help="Continue the run in --run-dir from its last checkpoint."
)
@click.option("--overwrite", is_flag=True, help="Delete an existing --run-dir and start again.")
@click.option(
    "--models-dir",
    type=click.Path(file_okay=False),
    default=str(runner.DEFAULT_MODELS_DIR),
    show_default=True,
    help="Where the trained model is saved.",
)
@click.option("--strategy", default=None, metavar="|".join(runner.STRATEGIES), help=_STRATEGY_HELP)
@click.option(
    "--mixed-precision",
    default=None,
    metavar="|".join(runner.PRECISION_POLICIES),
    help="Keras mixed-precision policy for the run (default: float32).",
)
@click.option(
    "--jit-compile/--no-jit-compile",
    default=None,
    help="Force XLA compilation on (or off) for every model trained (default: each model's own).",
)
@handle_errors
def run(
    experiment,
    overrides,
    seed,
    quick,
    run_dir,
    resume,
    overwrite,
    models_dir,
    strategy,
    mixed_precision,
    jit_compile,
):
    """Run EXPERIMENT (a name from `mpkeras list` or a path to a TOML spec)."""
    outcome = runner.run(
        experiment,
        overrides=overrides,
        seed=seed,
        quick=quick,
        run_dir=run_dir,
        resume=resume,
        overwrite=overwrite,
        models_dir=models_dir,
        report=click.echo,
        strategy=strategy,
        mixed_precision=mixed_precision,
        jit_compile=jit_compile,
    )
    results = outcome.results
    table = reporting.expectation_table(results["expectations"], title=results["title"])
    click.echo(f"\n{table}")
    click.echo(
        f"\nResults: {outcome.run_dir / 'results.json'}  "
        f"({results['wall_time_s']:.1f} s, "
        f"peak memory {results['peak_memory_mb']:.0f} MiB)"
    )
    if not outcome.all_hold:
        raise click.ClickException("Some expectations do not hold (see the table above)")


@main.command()
@click.argument("model_path", metavar="MODEL.keras")
@click.option("--dataset", required=True, help="Dataset name, e.g. toy2d/xor or digits.")
@click.option(
    "--split",
    default="test",
    show_default=True,
    help="Split (TFDS slicing allowed, e.g. train[:10%]).",
)
@click.option("--task", default=None, help="Dataset task (default: the dataset's natural one).")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True)
@handle_errors
def evaluate(model_path, dataset, split, task, batch_size):
    """Evaluate a saved model on a dataset split."""
    metrics = runner.evaluate(model_path, dataset, split=split, task=task, batch_size=batch_size)
    for name, value in metrics.items():
        click.echo(f"{name}: {value:.6g}")


@main.command()
@click.option("--quick", is_flag=True, help="Every spec at its quick budget.")
@click.option("--only", multiple=True, metavar="NAME", help="Run only these specs (repeatable).")
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False),
    default=str(runner.DEFAULT_RUNS_DIR),
    show_default=True,
)
@click.option(
    "--models-dir",
    type=click.Path(file_okay=False),
    default=str(runner.DEFAULT_MODELS_DIR),
    show_default=True,
)
@click.option("--seeds", default=None, metavar="N|S1,S2,...", help=_SEEDS_HELP)
@_jobs_option
@click.option(
    "--verbose",
    is_flag=True,
    help="Show Keras's per-epoch output instead of one line per experiment.",
)
@click.option(
    "--strategy",
    default=None,
    metavar="|".join(runner.STRATEGIES),
    help="tf.distribute strategy for every run (see `mpkeras run --help`).",
)
@click.option(
    "--mixed-precision",
    default=None,
    metavar="|".join(runner.PRECISION_POLICIES),
    help="Keras mixed-precision policy for every run.",
)
@click.option(
    "--jit-compile/--no-jit-compile", default=None, help="Force XLA on (or off) for every run."
)
@handle_errors
def reproduce(
    quick, only, runs_dir, models_dir, seeds, jobs, verbose, strategy, mixed_precision, jit_compile
):
    """Run every experiment spec and report which claims of the notes hold.

    With --seeds every experiment runs once per seed; a claim holds only when
    it holds on every seed, and the tables show the mean, min-max over the
    seeds, the worst margin and holds k/N."""
    report_dir, rows = runner.reproduce(
        names=only,
        quick=quick,
        runs_dir=runs_dir,
        models_dir=models_dir,
        verbose=verbose,
        report=click.echo,
        strategy=strategy,
        mixed_precision=mixed_precision,
        jit_compile=jit_compile,
        seeds=runner.parse_seeds(seeds) if seeds else None,
        jobs=jobs,
    )
    click.echo("\n" + reporting.expectations_markdown(rows, quick))
    click.echo(f"Report (one row per claim of the notes, with figures): {report_dir / 'REPORT.md'}")
    if reporting.failed(rows):
        raise click.ClickException("Some claims do not hold (see the table above)")


@main.command()
@click.argument("experiment")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=V1,V2,...",
    help="A setting and the values to sweep, e.g. --set beta=1,2,4 (repeatable: "
    "the grid is every combination). A list value is bracketed: "
    "--set hidden=[4],[8].",
)
@click.option("--seeds", default=None, metavar="N|S1,S2,...", help=_SEEDS_HELP)
@click.option("--quick", is_flag=True, help="Every point at the spec's quick budget.")
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False),
    default=str(runner.DEFAULT_RUNS_DIR),
    show_default=True,
    help="The sweep goes to RUNS_DIR/EXPERIMENT/sweep-<timestamp>/.",
)
@click.option(
    "--resume",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    metavar="SWEEP_DIR",
    help="Continue this sweep (same arguments): points already finished are skipped.",
)
@_jobs_option
@click.option(
    "--verbose", is_flag=True, help="Show Keras's per-epoch output instead of one line per point."
)
@click.option(
    "--strategy",
    default=None,
    metavar="|".join(runner.STRATEGIES),
    help="tf.distribute strategy for every point (see `mpkeras run --help`).",
)
@click.option(
    "--mixed-precision",
    default=None,
    metavar="|".join(runner.PRECISION_POLICIES),
    help="Keras mixed-precision policy for every point.",
)
@click.option(
    "--jit-compile/--no-jit-compile", default=None, help="Force XLA on (or off) for every point."
)
@handle_errors
def sweep(
    experiment,
    sets,
    seeds,
    quick,
    runs_dir,
    resume,
    jobs,
    verbose,
    strategy,
    mixed_precision,
    jit_compile,
):
    """Run EXPERIMENT at every point of a grid of settings (and seeds), then summarise:
    each metric against each swept setting."""
    outcome = runner.sweep(
        experiment,
        sets=sets,
        seeds=runner.parse_seeds(seeds) if seeds else None,
        quick=quick,
        runs_dir=runs_dir,
        resume=resume,
        verbose=verbose,
        report=click.echo,
        strategy=strategy,
        mixed_precision=mixed_precision,
        jit_compile=jit_compile,
        jobs=jobs,
    )
    click.echo("\n" + outcome.markdown)
    click.echo(f"Summary: {outcome.root / 'summary.md'} (and summary.json)")
    if outcome.failed:
        raise click.ClickException(
            f"{len(outcome.failed)} point(s) did not complete: {', '.join(outcome.failed)}"
        )


@main.command()
@click.argument("reproduce_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--readme",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Also rewrite this README's claims section (and copy the key figures "
    "to docs/figures beside it).",
)
@handle_errors
def report(reproduce_dir, readme):
    """Write REPORT.md of a reproduce run again; with --readme, put its claims table in
    the README."""
    if readme:  # before anything is written
        readme_sections.check_readme(readme)
    click.echo(f"Report: {reporting.rewrite(reproduce_dir)}")
    if readme:
        figures = readme_sections.update_readme(reproduce_dir, readme)
        click.echo(f"Updated {readme}: the claims table and {len(figures)} figures")


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="TFDS data dir (default: TFDS's).",
)
@handle_errors
def datasets(data_dir):
    """List datasets: offline (built in) or remote, prepared or not, size on disk."""
    from mpkeras import data

    click.echo(f"{'name':<20} {'source':<8} {'prepared':<9} size")
    for row in data.describe(data_dir=data_dir):
        size = row.get("size_bytes")
        shown = f"{size / 2**20:.1f} MiB" if size else "-"
        prepared = "yes" if row["prepared"] else "no"
        click.echo(f"{row['name']:<20} {row['source']:<8} {prepared:<9} {shown}")


@main.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Delete and prepare again (e.g. after corruption).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="TFDS data dir (default: TFDS's).",
)
@handle_errors
def prepare(name, force, data_dir):
    """Prepare dataset NAME into the TFDS data dir (nothing to do if it is prepared)."""
    from mpkeras import data

    check_dataset_name(name)
    already = not force and data.is_prepared(name, data_dir=data_dir)
    path = data.prepare(name, force=force, data_dir=data_dir)
    if already:
        click.echo(f"{name} is already prepared in {path} (--force prepares it again)")
    else:
        click.echo(f"Prepared {name}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
