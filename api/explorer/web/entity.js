// The entity page: what the catalog knows about one entity, its relations both ways, where it
// came from, and for components how they are built, deployed and run.

import { gql } from "./api.js";
import { entityLink, entityList, fields, h, page, section, shortRef, when } from "./dom.js";

const E = "ref kind name title";
const QUERY = `
query EntityPage($ref: String!) {
  entity(ref: $ref) {
    ${E} namespace description tags labels annotations source updatedAt error
    links { url title }
    owner { ${E} ...Parents }
    lastRun { id status trigger startedAt finishedAt commit errorCount
              errors(first: 20) { message file entity } }
    relations { type targetRef target { ${E} } }
    ... on Component {
      type lifecycle
      system { ${E} ... on System { domain { ${E} } } }
      subcomponentOf { ${E} }
      providesApis { ${E} } consumesApis { ${E} }
      scaffoldedFrom { ${E} }
      pipelines { ${E} type repository url
                  latestBuild { ref number status conclusion startedAt url } }
      builds(first: 5) { ref number status conclusion branch startedAt url pipeline { name } }
      deployments(first: 25) { ref status createdAt gitRef commit url environment { ${E} } }
      resources { ${E} ... on Resource { cloud { provider account region arn } } }
    }
    ... on API { type lifecycle system { ${E} } providers { ${E} } consumers { ${E} } }
    ... on Resource { type system { ${E} } account { ${E} } environments { ${E} }
                      cloud { provider account region arn } }
    ... on System { domain { ${E} } components { ${E} } apis { ${E} } resources { ${E} } }
    ... on Domain { subdomainOf { ${E} } systems { ${E} } }
    ... on Group { type parent { ${E} } children { ${E} } members { ${E} } }
    ... on User { memberOf { ${E} } }
    ... on Template { type scaffolded { ${E} } }
    ... on Pipeline { type repository path url components { ${E} }
                      builds(first: 5) { ref number status conclusion branch startedAt url } }
    ... on Build { status conclusion number branch commit startedAt durationSeconds url
                   pipeline { ${E} } }
    ... on Deployment { status gitRef commit createdAt creator url
                        component { ${E} } environment { ${E} } }
    ... on Environment { type url components { ${E} } }
  }
}
fragment Parents on Group {
  parent { ${E} ... on Group { parent { ${E} ... on Group { parent { ${E} } } } } }
}`;

export async function renderEntity(view, ref, _params, { current }) {
  const { entity } = await gql(QUERY, { ref });
  if (!current()) return;
  if (!entity) {
    view.replaceChildren(h("p", { class: "error", role: "alert" }, `No entity ${ref} in the catalog.`));
    return;
  }
  const kind = entity.ref.slice(0, entity.ref.indexOf(":"));
  view.replaceChildren(
    h(
      "header",
      { class: "entity-head" },
      h("p", { class: "kind" }, entity.kind, entity.type ? ` · ${entity.type}` : "", entity.lifecycle ? ` · ${entity.lifecycle}` : ""),
      h("h1", { id: "entity-title" }, entity.title || entity.name),
      h("p", { class: "ref" }, entity.ref),
      entity.description ? h("p", { class: "description" }, entity.description) : null,
      h(
        "p",
        { class: "actions" },
        h("a", { href: page("graph", entity.ref), class: "button" }, "Graph"),
        kind === "group" ? h("a", { href: page("team", entity.ref), class: "button" }, "Team page") : null,
        viewSource(entity),
      ),
      entity.error ? h("p", { class: "error" }, `The source now has an invalid version: ${entity.error}`) : null,
    ),
    section(
      "About",
      fields([
        ["Owner", entity.owner ? ownerChain(entity.owner) : null],
        ["System", entity.system ? entityLink(entity.system) : null],
        ["Domain", domainOf(entity)],
        ["Part of", entity.subcomponentOf ? entityLink(entity.subcomponentOf) : null],
        ["Template", entity.scaffoldedFrom ? entityLink(entity.scaffoldedFrom) : null],
        ["Tags", entity.tags.length ? h("ul", { class: "inline tags" }, entity.tags.map((t) => h("li", {}, t))) : null],
        ["Links", entity.links.length ? h("ul", {}, entity.links.map((l) => h("li", {}, h("a", { href: l.url, rel: "noopener" }, l.title || l.url)))) : null],
        ...kindRows(entity),
      ]),
    ),
    kind === "component" ? delivery(entity) : null,
    relations(entity.relations),
    provenance(entity),
    annotations(entity.annotations),
  );
}

