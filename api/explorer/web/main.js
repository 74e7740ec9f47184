// The explorer's shell: a hash router over four pages, and the token field.
// Routes: #/ (search, #/search?q=…), #/entity/<ref>, #/team/<ref>, #/graph/<ref>?depth=…

import { Unauthorized, setToken, token } from "./api.js";
import { h } from "./dom.js";
import { renderEntity } from "./entity.js";
import { renderGraph } from "./graph.js";
import { renderSearch } from "./search.js";
import { renderTeam } from "./team.js";

const PAGES = { search: renderSearch, entity: renderEntity, team: renderTeam, graph: renderGraph };
const view = document.getElementById("view");
const tokenField = document.getElementById("token");
let shown = 0; // increases with every route shown; an answer for an older one is dropped
let leave = null; // what the page shown asks to run when another is shown

/** "#/entity/component%3Adefault%2Fx?depth=2" -> {name: "entity", ref, params} */
function route(hash) {
  const [path, query = ""] = hash.replace(/^#\/?/, "").split("?");
  const [name = "", ...rest] = path.split("/");
  return {
    name: name || "search",
    ref: decodeURIComponent(rest.join("/")),
    params: new URLSearchParams(query),
  };
}

async function show() {
  const { name, ref, params } = route(location.hash);
  const render = PAGES[name];
  const mine = ++shown;
  leave?.();
  leave = null;
  document.body.dataset.page = name;
  document.body.dataset.state = "loading";
  if (!render) {
    view.replaceChildren(h("p", { class: "error", role: "alert" }, `No page called "${name}".`));
    return;
  }
  const started = performance.now();
  try {
    leave = await render(view, ref, params, { current: () => mine === shown });
    if (mine !== shown) return;
    document.body.dataset.state = "ready";
    document.body.dataset.loadMs = String(Math.round(performance.now() - started));
  } catch (error) {
    if (mine !== shown) return;
    document.body.dataset.state = "error";
    if (error instanceof Unauthorized) askForToken(error.message);
    else view.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
  }
}

/** The API said 401: say so, and point at the token field. */
function askForToken(message) {
  const had = token() !== "";
  view.replaceChildren(
    h(
      "div",
      { class: "prompt", role: "alert", id: "token-prompt" },
      h("h1", {}, had ? "That token was not accepted" : "This catalog needs a token"),
      h("p", {}, `The API answered 401 (${message}).`),
      h(
        "p",
        {},
        "Paste a bearer token (a reader token is enough) into the Token field above and press ",
        h("strong", {}, "Use token"),
        ". It is kept in this browser tab only (sessionStorage) and sent as the Authorization header.",
      ),
    ),
  );
  tokenField.focus();
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setToken(tokenField.value);
  tokenField.value = "";
  tokenField.placeholder = token() ? "token set (this tab)" : "sg_… or a JWT";
  show();
});
document.getElementById("token-forget").addEventListener("click", () => {
  setToken("");
  tokenField.placeholder = "sg_… or a JWT";
  show();
});
if (token()) tokenField.placeholder = "token set (this tab)";

// "/" focuses the search box (or opens search) unless the user is typing somewhere.
document.addEventListener("keydown", (event) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || "");
  if (event.key !== "/" || typing || event.ctrlKey || event.metaKey || event.altKey) return;
  event.preventDefault();
  const box = document.getElementById("q");
  if (box) box.focus();
  else location.hash = "#/";
});

window.addEventListener("hashchange", show);
show();
