"""The shape of a synthetic catalog, pure: who exists, who owns what, who needs whom.

:func:`build_catalog` decides, for a target entity count and a seed, an organisation
(org -> departments -> teams, users in teams), one domain per department with its
systems, services (Components) that provide 0-2 APIs and own 0-2 resources, API
consumption and service dependencies with power-law (Zipf) fan-in, dependency chains at
least :data:`CHAIN_LENGTH` deep, a few cycles, and templates some services were made
from. :mod:`bench.generate` turns it into descriptor files in a git repository.

Everything is drawn from one ``random.Random(seed)``: the same arguments give the same
catalog, entity for entity.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass, field

MIN_ENTITIES = 100
TEAMS_PER_DEPARTMENT = 12
USERS_PER_TEAM = 5
TEMPLATES = ("python-service", "go-service", "java-service", "react-website", "data-pipeline")
CHAIN_LENGTH = 12
ZIPF_EXPONENT = 1.1

AREAS = (
    "billing", "payments", "orders", "catalog", "search", "shipping", "inventory",
    "identity", "notify", "analytics", "pricing", "fleet", "routing", "tracking",
    "warehouse", "checkout", "accounts", "reviews", "media", "messaging", "ledger",
    "fraud", "loyalty", "returns",
)  # fmt: skip
ROLES = (
    "service", "worker", "gateway", "indexer", "scheduler", "processor", "sync", "web",
    "adapter", "router", "store", "api",
)  # fmt: skip
FIRST_NAMES = (
    "ada", "alan", "barbara", "claude", "dennis", "edsger", "frances", "grace", "hedy",
    "ivan", "john", "ken", "leslie", "margaret", "niklaus", "radia", "shafi", "tim",
)  # fmt: skip
LAST_NAMES = (
    "lovelace", "turing", "liskov", "shannon", "ritchie", "dijkstra", "allen", "hopper",
    "lamarr", "sutherland", "backus", "thompson", "lamport", "hamilton", "wirth", "perlman",
)  # fmt: skip
API_TYPES = ("openapi", "openapi", "openapi", "grpc", "asyncapi", "graphql")
RESOURCE_TYPES = ("database", "database", "queue", "bucket", "cache")
LIFECYCLES = ("production", "production", "production", "experimental", "deprecated")


@dataclass
class Team:
    name: str
    department: int
    system: str


@dataclass
class User:
    name: str
    teams: list[str]


@dataclass
class Department:
    name: str
    teams: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return f"{self.name}-domain"


@dataclass
class Api:
    name: str
    type: str
    external_definition: bool  # a ``$text`` placeholder to a file beside the descriptor


@dataclass
class Resource:
    name: str
    type: str


@dataclass
class Service:
    name: str
    team: str
    system: str
    lifecycle: str
    apis: list[Api] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    consumes: list[str] = field(default_factory=list)  # API names
    depends_on: list[str] = field(default_factory=list)  # refs: component:x, resource:y
    template: str | None = None

    @property
    def entity_count(self) -> int:
        return 1 + len(self.apis) + len(self.resources)


@dataclass
class Catalog:
    """A whole synthetic catalog, and the entities the benchmark's questions start from."""

    entities: int
    seed: int
    organisation: str
    departments: list[Department]
    teams: list[Team]
    users: list[User]
    services: list[Service]
    templates: tuple[str, ...]
    hub: str  # the most depended-on service, providing the most consumed API
    deep: str  # the head of a dependency chain at least CHAIN_LENGTH - 1 deep
    cycles: int

    def counts(self) -> Counter[str]:
        """Entities per kind (lowercase), Locations included."""
        systems = sum(len(d.systems) for d in self.departments)
        return Counter(
            {
                "group": 1 + len(self.departments) + len(self.teams),
                "user": len(self.users),
                "domain": len(self.departments),
                "system": systems,
                "component": len(self.services),
                "api": sum(len(s.apis) for s in self.services),
                "resource": sum(len(s.resources) for s in self.services),
                "template": len(self.templates),
                "location": 2,
            }
        )

    def relation_count(self) -> int:
        """Distinct forward relations the descriptors declare (what the store will hold)."""
        groups = len(self.departments) + len(self.teams)  # childOf
        members = sum(len(u.teams) for u in self.users)  # memberOf
        domains = len(self.departments)  # ownedBy
        systems = 2 * sum(len(d.systems) for d in self.departments)  # ownedBy, partOf
        templates = len(self.templates)  # ownedBy
        services = 0
        for s in self.services:
            services += 2 + len(s.apis) + len(s.consumes) + len(s.depends_on)
            services += 2 * (len(s.apis) + len(s.resources))  # their ownedBy, partOf
            services += 1 if s.template else 0
        return groups + members + domains + systems + templates + services


