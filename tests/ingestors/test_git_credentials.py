"""A remote cloned with credentials in its URL (as the GitHub source clones with its token)
leaves no trace of them in the entities' location annotations: a real bare repository served
over git's dumb HTTP protocol by a loopback HTTP server that asks for nothing."""

from __future__ import annotations

import functools
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingestors.git.get import read_git_source
from ingestors.git.tree import redact, strip_credentials
from tests.gitrepo import GitRepo, component


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The base URL of a folder holding ``payments.git`` (a bare clone of a repository)."""
    work = GitRepo(tmp_path / "payments")
    work.write("catalog-info.yaml", component("payments"))
    work.commit("initial")
    public = tmp_path / "public"
    public.mkdir()
    bare = public / "payments.git"
    subprocess.run(["git", "clone", "--bare", "--quiet", str(work.path), str(bare)], check=True)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True)
    handler = functools.partial(_Quiet, directory=str(public))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_location_annotations_carry_no_credentials(served: str) -> None:
    url = f"http://x-access-token:ghs_secret@{served}/payments.git"

    snapshot = read_git_source(url)

    (descriptor,) = snapshot.descriptors
    annotations = descriptor.entity.metadata.annotations
    location = annotations["backstage.io/managed-by-location"]
    assert location == (f"git:http://{served}/payments.git@{snapshot.commit}:catalog-info.yaml")
    for value in annotations.values():
        assert "ghs_secret" not in value and "***" not in value and "x-access-token" not in value


def test_credentials_are_stripped_from_annotation_urls_and_redacted_in_messages() -> None:
    url = "https://x-access-token:ghs_secret@github.com/acme/payments.git"

    assert strip_credentials(url) == "https://github.com/acme/payments.git"
    assert redact(url) == "https://***@github.com/acme/payments.git"
    assert strip_credentials("git@github.com:acme/payments.git") == (
        "git@github.com:acme/payments.git"
    )
