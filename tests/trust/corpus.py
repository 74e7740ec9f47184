"""A generated corpus of malformed descriptor files mixed with good ones (issue 9).

:func:`build_git_corpus` writes the files a git repository can hold (committed by the
caller); :func:`build_plain_corpus` adds what only a plain folder can (FIFOs, sparse files of
10 and 100 MB). Every bad file is recorded with where the run must name it: ``path:line``
when the file has a line for its problem, the bare path otherwise. A secret file outside the
source is the target of every escape attempt; its content must never show up anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.gitrepo import component, group

#: Every line of the secret says this; no output or store may ever contain it.
SECRET_MARKER = "CORPUS-SECRET-7f3a9c"
ANY_LINE = -1


@dataclass(frozen=True)
class Bad:
    """A bad file and where the run must name it: ``line`` None (no line: the file is refused
    as a whole), ANY_LINE (some line), or the exact line."""

    path: str
    line: int | None
    kind: str


@dataclass
class Corpus:
    root: Path
    secret: Path
    bad: list[Bad] = field(default_factory=list)
    good: set[str] = field(default_factory=set)
    files: int = 0

    def write(self, path: str, content: str | bytes) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)
        self.files += 1
        return target

    def link(self, path: str, to: Path | str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(to)
        self.files += 1

    def sparse(self, path: str, size: int) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            handle.truncate(size)
        self.files += 1


def write_secret(folder: Path) -> Path:
    """A valid descriptor outside the source: were it ever read, an entity would appear."""
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / "secret.yaml"
    secret.write_text(
        component("leaked-secret").replace("spec:", f"  description: {SECRET_MARKER}\nspec:", 1)
        + f"  note: {SECRET_MARKER}\n"
    )
    return secret


def _api(name: str, key: str, target: str) -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: API\n"
        f"metadata:\n  name: {name}\nspec:\n  type: openapi\n  lifecycle: production\n"
        f"  owner: team-a\n  definition:\n    {key}: {target}\n"
    )


def _location(name: str, *targets: str) -> str:
    quoted = ", ".join(f'"{t}"' for t in targets)
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\n"
        f"metadata:\n  name: {name}\nspec:\n  targets: [{quoted}]\n"
    )


def _bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghijklm":
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
        previous = name
    return "\n".join(lines) + "\n"


def _escaping_targets(corpus: Corpus, depth: int) -> list[str]:
    up = "../" * depth
    return [f"{up}../outside/secret.yaml", str(corpus.secret)]


def _kinds(corpus: Corpus) -> dict[str, Callable[[str, int], None]]:
    """One writer per kind of bad file: ``write(folder, i)`` adds one bad file (sometimes a
    good one beside it) under ``folder``."""
    secret = corpus.secret

    def latin1(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.write(path, component(f"latin-{i}").encode() + b"  note: caf\xe9\n")
        corpus.bad.append(Bad(path, 9, "latin-1 byte"))

    def nul(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.write(path, b"\x00" + component(f"nul-{i}").encode())
        corpus.bad.append(Bad(path, 1, "leading NUL"))

    def control(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.write(path, component(f"bell-{i}").replace("production", "prod\x07"))
        corpus.bad.append(Bad(path, 7, "control character"))

    def bomb(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.write(path, _bomb())
        corpus.bad.append(Bad(path, ANY_LINE, "YAML bomb"))

    def deep(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        depth = 100 + (i % 5) * 1000
        corpus.write(path, component(f"deep-{i}") + "  x: " + "[" * depth + "]" * depth + "\n")
        corpus.bad.append(Bad(path, ANY_LINE, "deep nesting"))

    def syntax(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.write(path, "{{{{\n" + component(f"syntax-{i}"))
        corpus.bad.append(Bad(path, ANY_LINE, "YAML syntax error"))

    def not_a_mapping(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.write(path, "- just\n- a list\n")
        corpus.bad.append(Bad(path, 1, "not a mapping"))

    def unknown_kind(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.write(path, component(f"odd-{i}").replace("kind: Component", "kind: Gadget"))
        corpus.bad.append(Bad(path, 1, "unknown kind"))

    def bad_ref(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.write(path, component(f"badref-{i}", owner='"group:"', dependsOn=['"a:b:c/d/e"']))
        corpus.bad.append(Bad(path, 1, "bad ref"))

    def duplicate(folder: str, i: int) -> None:
        first, second = f"{folder}/a/catalog-info.yaml", f"{folder}/b/catalog-info.yaml"
        name = f"dup-{i}" if i % 2 else f"Dup-{i}"
        corpus.write(first, component(name))
        corpus.write(second, component(name.lower() if i % 2 == 0 else name))
        corpus.good.add(f"component:default/{name}".lower())
        corpus.bad.append(Bad(second, 1, "duplicate / case-conflicting name"))

    def location_escape(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        depth = folder.count("/") + 1
        corpus.write(path, _location(f"escape-{i}", _escaping_targets(corpus, depth)[i % 2]))
        corpus.good.add(f"location:default/escape-{i}")
        corpus.bad.append(Bad(path, 1, "Location target escaping (.. / absolute)"))

    def location_url(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        url = f"file://{secret}" if i % 2 else "https://example.invalid/catalog-info.yaml"
        corpus.write(path, _location(f"url-{i}", url))
        corpus.good.add(f"location:default/url-{i}")
        corpus.bad.append(Bad(path, 1, "Location target URL"))

    def location_symlink(folder: str, i: int) -> None:
        path, link = f"{folder}/catalog-info.yaml", f"{folder}/link.yaml"
        corpus.write(path, _location(f"via-link-{i}", "./link.yaml"))
        corpus.link(link, secret)
        corpus.good.add(f"location:default/via-link-{i}")
        corpus.bad.append(Bad(link, None, "Location target through a symlink out"))

    def placeholder_escape(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        depth = folder.count("/") + 1
        key = "$text" if i % 2 else "$json"
        corpus.write(path, _api(f"escape-api-{i}", key, _escaping_targets(corpus, depth)[i % 2]))
        corpus.bad.append(Bad(path, 1, "placeholder escaping (.. / absolute)"))

    def placeholder_url(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        url = f"file://{secret}" if i % 2 else "https://example.invalid/openapi.yaml"
        corpus.write(path, _api(f"url-api-{i}", "$text", url))
        corpus.good.add(f"api:default/url-api-{i}")
        corpus.bad.append(Bad(path, 1, "placeholder URL"))

    def placeholder_symlink(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.write(path, _api(f"link-api-{i}", "$text", "./spec.txt"))
        corpus.link(f"{folder}/spec.txt", secret)
        corpus.bad.append(Bad(path, 1, "placeholder through a symlink out"))

    def placeholder_binary(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.write(path, _api(f"png-api-{i}", "$text", "./logo.png"))
        corpus.write(f"{folder}/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 4)
        corpus.bad.append(Bad(path, 1, "placeholder at a binary file"))

    def descriptor_symlink(folder: str, i: int) -> None:
        path = f"{folder}/catalog-info.yaml"
        corpus.link(path, secret)
        corpus.bad.append(Bad(path, None, "descriptor symlink out"))

    return {
        "latin1": latin1,
        "nul": nul,
        "control": control,
        "bomb": bomb,
        "deep": deep,
        "syntax": syntax,
        "not-a-mapping": not_a_mapping,
        "unknown-kind": unknown_kind,
        "bad-ref": bad_ref,
        "duplicate": duplicate,
        "location-escape": location_escape,
        "location-url": location_url,
        "location-symlink": location_symlink,
        "placeholder-escape": placeholder_escape,
        "placeholder-url": placeholder_url,
        "placeholder-symlink": placeholder_symlink,
        "placeholder-binary": placeholder_binary,
        "descriptor-symlink": descriptor_symlink,
    }


def build_git_corpus(corpus: Corpus, per_kind: int, good: int, documents: int, big: int) -> None:
    """``per_kind`` bad files of every kind, ``good`` good components, one file of
    ``documents`` documents that each lack their spec, and one ``big``-byte descriptor."""
    corpus.write("catalog-info.yaml", _location("root", "./org/teams.yaml"))
    corpus.write("org/teams.yaml", group("team-a"))
    corpus.good.update({"location:default/root", "group:default/team-a"})
    for name, write in _kinds(corpus).items():
        for i in range(per_kind):
            write(f"bad/{name}/{i}", i)
    for i in range(good):
        corpus.write(f"good/{i}/catalog-info.yaml", component(f"good-{i}"))
        corpus.good.add(f"component:default/good-{i}")
    many = "".join(
        f"---\nkind: Component\napiVersion: backstage.io/v1alpha1\nmetadata:\n  name: many-{j}\n"
        for j in range(documents)
    )
    corpus.write("bad/many/catalog-info.yaml", many)
    corpus.bad.extend(
        Bad("bad/many/catalog-info.yaml", 2 + 5 * j, "one of thousands of documents")
        for j in range(documents)
    )
    filler = "# " + "x" * 77 + "\n"
    corpus.write("bad/big/catalog-info.yaml", component("big") + filler * (big // len(filler)))
    corpus.bad.append(Bad("bad/big/catalog-info.yaml", None, f"{big}-byte file"))


def build_plain_corpus(corpus: Corpus, fifos: int, sparse_sizes: list[int], good: int) -> None:
    """What only a plain folder holds: FIFOs (as descriptors, as a ``$text`` target and as a
    Location target) and sparse files refused by their size, beside good components."""
    for i in range(fifos):
        path = f"fifo/{i}/catalog-info.yaml"
        (corpus.root / path).parent.mkdir(parents=True)
        os.mkfifo(corpus.root / path)
        corpus.files += 1
        corpus.bad.append(Bad(path, None, "FIFO descriptor"))
    os.mkfifo(corpus.root / "fifo" / "0" / "spec.fifo")
    os.mkfifo(corpus.root / "fifo" / "0" / "target.yaml")
    corpus.write("fifo-users/api/catalog-info.yaml", _api("fifo-api", "$text", "./spec.fifo"))
    corpus.link("fifo-users/api/spec.fifo", corpus.root / "fifo" / "0" / "spec.fifo")
    corpus.bad.append(Bad("fifo-users/api/catalog-info.yaml", 1, "$text at a FIFO"))
    corpus.write(
        "fifo-users/location/catalog-info.yaml",
        _location("fifo-location", "../../fifo/0/target.yaml"),
    )
    corpus.good.add("location:default/fifo-location")
    corpus.bad.append(Bad("fifo/0/target.yaml", None, "Location target at a FIFO"))
    for i, size in enumerate(sparse_sizes):
        path = f"sparse/{i}/catalog-info.yaml"
        corpus.sparse(path, size)
        corpus.bad.append(Bad(path, None, f"{size // 1_000_000} MB sparse file"))
    corpus.link("escape/catalog-info.yaml", corpus.secret)
    corpus.bad.append(Bad("escape/catalog-info.yaml", None, "descriptor symlink out"))
    corpus.write(
        "escape/api/catalog-info.yaml",
        _api("plain-escape", "$json", "../../../outside/secret.yaml"),
    )
    corpus.bad.append(Bad("escape/api/catalog-info.yaml", 1, "placeholder escaping"))
    for i in range(good):
        corpus.write(f"good/{i}/catalog-info.yaml", component(f"plain-good-{i}"))
        corpus.good.add(f"component:default/plain-good-{i}")
