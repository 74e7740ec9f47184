"""Teams and their members as Groups and Users (pure).

A team is ``group:default/<slug>``, the ref CODEOWNERS ``@org/<slug>`` resolves to
(:func:`ingestors.git.codeowners.owner_ref`); a member is ``user:default/<login>``, the ref
of ``@<login>``. ``parent`` comes from the team's parent team (``childOf``), ``children``
from the teams naming it as parent, ``members``/``memberOf`` from the member lists less
the members of child teams (GitHub counts those in the parent's list too); a
user's profile from ``GET /users/{login}`` when it was read.
"""

from __future__ import annotations

from typing import Any

from catalog.errors import SourceLocation
from ingestors.github.payload import Json, TeamPayload

BACKSTAGE = "backstage.io/v1alpha1"
TEAM_ANNOTATION = "github.com/team-slug"
USER_ANNOTATION = "github.com/user-login"


def group_ref(slug: str) -> str:
    return f"group:default/{slug}"


def user_ref(login: str) -> str:
    return f"user:default/{login}"


def _parent(team: Json) -> str | None:
    parent = team.get("parent")
    if isinstance(parent, dict) and parent.get("slug"):
        return str(parent["slug"])
    return None


def direct_members(teams: list[TeamPayload]) -> dict[str, list[Json]]:
    """Each team's own members by slug: GitHub lists a team's members with those of its child
    teams (at any depth), so the members of every descendant team are taken out."""
    child_slugs: dict[str, list[str]] = {}
    listed: dict[str, list[Json]] = {}
    for item in teams:
        slug = str(item.team["slug"])
        listed[slug] = item.members
        parent = _parent(item.team)
        if parent is not None:
            child_slugs.setdefault(parent, []).append(slug)

    def descendants(slug: str, seen: set[str]) -> set[str]:
        found: set[str] = set()
        for child in child_slugs.get(slug, []):
            if child not in seen:
                seen.add(child)
                found |= {str(m["login"]) for m in listed.get(child, [])}
                found |= descendants(child, seen)
        return found

    own: dict[str, list[Json]] = {}
    for slug, members in listed.items():
        below = descendants(slug, {slug})
        own[slug] = [m for m in members if str(m["login"]) not in below]
    return own


def team_documents(
    org: str, teams: list[TeamPayload], users: dict[str, Json]
) -> list[tuple[dict[str, Any], SourceLocation]]:
    """Raw Group and User descriptors (to be validated), each with where it was read."""
    children: dict[str, list[str]] = {}
    member_of: dict[str, list[str]] = {}
    avatars: dict[str, str] = {}
    own = direct_members(teams)
    for item in teams:
        slug = str(item.team["slug"])
        parent = _parent(item.team)
        if parent is not None:
            children.setdefault(parent, []).append(group_ref(slug))
        for member in item.members:
            login = str(member["login"])
            if member.get("avatar_url"):
                avatars.setdefault(login, str(member["avatar_url"]))
        for member in own[slug]:
            member_of.setdefault(str(member["login"]), []).append(group_ref(slug))
    documents: list[tuple[dict[str, Any], SourceLocation]] = []
    for item in teams:
        slug = str(item.team["slug"])
        title = str(item.team.get("name") or slug)
        spec: dict[str, Any] = {
            "type": "team",
            "profile": {"displayName": title},
            "children": children.get(slug, []),
            "members": [user_ref(str(m["login"])) for m in own[slug]],
        }
        parent = _parent(item.team)
        if parent is not None:
            spec["parent"] = group_ref(parent)
        metadata: dict[str, Any] = {
            "name": slug,
            "title": title,
            "annotations": {TEAM_ANNOTATION: f"{org}/{slug}"},
        }
        if item.team.get("description"):
            metadata["description"] = str(item.team["description"])
        if item.team.get("html_url"):
            metadata["links"] = [{"url": str(item.team["html_url"]), "title": "GitHub team"}]
        document = {"apiVersion": BACKSTAGE, "kind": "Group", "metadata": metadata, "spec": spec}
        documents.append((document, SourceLocation(f"{org}/teams/{slug}")))
    for login, groups in sorted(member_of.items()):
        user = users.get(login, {})
        profile: dict[str, Any] = {"displayName": user.get("name") or login}
        if user.get("email"):
            profile["email"] = user["email"]
        picture = user.get("avatar_url") or avatars.get(login)
        if picture:
            profile["picture"] = picture
        document = {
            "apiVersion": BACKSTAGE,
            "kind": "User",
            "metadata": {"name": login, "annotations": {USER_ANNOTATION: login}},
            "spec": {"profile": profile, "memberOf": list(dict.fromkeys(groups))},
        }
        documents.append((document, SourceLocation(f"users/{login}")))
    return documents