class _Zipf:
    """Draws ranks 0..n-1 with P(k) proportional to 1 / (k + 1) ** s."""

    def __init__(self, n: int, rng: random.Random, exponent: float = ZIPF_EXPONENT) -> None:
        self.rng = rng
        self.cumulative = list(
            itertools.accumulate(1 / (k + 1) ** exponent for k in range(max(n, 1)))
        )

    def draw(self, below: int | None = None) -> int:
        """A rank; with ``below``, one of 0..below-1 (same law, truncated)."""
        top = self.cumulative[(below or len(self.cumulative)) - 1]
        return bisect.bisect_left(self.cumulative, self.rng.random() * top)


class _Choice:
    """Draws one of the keys of ``weights`` with their weights: ``rng.choices`` with the
    cumulative weights computed once (the same draws, a fraction of the time)."""

    def __init__(self, weights: dict[int, float]) -> None:
        self.values = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))
        self.total = self.cumulative[-1] + 0.0
        self.top = len(self.cumulative) - 1

    def draw(self, rng: random.Random) -> int:
        point = rng.random() * self.total
        return self.values[bisect.bisect(self.cumulative, point, 0, self.top)]


APIS_PER_SERVICE = _Choice({0: 0.25, 1: 0.5, 2: 0.25})
RESOURCES_PER_SERVICE = _Choice({0: 0.4, 1: 0.4, 2: 0.2})
CONSUMED_PER_SERVICE = _Choice({0: 0.35, 1: 0.35, 2: 0.2, 3: 0.1})
DEPENDENCIES_PER_SERVICE = _Choice({0: 0.6, 1: 0.3, 2: 0.1})


