// A fast layered layout for large graphs (dagre's crossing minimisation takes seconds past a
// few hundred nodes): a column per distance from the root, nodes in a column ordered by the
// mean place of their neighbours in the column before, tall columns wrapped.

const COLUMN_GAP = 220;
const ROW_GAP = 34;
const WRAP = 40; // most nodes in one sub-column
const WRAP_GAP = 70;

/** Positions {id: {x, y}} for `nodes` (ids) and `edges` ({source, target}); the root's column
 *  is the left one, or the right one when `rootRight` (for graphs of what needs the root). */
export function layeredPositions(nodes, edges, root, { rootRight = false } = {}) {
  const near = new Map(nodes.map((id) => [id, []]));
  for (const { source, target } of edges) {
    near.get(source)?.push(target);
    near.get(target)?.push(source);
  }
  const rank = new Map([[root, 0]]);
  const queue = [root];
  for (let i = 0; i < queue.length; i += 1) {
    for (const next of near.get(queue[i]) || []) {
      if (!rank.has(next)) {
        rank.set(next, rank.get(queue[i]) + 1);
        queue.push(next);
      }
    }
  }
  const last = Math.max(...rank.values()) + 1;
  for (const id of nodes) if (!rank.has(id)) rank.set(id, last); // not connected to the root
  const columns = [];
  for (const id of nodes) (columns[rank.get(id)] ||= []).push(id);

  const place = new Map();
  const positions = {};
  let x = 0;
  columns.forEach((column = [], r) => {
    if (r > 0) {
      const weight = (id) => {
        const before = near.get(id).filter((n) => rank.get(n) === r - 1).map((n) => place.get(n));
        return before.length ? before.reduce((a, b) => a + b, 0) / before.length : Infinity;
      };
      const weights = new Map(column.map((id) => [id, weight(id)]));
      column.sort((a, b) => weights.get(a) - weights.get(b) || a.localeCompare(b));
    }
    const wraps = Math.ceil(column.length / WRAP);
    const rows = Math.ceil(column.length / wraps);
    column.forEach((id, i) => {
      place.set(id, i);
      const sub = Math.floor(i / rows);
      positions[id] = { x: x + sub * WRAP_GAP, y: (i % rows - (rows - 1) / 2) * ROW_GAP + sub * (ROW_GAP / wraps) };
    });
    x += COLUMN_GAP + (wraps - 1) * WRAP_GAP;
  });
  if (rootRight) for (const p of Object.values(positions)) p.x = -p.x;
  return positions;
}
