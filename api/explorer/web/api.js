// The explorer's one way to the data: POST /graphql, with the token kept in sessionStorage.

const TOKEN_KEY = "stagegraph.token";

/** The API answered 401: the page needs (another) token. */
export class Unauthorized extends Error {}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

/** Keep a token for this tab ("Bearer " in front is taken off); an empty one forgets it. */
export function setToken(value) {
  const bare = value.trim().replace(/^Bearer\s+/i, "");
  if (bare) sessionStorage.setItem(TOKEN_KEY, bare);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Run a GraphQL operation; returns `data`, throws Unauthorized on 401 and Error on errors. */
export async function gql(query, variables = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch("/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json().catch(() => ({}));
  const messages = (body.errors || []).map((error) => error.message);
  if (response.status === 401) throw new Unauthorized(messages.join("; ") || "a token is needed");
  if (messages.length > 0) throw new Error(messages.join("; "));
  if (!response.ok) throw new Error(`the API answered HTTP ${response.status}`);
  return body.data;
}
