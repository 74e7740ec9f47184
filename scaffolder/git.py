"""The git the actions run: cloning a template's files, pushing a workspace.

Every command runs as a subprocess with a fixed, minimal environment (no user or system
config, no prompt), is killed when the step is cancelled, and fails with an
:class:`ActionError` carrying git's own message. A token travels as an HTTP header through
``-c http.extraHeader`` (never in a URL, so it is in no remote, no log line and no error).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from scaffolder.errors import ActionError

_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",
    "HOME": "/nonexistent",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


def auth_header(token: str | None, user: str = "x-access-token") -> list[str]:
    """``-c http.extraHeader=...`` arguments that authenticate as ``user`` with ``token``."""
    if not token:
        return []
    basic = base64.b64encode(f"{user}:{token}".encode()).decode()
    return ["-c", f"http.extraHeader=Authorization: Basic {basic}"]


async def run_git(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, what: str = "git"
) -> str:
    """Run ``git args`` in ``cwd``; its standard output, or :class:`ActionError`."""
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env={**_ENV, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await process.communicate()
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        raise ActionError(
            f"{what} failed: {' '.join(message[-3:]) or 'exit ' + str(process.returncode)}"
        )
    return out.decode(errors="replace").strip()


async def clone(
    url: str, ref: str | None, target: Path, env: Mapping[str, str] | None = None
) -> None:
    """A shallow copy of ``url`` at ``ref`` (default its HEAD) in ``target``."""
    await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
    await run_git(["init", "--quiet"], target, env)
    await run_git(
        ["fetch", "--quiet", "--depth=1", url, ref or "HEAD"], target, env, f"fetching {url}"
    )
    await run_git(["checkout", "--quiet", "FETCH_HEAD"], target, env)


async def push_tree(
    source: Path,
    remote: str,
    branch: str,
    *,
    message: str,
    author: tuple[str, str],
    token: str | None = None,
    user: str = "x-access-token",
    env: Mapping[str, str] | None = None,
) -> str:
    """Commit everything under ``source`` as the first commit of ``branch`` and push it to
    ``remote`` (as ``user`` with ``token``, when given); the commit's hash."""
    name, email = author
    identity = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        **(env or {}),
    }
    await run_git(["init", "--quiet", f"--initial-branch={branch}"], source, identity)
    await run_git(["add", "--all"], source, identity)
    await run_git(["commit", "--quiet", "--allow-empty", "-m", message], source, identity)
    await run_git(
        [*auth_header(token, user), "push", "--quiet", remote, f"HEAD:refs/heads/{branch}"],
        source,
        identity,
        f"pushing to {remote}",
    )
    return await run_git(["rev-parse", "HEAD"], source, identity)
