"""TensorBoard as a person sees it: finished runs compared in headless Chromium.

Three tiny ``vae_digits`` runs that differ in ``latent_dim`` are laid out as
a sweep lays out its points (one run directory each under one root, the
HParams experiment config at the root). TensorBoard is started on the root
with the command a run prints (``tensorboard --logdir ...``, through this
interpreter, on 127.0.0.1 and a free port) and stopped through its
``Popen``; Debian's chromium, driven by selenium and chromium-driver, opens
the Scalars, Images, HParams and Projector pages, and each test checks what
the page shows by its text (through shadow roots and the Projector's
iframe), saving a screenshot under the test's tmp dir.

Skipped, with the reason, where selenium, chromium or chromium-driver is not
installed (``.ci/run`` installs them).
"""

import contextlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mpkeras import data, runner
from mpkeras.callbacks.hparams import log_sweep_hparams

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="needs selenium (pip install selenium)"
)

LATENT_DIMS = (3, 4, 8)  # The Projector shows the first run's codes: 3 dimensions.
READY_DEADLINE_S = 180
PAGE_DEADLINE_S = 90

# Text of the page, through open shadow roots and same-origin iframes (the
# Projector is one), without style and script text.
PAGE_TEXT = """
function collect(node) {
  let text = '';
  if (node.shadowRoot) text += collect(node.shadowRoot);
  for (const child of node.childNodes) {
    if (child.nodeType === 3) { text += child.textContent + ' '; continue; }
    if (child.nodeType !== 1) continue;
    if (['STYLE', 'SCRIPT', 'NOSCRIPT', 'TEMPLATE'].includes(child.tagName)) continue;
    if (child.tagName === 'IFRAME') {
      try { text += collect(child.contentDocument.body); } catch (error) {}
    }
    text += collect(child);
  }
  return text;
}
return collect(document.body).replace(/\\s+/g, ' ');
"""

# Elements named ``tag`` anywhere in the page, as above; ``loaded`` keeps
# images that have finished loading with a non-empty picture.
ELEMENTS = """
const [tag, loaded] = arguments;
function collect(node, found) {
  if (node.shadowRoot) collect(node.shadowRoot, found);
  for (const child of node.children || []) {
    if (child.tagName === tag) found.push(child);
    if (child.tagName === 'IFRAME') {
      try { collect(child.contentDocument.body, found); } catch (error) {}
    }
    collect(child, found);
  }
  return found;
}
const found = collect(document.body, []);
return loaded ? found.filter(e => e.complete && e.naturalWidth > 0).map(e => e.src) : found.length;
"""

# Click the element whose own text is ``label`` (a tab), searching as above.
CLICK = """
const label = arguments[0];
function find(node) {
  if (node.shadowRoot) { const hit = find(node.shadowRoot); if (hit) return hit; }
  for (const child of node.children || []) {
    const own = [...child.childNodes].filter(n => n.nodeType === 3)
      .map(n => n.textContent).join('');
    if (own.trim().toLowerCase() === label.toLowerCase()) return child;
    const hit = find(child);
    if (hit) return hit;
  }
  return null;
}
const hit = find(document.body);
if (hit) hit.click();
return hit !== null;
"""

# In the HParams pane, check the settings named in arguments[0] and uncheck
# the others: the table then shows those settings and the metrics. Returns
# the names left checked.
SHOW_SETTINGS = """
const keep = arguments[0];
function collect(node, found) {
  if (node.shadowRoot) collect(node.shadowRoot, found);
  for (const child of node.children || []) {
    if (child.tagName === 'PAPER-CHECKBOX' && child.classList.contains('hparam-checkbox')) {
      found.push(child);
    }
    collect(child, found);
  }
  return found;
}
const boxes = collect(document.body, []);
for (const box of boxes) {
  if (box.checked !== keep.includes(box.textContent.trim())) box.click();
}
return boxes.filter(box => box.checked).map(box => box.textContent.trim());
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Finished tiny runs, one per latent size, under one root with the HParams config."""
    root = tmp_path_factory.mktemp("tb_sweep")
    runs, watch = [], []
    for latent_dim in LATENT_DIMS:
        lines = []
        outcome = runner.run(
            "vae_digits",
            quick=True,
            overrides=[f"latent_dim={latent_dim}", "train.epochs=2", "num_samples=10"],
            run_dir=root / f"latent_dim-{latent_dim}",
            models_dir=root / "models",
            verbose=0,
            report=lines.append,
        )
        assert outcome.results["status"] == "completed"
        runs.append(outcome.run_dir)
        watch += [line for line in lines if line.startswith("Watch it:")]
    log_sweep_hparams(root, runs)
    return root, runs, watch


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


