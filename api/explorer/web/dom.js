// Small DOM helpers: build elements, link to pages, show refs and errors.

/** h("a", {href: "#/"}, "text", child...): an element; null and false children are skipped. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** The hash route of a page: page("entity", "component:default/x") -> "#/entity/component%3A…". */
export function page(name, ref, params = {}) {
  const query = new URLSearchParams(params).toString();
  return `#/${name}/${encodeURIComponent(ref)}${query ? `?${query}` : ""}`;
}

/** The page an entity opens on: a team page for groups, else the entity page. */
export function entityPage(ref) {
  return page(ref.startsWith("group:") ? "team" : "entity", ref);
}

/** A link to an entity's page, labelled by its title or name (the ref as a tooltip). */
export function entityLink(entity) {
  if (!entity) return h("span", { class: "muted" }, "—");
  const label = entity.title || entity.name || shortRef(entity.ref);
  return h("a", { href: entityPage(entity.ref), title: entity.ref, class: "entity" }, label);
}

/** A list of entity links, or a dash. */
export function entityList(entities) {
  if (!entities || entities.length === 0) return h("span", { class: "muted" }, "none");
  return h("ul", { class: "inline" }, entities.map((entity) => h("li", {}, entityLink(entity))));
}

/** "component:default/x" -> "component:x" (the default namespace left out). */
export function shortRef(ref) {
  return ref.replace(/^([^:]+):default\//, "$1:");
}

export function kindOf(ref) {
  return ref.slice(0, ref.indexOf(":"));
}

/** A definition list of [label, value] rows; rows whose value is null are left out. */
export function fields(rows) {
  const items = rows.filter(([, value]) => value !== null && value !== undefined && value !== "");
  return h("dl", { class: "fields" }, items.map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]));
}

export function section(title, ...children) {
  return h("section", {}, h("h2", {}, title), ...children);
}

export function when(value) {
  return value ? new Date(value).toLocaleString() : null;
}
