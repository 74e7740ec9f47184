// From API answers to the nodes and edges the graph page draws (pure: no DOM, no requests).
// Every edge reads in the direction of need, so a left-to-right layout reads "needs":
// a dependsOn edge goes from the dependent to its dependency, an API edge from the consumer to
// the API and from the API to its provider.

/** The relation types each toggle draws. dependsOn comes from the `dependencies` walk itself. */
export const FAMILIES = {
  dependsOn: { label: "dependsOn", types: [] },
  apis: { label: "API provide/consume", types: ["providesApi", "consumesApi", "apiProvidedBy", "apiConsumedBy"] },
  ownership: { label: "ownership", types: ["ownedBy"] },
  partOf: { label: "partOf", types: ["partOf", "hasPart"] },
  ci: {
    label: "CI/deployment",
    types: ["builtBy", "builds", "runOf", "hasRun", "deploys", "deployedBy", "deployedTo", "hosts"],
  },
};

// inverse type -> forward type (catalog/relations.py)
const FORWARD = {
  ownerOf: "ownedBy", dependencyOf: "dependsOn", apiProvidedBy: "providesApi",
  apiConsumedBy: "consumesApi", hasPart: "partOf", hasMember: "memberOf", parentOf: "childOf",
  scaffolderOf: "scaffoldedFrom", builds: "builtBy", hasRun: "runOf", deployedBy: "deploys",
  hosts: "deployedTo",
};
const AGAINST_NEED = new Set(["providesApi"]); // provider -> API is drawn API -> provider

/** The edge for relation `type` seen from `ref` towards `other`, in the direction of need. */
export function relationEdge(ref, type, other) {
  const forward = FORWARD[type] || type;
  let [source, target] = FORWARD[type] ? [other, ref] : [ref, other];
  if (AGAINST_NEED.has(forward)) [source, target] = [target, source];
  return { id: `${source}|${forward}|${target}`, source, target, type: forward };
}

class Drawing {
  constructor() {
    this.nodes = new Map();
    this.edges = new Map();
  }

  node(entity, extra = {}) {
    const known = this.nodes.get(entity.ref);
    if (known) Object.assign(known, extra);
    else this.nodes.set(entity.ref, { id: entity.ref, label: entity.title || entity.name, kind: entity.kind, ...extra });
  }

  /** A ref that names no entity: drawn, and marked as such. */
  dangling(ref) {
    if (!this.nodes.has(ref)) this.nodes.set(ref, { id: ref, label: `${ref} (missing)`, kind: "missing", dangling: true });
  }

  edge(edge) {
    this.edges.set(edge.id, edge);
  }

  /** The relations of `entity` of the given types, with the entities at their other ends. */
  relations(entity, types) {
    for (const relation of entity.relations || []) {
      if (!types.has(relation.type)) continue;
      if (relation.target) this.node(relation.target);
      else this.dangling(relation.targetRef);
      this.edge(relationEdge(entity.ref, relation.type, relation.targetRef));
    }
  }

  done() {
    markCycles(this);
    return { nodes: [...this.nodes.values()], edges: [...this.edges.values()] };
  }
}

/** The dependency walk (`dependencies`): its root, nodes and edges exactly, plus, for each
 *  drawn entity, its direct relations of the other toggled families. */
export function dependencyDrawing(graph, families, direction) {
  const drawing = new Drawing();
  const root = graph.root;
  drawing.node(root, { root: true });
  const walked = families.has("dependsOn") ? graph.nodes : [];
  for (const node of walked) drawing.node(node);
  if (families.has("dependsOn")) {
    for (const { from, to } of graph.edges) drawing.edge({ id: `${from}|dependsOn|${to}`, source: from, target: to, type: "dependsOn" });
    // dependsOn refs that name no entity, where the walk would have gone on
    const way = direction === "UPSTREAM" ? "dependencyOf" : "dependsOn";
    for (const entity of [root, ...walked]) {
      for (const relation of entity.relations || []) {
        if (relation.type === way && !relation.target) {
          drawing.dangling(relation.targetRef);
          drawing.edge(relationEdge(entity.ref, way, relation.targetRef));
        }
      }
    }
  }
  const types = new Set([...families].flatMap((name) => FAMILIES[name]?.types || []));
  if (types.size > 0) for (const entity of [root, ...walked]) drawing.relations(entity, types);
  return drawing.done();
}

/** What breaks with the root (`impact`): the root and every affected entity (with its
 *  distance), the dependsOn edges between them, and the APIs through which a consumer is hit. */
export function impactDrawing(impact) {
  const drawing = new Drawing();
  const entities = [impact.root, ...impact.affected.map((a) => a.entity)];
  const inside = new Set(entities.map((e) => e.ref));
  drawing.node(impact.root, { root: true, distance: 0 });
  for (const { entity, distance, via } of impact.affected) drawing.node(entity, { affected: true, distance, via });
  const providers = new Map(); // API ref -> providers inside
  for (const entity of entities) {
    for (const r of entity.relations || []) {
      if (r.type !== "providesApi") continue;
      if (!providers.has(r.targetRef)) providers.set(r.targetRef, []);
      providers.get(r.targetRef).push(entity.ref);
    }
  }
  for (const entity of entities) {
    for (const r of entity.relations || []) {
      if (r.type === "dependsOn" && inside.has(r.targetRef)) drawing.edge(relationEdge(entity.ref, r.type, r.targetRef));
      if (r.type === "consumesApi" && providers.has(r.targetRef) && r.target) {
        drawing.node(r.target, { affected: true, api: true });
        drawing.edge(relationEdge(entity.ref, r.type, r.targetRef));
        for (const provider of providers.get(r.targetRef)) drawing.edge(relationEdge(provider, "providesApi", r.targetRef));
      }
    }
  }
  return drawing.done();
}

/** Mark the dependsOn edges that lie on a cycle (both ends in one strongly connected
 *  component, or a self-loop), and their nodes (Tarjan's algorithm, iterative). */
export function markCycles(drawing) {
  const next = new Map();
  for (const edge of drawing.edges.values()) {
    if (edge.type !== "dependsOn") continue;
    if (!next.has(edge.source)) next.set(edge.source, []);
    next.get(edge.source).push(edge.target);
  }
  const index = new Map();
  const low = new Map();
  const component = new Map();
  const stack = [];
  const onStack = new Set();
  let counter = 0;
  for (const start of next.keys()) {
    if (index.has(start)) continue;
    const work = [[start, 0]];
    index.set(start, counter); low.set(start, counter); counter += 1;
    stack.push(start); onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [at, i] = frame;
      const targets = next.get(at) || [];
      if (i < targets.length) {
        frame[1] += 1;
        const to = targets[i];
        if (!index.has(to)) {
          index.set(to, counter); low.set(to, counter); counter += 1;
          stack.push(to); onStack.add(to);
          work.push([to, 0]);
        } else if (onStack.has(to)) low.set(at, Math.min(low.get(at), index.get(to)));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(at)));
      }
      if (low.get(at) === index.get(at)) {
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          component.set(member, at);
        } while (member !== at);
      }
    }
  }
  const size = new Map();
  for (const id of component.values()) size.set(id, (size.get(id) || 0) + 1);
  for (const edge of drawing.edges.values()) {
    if (edge.type !== "dependsOn") continue;
    const c = component.get(edge.source);
    if (edge.source === edge.target || (c !== undefined && c === component.get(edge.target) && size.get(c) > 1)) {
      edge.cycle = true;
      drawing.nodes.get(edge.source).cycle = true;
      drawing.nodes.get(edge.target).cycle = true;
    }
  }
}
