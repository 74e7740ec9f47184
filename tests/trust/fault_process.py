"""Processes for the source-fault runs: the real ``stagegraph ingest git`` in a subprocess
(killed on demand), a ``git`` that dies mid-read, and a Neo4j server a test owns."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    killed: bool  # SIGKILLed by the test while it was still running

    def says_why(self) -> bool:
        """A failed run printed a reason, and no traceback."""
        printed = (self.stdout + self.stderr).strip()
        return bool(printed) and "Traceback" not in printed

    def describe(self) -> str:
        tail = (self.stderr.strip().splitlines() or [""])[-1]
        return f"exit {self.returncode} after {self.seconds:.2f}s ({tail[:200]})"


def cli_env(
    neo4j_user: str, neo4j_password: str, path_prefix: Path | None = None
) -> dict[str, str]:
    """A clean environment for the CLI: no STAGEGRAPH_* from the caller's shell."""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    if path_prefix is not None:
        path = f"{path_prefix}{os.pathsep}{path}"
    return {
        "PATH": path,
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(ROOT),
        "NEO4J_USER": neo4j_user,
        "NEO4J_PASSWORD": neo4j_password,
        "LC_ALL": "C.UTF-8",
    }


def stagegraph_command() -> list[str]:
    """The installed ``stagegraph`` command of this interpreter's environment."""
    script = Path(sys.executable).parent / "stagegraph"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from api.cli import app; app()"]


def start_ingest(
    repo: Path, source: str, store_url: str, env: dict[str, str]
) -> subprocess.Popen[str]:
    """Start ``stagegraph ingest git REPO --name SOURCE --store URL``."""
    command = [*stagegraph_command(), "ingest", "git", str(repo)]
    command += ["--name", source, "--store", store_url]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(
    proc: subprocess.Popen[str], started: float, killed: bool = False, timeout: float = 300
) -> CliResult:
    """Wait for the process (already killed or not) and collect what it printed."""
    stdout, stderr = proc.communicate(timeout=timeout)
    return CliResult(proc.returncode, stdout, stderr, time.monotonic() - started, killed)


def kill(proc: subprocess.Popen[str]) -> bool:
    """SIGKILL the process if it still runs; True when it did."""
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    return True


def ingest(repo: Path, source: str, store_url: str, env: dict[str, str]) -> CliResult:
    """Run ``stagegraph ingest git`` to its end."""
    started = time.monotonic()
    return finish(start_ingest(repo, source, store_url, env), started)


def run_configured(config: Path, source: str, env: dict[str, str]) -> CliResult:
    """Run ``stagegraph ingest --config CONFIG --source SOURCE`` to its end."""
    started = time.monotonic()
    command = [*stagegraph_command(), "ingest", "--config", str(config), "--source", source]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return finish(proc, started)


GIT_WRAPPER = r'''#!{python}
"""git, except that the command named in FAULT_GIT_KILL dies by SIGKILL: ``ls-tree`` at
once; ``cat-file:<n>`` after writing n bytes of its output (mid-object, mid-read);
``tee:<file>`` does not die but copies what ``cat-file`` writes to the file."""
import os, signal, subprocess, sys

real = os.environ["FAULT_REAL_GIT"]
kill = os.environ.get("FAULT_GIT_KILL", "")
args = sys.argv[1:]
if args[:1] == ["ls-tree"] and kill == "ls-tree":
    os.kill(os.getpid(), signal.SIGKILL)
if args[:1] == ["cat-file"] and kill.startswith("tee:"):
    child = subprocess.Popen([real, *args], stdout=subprocess.PIPE)
    with open(kill.split(":", 1)[1], "ab") as tee:
        while chunk := os.read(child.stdout.fileno(), 65536):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            tee.write(chunk)
    sys.exit(child.wait())
if args[:1] == ["cat-file"] and kill.startswith("cat-file:"):
    budget = int(kill.split(":", 1)[1])
    child = subprocess.Popen([real, *args], stdout=subprocess.PIPE)
    out = sys.stdout.buffer
    while budget > 0:
        chunk = os.read(child.stdout.fileno(), min(budget, 65536))
        if not chunk:
            break
        out.write(chunk)
        out.flush()
        budget -= len(chunk)
    child.kill()
    os.kill(os.getpid(), signal.SIGKILL)
os.execv(real, [real, *args])
'''


def install_git_wrapper(directory: Path) -> Path:
    """Write the dying ``git`` into ``directory`` (put it first on PATH); returns the folder."""
    directory.mkdir(parents=True, exist_ok=True)
    wrapper = directory / "git"
    wrapper.write_text(GIT_WRAPPER.replace("{python}", sys.executable))
    wrapper.chmod(0o755)
    return directory


def real_git() -> str:
    found = shutil.which("git")
    if found is None:
        raise RuntimeError("git is not installed")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def neo4j_runtime_missing() -> str | None:
    """Why a Neo4j of our own cannot be started here (None when it can)."""
    missing = [tool for tool in ("java", "javac", "mvn") if shutil.which(tool) is None]
    return f"{', '.join(missing)} not installed" if missing else None


class OwnNeo4j:
    """A Neo4j this test starts with ``scripts/neo4j.sh`` in its own folder and port (user
    ``neo4j``, password ``stagegraph``), kills with SIGKILL, and restarts on the same data
    (the script wipes data on start, so the restart runs the same JVM command itself)."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.url = f"bolt://127.0.0.1:{port}"
        self._env = {**os.environ, "NEO4J_DIR": str(directory), "NEO4J_PORT": str(port)}
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        done = subprocess.run(
            [str(ROOT / "scripts/neo4j.sh"), "start"],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripts/neo4j.sh start failed: {done.stderr[-2000:]}")

    def pid(self) -> int:
        return int((self.directory / "neo4j.pid").read_text().strip())

    def kill(self) -> None:
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait(timeout=30)
            self._proc = None
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            if _is_zombie(pid):
                return
            time.sleep(0.05)
        raise RuntimeError(f"Neo4j (pid {pid}) survived SIGKILL for 30s")

    def restart(self, password: str, timeout: float = 300) -> None:
        """Start the server again on the data the killed one left (it recovers from its logs).

        DevNeo4j sets the user's password at every start and Neo4j refuses to set the one it
        already has, so a restart must give a new one."""
        classpath = (self.directory / "classpath.txt").read_text().strip()
        classes = self.directory / "classes"
        ready = self.directory / "ready"
        ready.unlink(missing_ok=True)
        command = [
            "java",
            "-Xms256m",
            "-Xmx1g",
            "-XX:+UseG1GC",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "-Dlog4j2.disable.jmx=true",
            "-cp",
            f"{classes}:{classpath}",
            "DevNeo4j",
            str(self.directory / "home"),
            str(self.port),
            password,
            str(ready),
        ]
        with (self.directory / "neo4j.log").open("a") as log:
            proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        self._proc = proc
        (self.directory / "neo4j.pid").write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"Neo4j exited on restart; see {self.directory / 'neo4j.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Neo4j did not restart within {timeout}s")
            time.sleep(0.2)

    def stop(self) -> None:
        subprocess.run(
            [str(ROOT / "scripts/neo4j.sh"), "stop"],
            env=self._env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if self._proc is not None:
            self._proc.wait(timeout=30)
            self._proc = None


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
