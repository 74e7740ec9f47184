// The graph page: an entity's neighbourhood drawn with Cytoscape.js and a left-to-right dagre
// layout. Click a node to re-centre on it, double-click to open its page. Impact mode colours
// what breaks with the entity and lists the owners to call.

import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import { gql } from "./api.js";
import { entityLink, entityPage, h, page } from "./dom.js";
import { FAMILIES, dependencyDrawing, impactDrawing } from "./graph-model.js";
import { layeredPositions } from "./layered.js";

cytoscape.use(dagre);

const E = "ref kind name title";
// Each drawn entity brings the relations the drawing needs: all of them when other families
// are toggled on, else only the dependsOn ones (to show dangling refs), which is much less.
const ALL_RELATIONS = `${E} relations { type targetRef target { ${E} } }`;
const WAY_RELATIONS = `${E} relations(type: $way) { type targetRef target { ref } }`;
const dependenciesQuery = (node, way) => `
query Graph($ref: String!, $direction: Direction!, $depth: Int!${way ? ", $way: String!" : ""}) {
  dependencies(ref: $ref, direction: $direction, maxDepth: $depth) {
    root { ${node} } nodes { ${node} } edges { from to depth }
  }
}`;
// Impact needs dependsOn between affected entities and the APIs they provide and consume.
const IMPACT_NODE = `${E} deps: relations(type: "dependsOn") { targetRef }
  consumes: relations(type: "consumesApi") { targetRef target { ${E} } }
  provides: relations(type: "providesApi") { targetRef }`;
const IMPACT = `
query Impact($ref: String!, $depth: Int!) {
  impact(ref: $ref, maxDepth: $depth) {
    root { ${IMPACT_NODE} }
    affected { distance via entity { ${IMPACT_NODE} } }
    owners { ${E} ... on Group { profile } }
  }
}`;
const DAGRE_MOST = 150; // nodes; larger graphs get the fast layered layout (layered.js)
const CLICK_MS = 250; // a second click within this turns a click into a double-click
const KIND_COLOURS = {
  Component: "#3b6fd4", API: "#2f9e6e", Resource: "#b7791f", System: "#7b4fc9", Domain: "#5a3d99",
  Group: "#c2417a", User: "#d46b8c", Template: "#607080", Pipeline: "#4a8fa8", Build: "#6aa3b8",
  Deployment: "#3d8c8c", Environment: "#2c6e6e", missing: "#ffffff",
};

/** The page's settings, from the address: depth, direction, toggles and mode. */
function settingsOf(params) {
  const depth = Math.min(Math.max(parseInt(params.get("depth") || "3", 10) || 3, 1), 10);
  const direction = params.get("dir") === "up" ? "UPSTREAM" : "DOWNSTREAM";
  const families = new Set((params.get("types") || "dependsOn").split(",").filter((t) => t in FAMILIES));
  return { depth, direction, families, impact: params.get("mode") === "impact" };
}

function paramsOf({ depth, direction, families, impact }) {
  return {
    depth: String(depth),
    dir: direction === "UPSTREAM" ? "up" : "down",
    types: [...families].join(","),
    ...(impact ? { mode: "impact" } : {}),
  };
}