def build_catalog(entities: int, seed: int = 1) -> Catalog:
    """The catalog with exactly ``entities`` entities for ``seed``."""
    if entities < MIN_ENTITIES:
        raise ValueError(f"a synthetic catalog needs at least {MIN_ENTITIES} entities")
    rng = random.Random(seed)
    team_count = max(3, entities // 60)
    department_count = math.ceil(team_count / TEAMS_PER_DEPARTMENT)

    departments = [
        Department(f"dept-{d:03d}-{AREAS[d % len(AREAS)]}") for d in range(department_count)
    ]
    teams: list[Team] = []
    for t in range(team_count):
        department = departments[t % department_count]
        teams.append(Team(f"team-{t:04d}-{AREAS[(t * 7) % len(AREAS)]}", t % department_count, ""))
        department.teams.append(teams[-1].name)
    for d, department in enumerate(departments):
        own = [t for t in teams if t.department == d]
        systems = max(1, round(len(own) / 3))
        department.systems = [f"{department.name}-system-{k}" for k in range(systems)]
        for index, team in enumerate(own):
            team.system = department.systems[index % systems]

    users: list[User] = []
    for t, team in enumerate(teams):
        for u in range(USERS_PER_TEAM):
            first = FIRST_NAMES[(t + u) % len(FIRST_NAMES)]
            last = LAST_NAMES[(t * 3 + u) % len(LAST_NAMES)]
            member_of = [team.name]
            if rng.random() < 0.1:
                other = teams[rng.randrange(team_count)].name
                if other != team.name:
                    member_of.append(other)
            users.append(User(f"{first}.{last}.{len(users):05d}", member_of))

    fixed = (
        1 + department_count + team_count  # groups
        + len(users)
        + department_count  # domains
        + sum(len(d.systems) for d in departments)
        + len(TEMPLATES)
        + 2  # the root Location and the templates' Location
    )  # fmt: skip
    budget = entities - fixed
    if budget < CHAIN_LENGTH * 2:
        raise ValueError(f"{entities} entities leave too few for services; ask for more")

    services = _services(rng, budget, teams)
    _wire(rng, services)
    chain_heads, cycles = _chains_and_cycles(rng, services)
    return Catalog(
        entities=entities,
        seed=seed,
        organisation="acme",
        departments=departments,
        teams=teams,
        users=users,
        services=services,
        templates=tuple(f"{t}-template" for t in TEMPLATES),
        hub=services[0].name,
        deep=chain_heads[0],
        cycles=cycles,
    )


def _services(rng: random.Random, budget: int, teams: list[Team]) -> list[Service]:
    """Services with their APIs and resources until they use up ``budget`` entities."""
    services: list[Service] = []
    while budget > 0:
        index = len(services)
        team = teams[rng.randrange(len(teams))]
        area = AREAS[rng.randrange(len(AREAS))]
        role = ROLES[rng.randrange(len(ROLES))]
        name = f"{area}-{role}-{index:05d}"
        service = Service(name, team.name, team.system, LIFECYCLES[rng.randrange(5)])
        budget -= 1
        apis = APIS_PER_SERVICE.draw(rng) if index >= 10 else 1
        for k in range(min(apis, budget)):
            suffix = "api" if k == 0 else "events"
            kind = API_TYPES[rng.randrange(len(API_TYPES))] if k == 0 else "asyncapi"
            service.apis.append(Api(f"{name}-{suffix}", kind, rng.random() < 0.25))
        budget -= len(service.apis)
        resources = RESOURCES_PER_SERVICE.draw(rng)
        for k in range(min(resources, budget)):
            kind = RESOURCE_TYPES[rng.randrange(len(RESOURCE_TYPES))]
            service.resources.append(Resource(f"{name}-{kind}-{k}", kind))
        budget -= len(service.resources)
        if rng.random() < 0.4:
            service.template = f"{TEMPLATES[rng.randrange(len(TEMPLATES))]}-template"
        services.append(service)
    return services


def _wire(rng: random.Random, services: list[Service]) -> None:
    """API consumption and dependencies, both with Zipf fan-in on the popular few.

    A service only depends on services before it (popularity rank = position), so these
    edges alone form no cycle; :func:`_chains_and_cycles` adds the few on purpose.
    """
    apis = [api.name for s in services for api in s.apis]
    resources = [f"resource:{r.name}" for s in services for r in s.resources]
    api_law = _Zipf(len(apis), rng)
    service_law = _Zipf(len(services), rng)
    resource_law = _Zipf(len(resources), rng)
    for index, service in enumerate(services):
        own = {api.name for api in service.apis}
        consumed: dict[str, None] = {}
        for _ in range(CONSUMED_PER_SERVICE.draw(rng)):
            api = apis[api_law.draw()]
            if api not in own:
                consumed[api] = None
        service.consumes = list(consumed)
        needs: dict[str, None] = {f"resource:{r.name}": None for r in service.resources}
        if index > 0:
            for _ in range(DEPENDENCIES_PER_SERVICE.draw(rng)):
                needs[f"component:{services[service_law.draw(below=index)].name}"] = None
        if resources and rng.random() < 0.15:
            shared = resources[resource_law.draw()]
            if not shared.startswith(f"resource:{service.name}-"):
                needs[shared] = None
        service.depends_on = list(needs)


def _chains_and_cycles(rng: random.Random, services: list[Service]) -> tuple[list[str], int]:
    """Chains of CHAIN_LENGTH services, each depending on the next (newest to oldest, so
    no cycle by accident), then a few cycles on purpose: a chain's tail depending back on
    a link three above it, and pairs of services depending on each other."""
    chain_count = max(1, len(services) // 1000)
    heads: list[str] = []
    cycles = 0
    for _ in range(chain_count):
        members = sorted(rng.sample(range(10, len(services)), CHAIN_LENGTH), reverse=True)
        refs = [f"component:{services[m].name}" for m in members]
        for position, member in enumerate(members[:-1]):
            # No shortcut down the chain: its depth is its length.
            needs = services[member].depends_on
            needs[:] = [ref for ref in needs if ref not in refs[position + 2 :]]
            if refs[position + 1] not in needs:
                needs.append(refs[position + 1])
        heads.append(services[members[0]].name)
        if len(heads) % 3 == 1:
            services[members[-1]].depends_on.append(refs[-4])
            cycles += 1
    for _ in range(max(2, len(services) // 4000)):
        a, b = rng.sample(range(10, len(services)), 2)
        ref_a, ref_b = f"component:{services[a].name}", f"component:{services[b].name}"
        if ref_b not in services[a].depends_on and ref_a not in services[b].depends_on:
            services[a].depends_on.append(ref_b)
            services[b].depends_on.append(ref_a)
            cycles += 1
    return heads, cycles
