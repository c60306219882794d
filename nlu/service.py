"""The Rasa side: its virtualenv, training only when the data changed, and a supervised server process."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "nlu" / "rasa"
RASA_VENV = Path(os.environ.get("DODAM_RASA_VENV", ROOT / ".venv-rasa"))
MODELS = ROOT / "var" / "nlu-models"


class NluUnavailable(RuntimeError):
    """Rasa is not installed here, or no model is trained."""


def rasa_keys() -> list[Path]:
    """The write keys Rasa ships for its usage analytics (Segment) and crash reports (Sentry)."""
    return list(RASA_VENV.glob("lib/python*/site-packages/rasa/keys"))


def rasa_env() -> dict[str, str]:
    """Rasa's environment: quiet TensorFlow, and the project folder importable (Dodam's own component).

    Nothing leaves this machine: telemetry is switched off, and the shipped write keys are removed, because
    Rasa starts crash reporting to Sentry whenever that key file exists, whatever the telemetry setting.
    """
    for key_file in rasa_keys():
        key_file.unlink(missing_ok=True)
    path = os.pathsep.join(p for p in (str(PROJECT), os.environ.get("PYTHONPATH", "")) if p)
    # Rasa's training cache goes under var/, not into the source tree (it is hundreds of MB).
    cache = os.environ.get("RASA_CACHE_DIRECTORY", str(MODELS.parent / "rasa-cache"))
    # Telemetry off: Rasa would otherwise report usage and crashes to its servers (Sentry); nothing about a
    # mother may leave this machine.
    return {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": path,
        "RASA_CACHE_DIRECTORY": cache,
        "RASA_TELEMETRY_ENABLED": "false",
    }


def rasa_bin() -> Path:
    return RASA_VENV / "bin" / "rasa"


def installed() -> bool:
    return rasa_bin().exists()


def data_hash() -> str:
    """A hash of everything training reads: retrain only when the data or the config changed."""
    digest = hashlib.sha256()
    files = [PROJECT / "config.yml", PROJECT / "domain.yml", PROJECT / "dodam_components.py"]
    files += sorted((PROJECT / "data").glob("*.yml"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS / f"dodam-nlu-{data_hash()}.tar.gz"


def train(*, force: bool = False) -> Path:
    """Train the multilingual model unless one for exactly this data exists; returns its path."""
    target = model_path()
    if target.exists() and not force:
        log.info("NLU model is up to date: %s", target.name)
        return target
    if not installed():
        raise NluUnavailable(f"Rasa is not installed ({rasa_bin()} missing): run `make nlu-setup`")
    MODELS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    subprocess.run(
        [
            str(rasa_bin()),
            "train",
            "nlu",
            "--config",
            str(PROJECT / "config.yml"),
            "--nlu",
            str(PROJECT / "data"),
            "--domain",
            str(PROJECT / "domain.yml"),
            "--out",
            str(MODELS),
            "--fixed-model-name",
            target.name[:-7],
        ],
        check=True,
        cwd=PROJECT,
        env=rasa_env(),
    )
    log.info("trained %s in %.0f s", target.name, time.monotonic() - started)
    for old in MODELS.glob("dodam-nlu-*.tar.gz"):
        if old != target:
            old.unlink()
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RasaServer:
    """`rasa run --enable-api` as a managed child: health-checked, restarted if it dies."""

    def __init__(self, model: Path, *, port: int | None = None, startup_timeout: float = 180.0) -> None:
        self.model = model
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            [
                str(rasa_bin()),
                "run",
                "--enable-api",
                "-m",
                str(self.model),
                "--port",
                str(self.port),
                "-i",
                "127.0.0.1",
            ],
            cwd=PROJECT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=rasa_env(),
        )

    def healthy(self) -> bool:
        try:
            status = httpx.get(f"{self.url}/status", timeout=2.0)
            return status.status_code == 200 and bool(status.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NluUnavailable(f"Rasa exited with code {self.process.returncode} while starting")
            if self.healthy():
                return
            time.sleep(0.5)
        raise NluUnavailable("Rasa did not become ready in time")

    def start(self, *, supervise: bool = True) -> None:
        if not installed():
            raise NluUnavailable(f"Rasa is not installed ({rasa_bin()} missing)")
        self._spawn()
        self.wait_ready()
        if supervise:
            self._watchdog = threading.Thread(target=self._supervise, name="rasa-watchdog", daemon=True)
            self._watchdog.start()

    def _supervise(self) -> None:
        while not self._stop.wait(5.0):
            if self.process is not None and self.process.poll() is not None:
                log.warning("Rasa server exited (code %s); restarting", self.process.returncode)
                self.restarts += 1
                self._spawn()
                try:
                    self.wait_ready()
                except NluUnavailable:
                    log.exception("Rasa restart failed; will try again")

    def stop(self) -> None:
        self._stop.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