/** The owner, then the teams above it: "web-team ‹ customer-experience ‹ engineering". */
function ownerChain(owner) {
  const chain = [];
  for (let at = owner; at; at = at.parent) chain.push(entityLink(at));
  return h("span", { id: "owner" }, chain.flatMap((link, i) => (i ? [" ‹ ", link] : [link])));
}

function domainOf(entity) {
  if (entity.domain) return entityLink(entity.domain);
  const domain = entity.system?.domain;
  return domain ? entityLink(domain) : null;
}

function kindRows(entity) {
  const rows = [
    ["APIs provided", "providesApis"], ["APIs consumed", "consumesApis"],
    ["Providers", "providers"], ["Consumers", "consumers"],
    ["Components", "components"], ["APIs", "apis"], ["Resources", "resources"],
    ["Systems", "systems"], ["Sub-domain of", "subdomainOf"],
    ["Parent team", "parent"], ["Sub-teams", "children"], ["Members", "members"],
    ["Member of", "memberOf"], ["Made from it", "scaffolded"],
    ["Environments", "environments"], ["Account", "account"],
    ["Pipeline", "pipeline"], ["Component", "component"], ["Environment", "environment"],
  ];
  const found = rows
    .filter(([, name]) => entity[name] !== undefined && !(entity.kind === "Component" && name === "resources"))
    .map(([label, name]) => [
      label,
      Array.isArray(entity[name])
        ? h("span", { dataset: { field: name } }, entityList(entity[name]))
        : entity[name] && h("span", { dataset: { field: name } }, entityLink(entity[name])),
    ]);
  const plain = ["status", "conclusion", "number", "branch", "gitRef", "commit", "creator", "repository", "path", "definition"]
    .filter((name) => entity[name] !== undefined && entity[name] !== null)
    .map((name) => [name, name === "definition" ? h("pre", { class: "definition" }, entity[name]) : String(entity[name])]);
  const cloud = entity.cloud ? [["Cloud", cloudText(entity.cloud)]] : [];
  const url = entity.url ? [["URL", h("a", { href: entity.url, rel: "noopener" }, entity.url)]] : [];
  return [...found, ...plain, ...cloud, ...url, ["Started", when(entity.startedAt)], ["Created", when(entity.createdAt)]];
}

function cloudText(cloud) {
  return [cloud.provider, cloud.account, cloud.region, cloud.arn].filter(Boolean).join(" · ");
}

/** Pipelines and their latest builds, recent builds, the latest deployment per environment,
 *  and the cloud resources the component runs on. */
function delivery(entity) {
  const latest = new Map(); // deployments come newest first
  for (const deployment of entity.deployments) {
    const key = deployment.environment?.ref || "(no environment)";
    if (!latest.has(key)) latest.set(key, deployment);
  }
  return section(
    "Build and deploy",
    h("h3", {}, "Pipelines"),
    table(
      ["Pipeline", "Type", "Latest build"],
      entity.pipelines.map((p) => [entityLink(p), p.type, p.latestBuild ? buildText(p.latestBuild) : "—"]),
      "pipelines",
    ),
    h("h3", {}, "Latest builds"),
    table(
      ["Build", "Pipeline", "Branch", "Result", "Started"],
      entity.builds.map((b) => [h("a", { href: page("entity", b.ref) }, `#${b.number ?? "?"}`), b.pipeline?.name, b.branch, b.conclusion || b.status, when(b.startedAt)]),
      "builds",
    ),
    h("h3", {}, "Latest deployment per environment"),
    table(
      ["Environment", "Deployment", "Status", "Ref", "When"],
      [...latest.entries()].map(([env, d]) => [d.environment ? entityLink(d.environment) : env, h("a", { href: page("entity", d.ref) }, shortRef(d.ref)), d.status, d.gitRef || d.commit?.slice(0, 12), when(d.createdAt)]),
      "deployments",
    ),
    h("h3", {}, "Cloud resources"),
    table(
      ["Resource", "Where"],
      entity.resources.map((r) => [entityLink(r), r.cloud ? cloudText(r.cloud) : "—"]),
      "resources",
    ),
  );
}

