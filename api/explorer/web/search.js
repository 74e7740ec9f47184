// Search: one box, search-as-you-type over the ranked full-text search, facets as filters,
// cursor paging. Keyboard: "/" focuses the box, ↓/↑ walk the results, Enter opens, Esc returns.

import { gql } from "./api.js";
import { entityLink, entityPage, h, shortRef } from "./dom.js";

const PAGE_SIZE = 20;
const DEBOUNCE_MS = 120;
// [facet field, filter argument, label]
const FACETS = [
  ["kind", "kind", "Kind"],
  ["spec.type", "type", "Type"],
  ["spec.lifecycle", "lifecycle", "Lifecycle"],
  ["owner", "owner", "Owner"],
  ["metadata.tags", "tag", "Tags"],
];
const FILTERS = FACETS.map(([, argument]) => argument);

const QUERY = `
query Search($search: String, $kind: [String!], $type: String, $lifecycle: String,
             $owner: String, $tag: String, $first: Int, $after: String) {
  entities(search: $search, kind: $kind, type: $type, lifecycle: $lifecycle, owner: $owner,
           tag: $tag, first: $first, after: $after) {
    totalCount
    edges { node {
      ref kind name title description
      owner { ref name title }
      ... on Component { type lifecycle }
      ... on API { type lifecycle }
      ... on Resource { type }
    } }
    pageInfo { hasNextPage endCursor }
  }
  entityFacets(fields: ["kind", "spec.type", "spec.lifecycle", "owner", "metadata.tags"],
               search: $search, kind: $kind, type: $type, lifecycle: $lifecycle,
               owner: $owner, tag: $tag) {
    field values { value count }
  }
}`;

export async function renderSearch(view, _ref, params, { current }) {
  const state = {
    q: params.get("q") || "",
    filters: Object.fromEntries(FILTERS.filter((f) => params.get(f)).map((f) => [f, params.get(f)])),
    cursors: [], // the `after` of each page before this one
    after: null,
  };
  const box = h("input", {
    id: "q",
    type: "search",
    value: state.q,
    placeholder: "Search names, titles, descriptions and tags",
    "aria-label": "Search the catalog",
    "aria-controls": "results",
    autocomplete: "off",
  });
  const chips = h("div", { class: "chips", "aria-label": "Filters" });
  const facets = h("aside", { class: "facets", "aria-label": "Facets" });
  const summary = h("p", { class: "muted", id: "summary", "aria-live": "polite" });
  const results = h("ol", { id: "results", class: "results" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  view.replaceChildren(
    h("h1", { class: "visually-hidden" }, "Search"),
    box,
    chips,
    h("div", { class: "search" }, facets, h("div", {}, summary, results, pager)),
  );

  let asked = 0;
  async function load() {
    const mine = ++asked;
    remember(state);
    const data = await gql(QUERY, {
      search: state.q.trim() || null,
      ...state.filters,
      first: PAGE_SIZE,
      after: state.after,
    });
    if (mine !== asked || !current()) return;
    draw(data);
  }

  function reload() {
    state.cursors = [];
    state.after = null;
    load().catch(fail);
  }

  function fail(error) {
    if (!current()) return;
    summary.replaceChildren(h("span", { class: "error", role: "alert" }, error.message));
  }

  function draw({ entities, entityFacets }) {
    const first = state.cursors.length * PAGE_SIZE;
    const count = entities.edges.length;
    summary.textContent =
      entities.totalCount === 0
        ? "Nothing matches."
        : `${first + 1}–${first + count} of ${entities.totalCount}`;
    results.replaceChildren(...entities.edges.map(({ node }) => result(node)));
    chips.replaceChildren(
      ...Object.entries(state.filters).map(([name, value]) =>
        h(
          "button",
          { type: "button", class: "chip", title: "Remove this filter", onclick: () => setFilter(name, null) },
          `${name}: ${shortRef(value)} ×`,
        ),
      ),
    );
    facets.replaceChildren(...entityFacets.map(facet));
    pager.replaceChildren(
      h("button", { type: "button", disabled: state.cursors.length === 0, onclick: previous }, "← Previous"),
      h("button", { type: "button", disabled: !entities.pageInfo.hasNextPage, onclick: () => next(entities.pageInfo.endCursor) }, "Next →"),
    );
  }

  function facet({ field, values }) {
    const [, argument, label] = FACETS.find(([name]) => name === field);
    const chosen = state.filters[argument];
    return h(
      "section",
      {},
      h("h2", {}, label),
      h(
        "ul",
        {},
        values.slice(0, 12).map(({ value, count }) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: value === chosen ? "facet chosen" : "facet",
                "aria-pressed": String(value === chosen),
                onclick: () => setFilter(argument, value === chosen ? null : value),
              },
              shortRef(value),
              h("span", { class: "count" }, count),
            ),
          ),
        ),
      ),
    );
  }

  function setFilter(name, value) {
    if (value === null) delete state.filters[name];
    else state.filters[name] = value;
    reload();
  }

  function next(cursor) {
    state.cursors.push(state.after);
    state.after = cursor;
    load().catch(fail);
  }

  function previous() {
    state.after = state.cursors.pop() ?? null;
    load().catch(fail);
  }

  let timer = null;
  box.addEventListener("input", () => {
    state.q = box.value;
    clearTimeout(timer);
    timer = setTimeout(reload, DEBOUNCE_MS);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      results.querySelector("a.result")?.focus();
    } else if (event.key === "Enter") {
      const first = results.querySelector("a.result");
      if (first) location.hash = first.getAttribute("href");
    }
  });
  results.addEventListener("keydown", (event) => {
    const links = [...results.querySelectorAll("a.result")];
    const at = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at < links.length - 1) links[at + 1].focus();
    else if (event.key === "ArrowUp") (at > 0 ? links[at - 1] : box).focus();
    else if (event.key === "Escape") box.focus();
    else return;
    event.preventDefault();
  });

  await load();
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
  return () => clearTimeout(timer);
}

function result(node) {
  const facts = [node.kind, node.type, node.lifecycle].filter(Boolean).join(" · ");
  return h(
    "li",
    {},
    h(
      "a",
      { class: "result", href: entityPage(node.ref), dataset: { ref: node.ref } },
      h("span", { class: "title" }, node.title || node.name),
      h("span", { class: "ref" }, node.ref),
      h("span", { class: "facts" }, facts),
      node.description ? h("span", { class: "description" }, node.description) : null,
    ),
    node.owner ? h("span", { class: "owner" }, "owner ", entityLink(node.owner)) : null,
  );
}

/** Keep the search in the address (without a reload), so it can be shared and comes back. */
function remember(state) {
  const params = new URLSearchParams({ ...(state.q ? { q: state.q } : {}), ...state.filters });
  const query = params.toString();
  history.replaceState(null, "", query ? `#/search?${query}` : "#/");
}