@contextlib.contextmanager
def serve(root, expected, stderr_path):
    """TensorBoard on ``root`` (127.0.0.1, a free port); yields its address once it serves
    every run in ``expected`` and the Projector is active. Stopped on exit."""
    argv = [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        str(root),
        "--host",
        "127.0.0.1",
        "--port",
        str(port := free_port()),
    ]
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, state = time.monotonic() + READY_DEADLINE_S, None
        while True:
            if process.poll() is not None:
                log = stderr_path.read_text()[-4000:]
                pytest.fail(f"tensorboard exited with {process.returncode}:\n{log}")
            try:
                served = set(json.loads(_get(f"{base}/data/runs")))
                # The projector decides in the background whether it is active.
                projector = json.loads(_get(f"{base}/data/plugins_listing"))["projector"]["enabled"]
                state = (sorted(expected - served), projector)
                if expected <= served and projector:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                state = error
            if time.monotonic() > deadline:
                pytest.fail(
                    f"tensorboard at {base} not ready within {READY_DEADLINE_S} s (missing runs, "
                    f"projector active: {state!r}):\n{stderr_path.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def tensorboard(sweep, tmp_path_factory):
    """TensorBoard on the root, started as a run says; ready when it serves every run."""
    root, runs, watch = sweep
    command = shlex.split(watch[0].removeprefix("Watch it:"))
    assert command[:2] == ["tensorboard", "--logdir"] and command[2] == str(runs[0] / "logs")
    # Comparing runs: the same command on the directory above them.
    expected = {
        f"{run.name}/logs/{part}"
        for run in runs
        for part in ("vae/train", "hparams", "vae/projector")
    }
    with serve(root, expected, tmp_path_factory.mktemp("tb_server") / "stderr.txt") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1600,1000",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
    ):
        options.add_argument(argument)
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(browser, base, page, needles, shots, deadline_s=PAGE_DEADLINE_S):
    """Load ``#page`` afresh and wait until its text holds every needle; returns the text."""
    browser.get("about:blank")  # A new load: the dashboards of earlier pages are not in the DOM.
    browser.get(f"{base}/#{page}")
    deadline = time.monotonic() + deadline_s
    while True:
        text = browser.execute_script(PAGE_TEXT)
        missing = [needle for needle in needles if needle not in text]
        if not missing:
            break
        if time.monotonic() > deadline:
            browser.save_screenshot(str(shots / f"{page}-failed.png"))
            pytest.fail(
                f"the {page} page did not show {missing} within {deadline_s} s; "
                f"screenshot {shots / f'{page}-failed.png'}; its text: {text[-3000:]}"
            )
        time.sleep(0.5)
    return text


@pytest.fixture
def shots(tmp_path):
    return tmp_path


def test_scalars_page_lists_every_run_and_its_curves(browser, tensorboard, sweep, shots):
    _, runs, _ = sweep
    needles = [f"{run.name}/logs/vae/{split}" for run in runs for split in ("train", "validation")]
    # Keras's per-epoch logs of the VAE, and the final metrics of the HParams runs.
    needles += [
        "epoch_loss",
        "epoch_kl",
        "epoch_reconstruction",
        "test_elbo",
        "test_log_likelihood",
    ]
    open_page(browser, tensorboard, "scalars", needles, shots)
    assert browser.execute_script(ELEMENTS, "svg", False) > 0  # The charts are drawn.
    browser.save_screenshot(str(shots / "scalars.png"))