export async function renderGraph(view, ref, params, { current }) {
  const started = performance.now();
  const settings = settingsOf(params);
  const answer = settings.impact ? await impactOf(ref, settings) : await dependenciesOf(ref, settings);
  const fetched = performance.now();
  if (!current()) return;
  if (!answer.root) {
    view.replaceChildren(h("p", { class: "error", role: "alert" }, `No entity ${ref} in the catalog.`));
    return;
  }
  const drawing = settings.impact ? impactDrawing(answer) : dependencyDrawing(answer, settings.families, settings.direction);
  const canvas = h("div", { id: "graph", role: "img", "aria-label": `Graph of ${answer.root.ref}` });
  const status = h("p", { id: "graph-status", class: "muted", "aria-live": "polite" }, "Laying out…");
  const hovered = h("p", { id: "hovered", class: "muted" }, "Point at a node to see its ref.");
  view.replaceChildren(
    h(
      "div",
      { class: "graph-page" },
      h(
        "aside",
        { class: "graph-side" },
        h("h1", {}, answer.root.title || answer.root.name),
        h("p", { class: "ref" }, answer.root.ref, " · ", entityLink({ ...answer.root, title: "open page" })),
        controls(ref, settings),
        status,
        hovered,
        legend(drawing),
        settings.impact ? impactList(answer) : null,
      ),
      canvas,
    ),
  );

  const cy = cytoscape({
    container: canvas,
    elements: [
      ...drawing.nodes.map((data) => ({ data, classes: classesOf(data) })),
      ...drawing.edges.map((data) => ({ data, classes: [data.type, data.cycle ? "cycle" : ""].join(" ") })),
    ],
    style: STYLE,
    layout: { name: "preset" },
    minZoom: 0.05,
    maxZoom: 3,
    // Large graphs stay interactive: draw a bitmap while panning and zooming.
    textureOnViewport: drawing.nodes.length > 200,
    hideEdgesOnViewport: drawing.nodes.length > 200,
    pixelRatio: drawing.nodes.length > 200 ? 1 : "auto",
  });
  window.explorer = { graph: cy };
  await new Promise((resolve) => {
    const layout = cy.layout(layoutOf(drawing, answer.root.ref, settings));
    layout.one("layoutstop", resolve);
    layout.run();
  });
  if (!current()) {
    cy.destroy();
    return;
  }
  const ms = Math.round(performance.now() - started);
  canvas.dataset.renderMs = String(ms);
  canvas.dataset.fetchMs = String(Math.round(fetched - started));
  canvas.dataset.drawMs = String(Math.round(performance.now() - fetched));
  canvas.dataset.nodes = String(drawing.nodes.length);
  canvas.dataset.edges = String(drawing.edges.length);
  status.textContent = `${drawing.nodes.length} nodes, ${drawing.edges.length} edges, drawn in ${ms} ms.`;

  let pending = null;
  cy.on("tap", "node", (event) => {
    const node = event.target;
    if (node.data("dangling")) return;
    clearTimeout(pending);
    pending = setTimeout(() => {
      location.hash = page("graph", node.id(), paramsOf(settings));
    }, CLICK_MS);
  });
  cy.on("dbltap", "node", (event) => {
    clearTimeout(pending);
    if (!event.target.data("dangling")) location.hash = entityPage(event.target.id());
  });
  cy.on("mouseover", "node", (event) => {
    hovered.textContent = event.target.id();
  });
  return () => {
    clearTimeout(pending);
    cy.destroy();
    if (window.explorer?.graph === cy) window.explorer = undefined;
  };
}

async function dependenciesOf(ref, { direction, depth, families }) {
  const variables = { ref, direction, depth };
  if ([...families].every((name) => name === "dependsOn")) {
    variables.way = direction === "UPSTREAM" ? "dependencyOf" : "dependsOn";
    return (await gql(dependenciesQuery(WAY_RELATIONS, true), variables)).dependencies;
  }
  return (await gql(dependenciesQuery(ALL_RELATIONS, false), variables)).dependencies;
}

async function impactOf(ref, { depth }) {
  const { impact } = await gql(IMPACT, { ref, depth });
  const withRelations = (entity) => ({
    ...entity,
    relations: [
      ...entity.deps.map((r) => ({ ...r, type: "dependsOn" })),
      ...entity.consumes.map((r) => ({ ...r, type: "consumesApi" })),
      ...entity.provides.map((r) => ({ ...r, type: "providesApi" })),
    ],
  });
  return {
    ...impact,
    root: impact.root && withRelations(impact.root),
    affected: impact.affected.map((a) => ({ ...a, entity: withRelations(a.entity) })),
  };
}

/** Left to right in the direction of need: dagre for graphs that fit it, else layered.js. */
function layoutOf(drawing, root, settings) {
  if (drawing.nodes.length <= DAGRE_MOST) {
    return { name: "dagre", rankDir: "LR", nodeSep: 14, rankSep: 110, edgeSep: 6, animate: false, fit: true, padding: 20 };
  }
  const ids = drawing.nodes.map((node) => node.id);
  const rootRight = settings.impact || settings.direction === "UPSTREAM";
  const positions = layeredPositions(ids, drawing.edges, root, { rootRight });
  return { name: "preset", positions, animate: false, fit: true, padding: 20 };
}

function classesOf(data) {
  return [
    data.root && "root",
    data.dangling && "dangling",
    data.cycle && "cycle",
    data.affected && "affected",
    data.distance !== undefined && `distance-${Math.min(data.distance, 3)}`,
  ].filter(Boolean).join(" ");
}