function buildText(build) {
  return h("a", { href: page("entity", build.ref) }, `#${build.number ?? "?"} ${build.conclusion || build.status || ""}`);
}

function table(headings, rows, id) {
  if (rows.length === 0) return h("p", { class: "muted", id }, "none");
  return h(
    "table",
    { id },
    h("thead", {}, h("tr", {}, headings.map((text) => h("th", {}, text)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell ?? "—"))))),
  );
}

/** Every relation, both directions, grouped by type; a missing target is shown as such. */
function relations(all) {
  const byType = new Map();
  for (const relation of all) {
    if (!byType.has(relation.type)) byType.set(relation.type, []);
    byType.get(relation.type).push(relation);
  }
  const types = [...byType.keys()].sort();
  return section(
    "Relations",
    types.length === 0
      ? h("p", { class: "muted" }, "none")
      : h(
          "dl",
          { class: "fields", id: "relations" },
          types.map((type) => [
            h("dt", {}, type),
            h(
              "dd",
              { dataset: { relation: type } },
              h(
                "ul",
                { class: "inline" },
                byType.get(type).map((r) =>
                  h("li", {}, r.target ? entityLink(r.target) : h("span", { class: "dangling", title: "no such entity" }, `${r.targetRef} (missing)`)),
                ),
              ),
            ),
          ]),
        ),
  );
}

function provenance(entity) {
  const run = entity.lastRun;
  return section(
    "Source",
    fields([
      ["Source", entity.source],
      ["Updated", when(entity.updatedAt)],
      ["Location", entity.annotations["backstage.io/managed-by-location"] || null],
      ["Last run", run ? `${run.status} · ${run.trigger} · ${when(run.startedAt)}${run.commit ? ` · ${run.commit.slice(0, 12)}` : ""}` : null],
      ["Run errors", run ? String(run.errorCount) : null],
    ]),
    run && run.errors.length
      ? h("ul", { class: "run-errors" }, run.errors.map((e) => h("li", {}, [e.file, e.entity].filter(Boolean).join(" "), ": ", e.message)))
      : null,
  );
}

function annotations(values) {
  const entries = Object.entries(values || {});
  return section(
    "Annotations",
    entries.length === 0 ? h("p", { class: "muted" }, "none") : fields(entries.map(([key, value]) => [key, String(value)])),
  );
}

/** "View source": the descriptor in its repository when the location is a web address
 *  (backstage.io/view-url, or a git location on an https remote), else the location itself. */
function viewSource(entity) {
  const url = sourceUrl(entity.annotations || {});
  if (url) return h("a", { href: url, class: "button", id: "view-source", rel: "noopener" }, "View source");
  const location = entity.annotations?.["backstage.io/managed-by-location"];
  if (!location) return null;
  return h("details", { class: "source", id: "view-source" }, h("summary", {}, "View source"), h("code", {}, location));
}

export function sourceUrl(annotations) {
  if (annotations["backstage.io/view-url"]) return annotations["backstage.io/view-url"];
  const location = annotations["backstage.io/managed-by-location"] || "";
  if (location.startsWith("url:")) return location.slice(4);
  const git = /^git:(https:\/\/.+?)(?:\.git)?@([0-9a-f]{7,40}):(.+)$/.exec(location);
  return git ? `${git[1]}/blob/${git[2]}/${git[3]}` : null;
}