def test_images_page_shows_each_runs_figures(browser, tensorboard, sweep, shots):
    _, runs, _ = sweep
    needles = ["samples", "reconstructions", "interpolation", "traversals"]
    needles += [f"{run.name}/logs/figures" for run in runs] + [
        f"{run.name}/logs/vae/images" for run in runs
    ]
    open_page(browser, tensorboard, "images", needles, shots)
    deadline = time.monotonic() + PAGE_DEADLINE_S
    while (
        len(loaded := browser.execute_script(ELEMENTS, "IMG", True)) < len(runs)
        and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    served = [src for src in loaded if "/data/plugin/images/individualImage" in src]
    assert len(served) >= len(runs), loaded  # At least one decoded picture per run.
    browser.save_screenshot(str(shots / "images.png"))


def test_hparams_page_compares_the_runs_settings_and_metrics(browser, tensorboard, sweep, shots):
    root, runs, _ = sweep
    trials = [f"{root.name}/{run.name}" for run in runs]  # log_run_hparams's trial ids
    needles = [
        "Trial ID",
        *trials,
        "latent_dim",
        "train.epochs",
        "test_elbo",
        "test_log_likelihood",
    ]
    needles += [f"{dim:.4f}" for dim in LATENT_DIMS]  # The table's format of the latent sizes.
    open_page(browser, tensorboard, "hparams", needles, shots)
    browser.save_screenshot(str(shots / "hparams_table.png"))
    assert browser.execute_script(CLICK, "Parallel Coordinates View"), "no Parallel Coordinates tab"
    deadline = time.monotonic() + PAGE_DEADLINE_S
    while "Linear Logarithmic Quantile" not in browser.execute_script(PAGE_TEXT):
        assert time.monotonic() < deadline, "the parallel-coordinates view did not render"
        time.sleep(0.5)
    browser.save_screenshot(str(shots / "hparams_parallel_coordinates.png"))


def test_projector_page_shows_the_codes_with_their_labels(browser, tensorboard, sweep, shots):
    _, runs, _ = sweep
    _, labels = data.load_arrays("digits", split="test", task="classification")
    points = len(labels)
    needles = [
        f"{len(runs)} runs found",
        *[f"{run.name}/logs/vae/projector" for run in runs],
        f"{points}x{LATENT_DIMS[0]}",
        f"Points: {points}",
        f"Dimension: {LATENT_DIMS[0]}",
        # The metadata column, and the Projector's count of its distinct values.
        "Label by label",
        f"label {len(set(labels.tolist()))} colors",
        "metadata.tsv",
    ]
    open_page(browser, tensorboard, "projector", needles, shots)
    assert browser.execute_script(ELEMENTS, "CANVAS", False) > 0  # The 3-D view.
    browser.save_screenshot(str(shots / "projector.png"))


# A sweep over beta of beta_vae_sprites, as `mpkeras sweep beta_vae_sprites
# --set betas=[1],[4] --quick` runs it, its budget cut to seconds a point.
# MPKERAS_BETA_SWEEP names a finished sweep directory to check instead (the
# README's screenshot: a full --quick sweep); MPKERAS_SCREENSHOT_DIR keeps
# the screenshots there instead of the test's tmp dir.
BETA_SWEEP = [
    "betas=[1],[4]",
    "train.epochs=2",
    "score_examples=600",
    "betavae_train=300",
    "betavae_eval=150",
]


@pytest.fixture(scope="module")
def beta_sweep(tmp_path_factory):
    """``(root, point directory names)`` of a finished sweep over beta."""
    given = os.environ.get("MPKERAS_BETA_SWEEP")
    if given:
        root = Path(given).resolve()
    else:
        outcome = runner.sweep(
            "beta_vae_sprites",
            sets=BETA_SWEEP,
            quick=True,
            runs_dir=tmp_path_factory.mktemp("beta_runs"),
            report=lambda line: None,
        )
        assert outcome.failed == []
        root = outcome.root
    points = json.loads((root / "sweep.json").read_text())["points"]
    assert len(points) >= 2 and all((root / p / "results.json").is_file() for p in points)
    return root, points


@pytest.fixture(scope="module")
def beta_tensorboard(beta_sweep, tmp_path_factory):
    root, points = beta_sweep
    expected = {
        path.relative_to(root).as_posix()
        for point in points
        for path in [
            root / point / "logs" / "hparams",
            *(root / point / "logs").glob("*/projector"),
        ]
    }
    assert len(expected) == 2 * len(points)  # One beta, one projector per point.
    with serve(root, expected, tmp_path_factory.mktemp("tb_beta") / "stderr.txt") as base:
        yield base


@pytest.fixture
def kept_shots(tmp_path):
    kept = os.environ.get("MPKERAS_SCREENSHOT_DIR")
    return Path(kept) if kept else tmp_path


def test_hparams_page_shows_the_points_of_a_beta_sweep(
    browser, beta_tensorboard, beta_sweep, kept_shots
):
    root, points = beta_sweep
    betas = [json.loads((root / p / "config.json").read_text())["config"]["betas"] for p in points]
    needles = ["Trial ID", *[f"{root.name}/{p}" for p in points], "betas", "train.epochs"]
    needles += [json.dumps(value) for value in betas]  # [1.0], [4.0]: one beta a point
    # One beta a point: the metrics' plain names, one column each.
    needles += ["mig", "betavae_score", "kl", "reconstruction", "wall_time_s"]
    text = open_page(browser, beta_tensorboard, "hparams", needles, kept_shots)
    assert "mig_beta" not in text and "betavae_score_beta" not in text
    # The table of what the sweep compares: the swept setting against the metrics.
    assert browser.execute_script(SHOW_SETTINGS, ["betas"]) == ["betas"]
    browser.save_screenshot(str(kept_shots / "tensorboard_hparams_beta_sweep.png"))


def test_projector_page_shows_the_beta_vaes_codes_with_their_factors(
    browser, beta_tensorboard, beta_sweep, kept_shots
):
    root, points = beta_sweep
    first = sorted((root / points[0] / "logs").glob("*/projector"))[0]
    rows = (first / "metadata.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["shape", "scale", "orientation", "x_position", "y_position"]
    latent = json.loads((root / points[0] / "config.json").read_text())["config"]["latent_dim"]
    needles = [
        f"{len(points)} runs found",
        *[
            path.relative_to(root).as_posix()
            for p in points
            for path in (root / p / "logs").glob("*/projector")
        ],
        f"Points: {len(rows) - 1}",
        f"Dimension: {latent}",
        "Label by shape",
        "metadata.tsv",
    ]
    open_page(browser, beta_tensorboard, "projector", needles, kept_shots)
    assert browser.execute_script(ELEMENTS, "CANVAS", False) > 0
    browser.save_screenshot(str(kept_shots / "projector_beta_sweep.png"))