/** Depth, direction, mode and relation toggles; each change shows the new graph. */
function controls(ref, settings) {
  const go = (changes) => {
    location.hash = page("graph", ref, paramsOf({ ...settings, ...changes }));
  };
  const toggle = (name) => {
    const families = new Set(settings.families);
    if (families.has(name)) families.delete(name);
    else families.add(name);
    go({ families });
  };
  return h(
    "form",
    { class: "graph-controls", id: "graph-controls", onsubmit: (event) => event.preventDefault() },
    h(
      "label",
      {},
      "Depth ",
      h("input", {
        id: "depth", type: "number", min: 1, max: 10, value: settings.depth,
        onchange: (event) => go({ depth: parseInt(event.target.value, 10) || 1 }),
      }),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Show"),
      h("label", {}, h("input", { type: "radio", name: "mode", id: "mode-graph", checked: !settings.impact, onchange: () => go({ impact: false }) }), " dependencies"),
      h("label", {}, h("input", { type: "radio", name: "mode", id: "mode-impact", checked: settings.impact, onchange: () => go({ impact: true }) }), " impact: what breaks with it"),
    ),
    h(
      "fieldset",
      { disabled: settings.impact },
      h("legend", {}, "Direction"),
      h("label", {}, h("input", { type: "radio", name: "dir", id: "dir-down", checked: settings.direction === "DOWNSTREAM", onchange: () => go({ direction: "DOWNSTREAM" }) }), " what it needs"),
      h("label", {}, h("input", { type: "radio", name: "dir", id: "dir-up", checked: settings.direction === "UPSTREAM", onchange: () => go({ direction: "UPSTREAM" }) }), " what needs it"),
    ),
    h(
      "fieldset",
      { disabled: settings.impact },
      h("legend", {}, "Relations"),
      Object.entries(FAMILIES).map(([name, { label }]) =>
        h("label", {}, h("input", { type: "checkbox", id: `type-${name}`, checked: settings.families.has(name), onchange: () => toggle(name) }), ` ${label}`),
      ),
    ),
  );
}

function legend(drawing) {
  const cycles = drawing.edges.filter((e) => e.cycle).length;
  const dangling = drawing.nodes.filter((n) => n.dangling).length;
  return h(
    "ul",
    { class: "legend", id: "legend" },
    h("li", {}, h("span", { class: "swatch root" }), "the entity"),
    h("li", { id: "cycle-count" }, h("span", { class: "swatch cycle" }), `${cycles} edge${cycles === 1 ? "" : "s"} on a dependency cycle`),
    h("li", { id: "dangling-count" }, h("span", { class: "swatch dangling" }), `${dangling} missing ref${dangling === 1 ? "" : "s"} (no such entity)`),
  );
}

/** Impact mode: the owners to call, then what breaks, nearest first. */
function impactList(impact) {
  const affected = [...impact.affected].sort((a, b) => a.distance - b.distance || a.entity.ref.localeCompare(b.entity.ref));
  return h(
    "div",
    { class: "impact" },
    h("h2", {}, `Owners to call (${impact.owners.length})`),
    h(
      "ul",
      { id: "owners" },
      impact.owners.map((owner) =>
        h(
          "li",
          { dataset: { ref: owner.ref } },
          entityLink(owner),
          owner.profile?.email ? h("span", { class: "muted" }, " ", h("a", { href: `mailto:${owner.profile.email}` }, owner.profile.email)) : null,
        ),
      ),
    ),
    h("h2", {}, `What breaks (${affected.length})`),
    h(
      "ol",
      { id: "affected" },
      affected.map(({ entity, distance, via }) => h("li", { dataset: { ref: entity.ref } }, entityLink(entity), h("span", { class: "muted" }, ` ${distance} away, ${via}`))),
    ),
  );
}

const STYLE = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      "font-size": 11,
      "min-zoomed-font-size": 6,
      "text-valign": "bottom",
      "text-margin-y": 3,
      color: "#1d2330",
      width: 18,
      height: 18,
      "background-color": "#8894a8",
      "border-width": 1,
      "border-color": "#ffffff",
    },
  },
  ...Object.entries(KIND_COLOURS).map(([kind, colour]) => ({
    selector: `node[kind = "${kind}"]`,
    style: { "background-color": colour },
  })),
  { selector: "node.root", style: { width: 28, height: 28, "border-width": 4, "border-color": "#111827", "font-weight": "bold" } },
  { selector: "node.dangling", style: { "border-width": 2, "border-style": "dashed", "border-color": "#c53030", color: "#c53030", shape: "round-rectangle" } },
  { selector: "node.cycle", style: { "border-width": 3, "border-color": "#dd6b20" } },
  { selector: "node.affected", style: { "background-color": "#e53e3e" } },
  { selector: "node.affected.distance-2", style: { "background-color": "#f56565" } },
  { selector: "node.affected.distance-3", style: { "background-color": "#fc8181" } },
  { selector: "node.root.distance-0", style: { "background-color": "#9b2c2c" } },
  {
    selector: "edge",
    style: {
      width: 1.5,
      "curve-style": "bezier",
      "target-arrow-shape": "triangle",
      "arrow-scale": 0.8,
      "line-color": "#9aa5b8",
      "target-arrow-color": "#9aa5b8",
    },
  },
  { selector: "edge.consumesApi, edge.providesApi", style: { "line-color": "#2f9e6e", "target-arrow-color": "#2f9e6e", "line-style": "dashed" } },
  { selector: "edge.ownedBy", style: { "line-color": "#c2417a", "target-arrow-color": "#c2417a", "line-style": "dotted" } },
  { selector: "edge.partOf", style: { "line-color": "#7b4fc9", "target-arrow-color": "#7b4fc9", "line-style": "dotted" } },
  { selector: "edge.cycle", style: { "line-color": "#dd6b20", "target-arrow-color": "#dd6b20", width: 3 } },
];
