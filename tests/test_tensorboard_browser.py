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

import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

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
    const own = [...child.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('');
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


@pytest.fixture(scope="module")
def tensorboard(sweep, tmp_path_factory):
    """TensorBoard on the root, started as each run says, with every run and the projector loaded."""
    import json

    root, runs, watch = sweep
    command = shlex.split(watch[0].removeprefix("Watch it:"))
    assert command[:2] == ["tensorboard", "--logdir"] and command[2] == str(runs[0] / "logs")
    # Comparing runs: the same command on the directory above them.
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
    stderr_path = tmp_path_factory.mktemp("tb_server") / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    expected = {
        f"{run.name}/logs/{part}"
        for run in runs
        for part in ("vae/train", "hparams", "vae/projector")
    }
    try:
        deadline, state = time.monotonic() + READY_DEADLINE_S, None
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"tensorboard exited with {process.returncode}:\n{stderr_path.read_text()[-4000:]}"
                )
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
