// The team page: members, the tree of sub-teams, and everything the team owns, directly and
// through its sub-teams, grouped by kind.

import { gql } from "./api.js";
import { entityLink, entityList, fields, h, page, section } from "./dom.js";

const E = "ref kind name title";
const QUERY = `
query TeamPage($ref: String!) {
  entity(ref: $ref) {
    ${E} description
    ... on Group { type profile parent { ${E} } members { ${E} } children { ${E} } }
  }
  ownedEntities(owner: $ref, includeSubgroups: true) { ${E} owner { ${E} } }
}`;
const ALIASES = 15; // the API's default alias limit: sub-teams are asked for 15 at a time
const MAX_LEVELS = 10;

export async function renderTeam(view, ref, _params, { current }) {
  const { entity, ownedEntities } = await gql(QUERY, { ref });
  if (!current()) return;
  if (!entity || entity.kind !== "Group") {
    view.replaceChildren(h("p", { class: "error", role: "alert" }, `No team ${ref} in the catalog.`));
    return;
  }
  await growTree(entity.children);
  if (!current()) return;
  const email = entity.profile?.email;
  view.replaceChildren(
    h(
      "header",
      { class: "entity-head" },
      h("p", { class: "kind" }, "Team", entity.type ? ` · ${entity.type}` : ""),
      h("h1", { id: "entity-title" }, entity.title || entity.name),
      h("p", { class: "ref" }, entity.ref),
      entity.description ? h("p", { class: "description" }, entity.description) : null,
      h(
        "p",
        { class: "actions" },
        h("a", { href: page("entity", entity.ref), class: "button" }, "Entity page"),
        h("a", { href: page("graph", entity.ref, { types: "ownership,partOf" }), class: "button" }, "Graph"),
      ),
    ),
    section(
      "About",
      fields([
        ["Parent team", entity.parent ? entityLink(entity.parent) : null],
        ["Email", email ? h("a", { href: `mailto:${email}` }, email) : null],
        ["Members", h("span", { id: "members" }, entityList(entity.members))],
      ]),
    ),
    section("Sub-teams", entity.children.length ? h("div", { id: "subteams" }, tree(entity.children)) : h("p", { class: "muted" }, "none")),
    owned(entity.ref, ownedEntities),
  );
}

/** Fill in `children` below the given teams, a level per round, up to MAX_LEVELS levels. */
async function growTree(teams) {
  let level = teams;
  const seen = new Set(teams.map((team) => team.ref));
  for (let round = 0; round < MAX_LEVELS && level.length > 0; round += 1) {
    const batches = [];
    for (let i = 0; i < level.length; i += ALIASES) batches.push(level.slice(i, i + ALIASES));
    const answers = await Promise.all(batches.map(childrenOf));
    const next = [];
    answers.flat().forEach((children, i) => {
      level[i].children = children.filter((child) => !seen.has(child.ref));
      for (const child of level[i].children) seen.add(child.ref);
      next.push(...level[i].children);
    });
    level = next;
  }
}

async function childrenOf(teams) {
  const variables = Object.fromEntries(teams.map((team, i) => [`r${i}`, team.ref]));
  const params = teams.map((_, i) => `$r${i}: String!`).join(", ");
  const fields = teams.map((_, i) => `t${i}: entity(ref: $r${i}) { ... on Group { children { ${E} } } }`);
  const data = await gql(`query SubTeams(${params}) { ${fields.join(" ")} }`, variables);
  return teams.map((_, i) => data[`t${i}`]?.children || []);
}

function tree(teams) {
  return h(
    "ul",
    { class: "tree" },
    teams.map((team) => h("li", {}, entityLink(team), team.children?.length ? tree(team.children) : null)),
  );
}

/** What the team owns, by kind; an entity a sub-team owns says which. */
function owned(teamRef, entities) {
  const byKind = new Map();
  for (const entity of entities) {
    if (!byKind.has(entity.kind)) byKind.set(entity.kind, []);
    byKind.get(entity.kind).push(entity);
  }
  const kinds = [...byKind.keys()].sort();
  const direct = entities.filter((e) => e.owner?.ref === teamRef).length;
  return section(
    `Owned (${entities.length}: ${direct} directly, ${entities.length - direct} through sub-teams)`,
    h(
      "div",
      { id: "owned" },
      kinds.map((kind) =>
        h(
          "section",
          { class: "kind-group", dataset: { kind } },
          h("h3", {}, `${kind} (${byKind.get(kind).length})`),
          h(
            "ul",
            {},
            byKind.get(kind).map((entity) =>
              h(
                "li",
                { dataset: { ref: entity.ref } },
                entityLink(entity),
                entity.owner && entity.owner.ref !== teamRef
                  ? h("span", { class: "muted" }, " via ", entityLink(entity.owner))
                  : null,
              ),
            ),
          ),
        ),
      ),
    ),
  );
}
