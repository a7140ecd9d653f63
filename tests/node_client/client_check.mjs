// The real oso-cloud Node client (2.6.0, pinned in package-lock.json) against an oso_server.
// Run by tests/test_server_node_client.py as `node client_check.mjs` with OSO_URL and OSO_AUTH set.
// Each check that fails throws; the script prints "ok: N checks" and exits 0 only when all pass.
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Oso } = require("oso-cloud");
const { version } = require("oso-cloud/package.json");

const POLICY = `
actor User {}
resource Org { roles = ["member"]; }
resource Repo {
  roles = ["reader", "maintainer"];
  permissions = ["read", "push"];
  relations = { parent: Org };
  "reader" if "member" on "parent";
  "read" if "reader";
  "push" if "maintainer";
  "reader" if "maintainer";
  "read" if is_public(resource, true);
}
declare is_public(Repo, Boolean);
`;

const user = (id) => ({ type: "User", id });
const repo = (id) => ({ type: "Repo", id });
const org = (id) => ({ type: "Org", id });
const sorted = (xs) => [...xs].sort();
// `get` answers [predicate, {type, id}, ...]: compare them as Polar-ish strings, order-free.
const shown = (facts) => sorted(facts.map(([p, ...args]) => `${p}(${args.map((a) => `${a.type}:${a.id}`).join(",")})`));

let checks = 0;
async function check(name, body) {
  try {
    await body();
  } catch (error) {
    error.message = `${name}: ${error.message}`;
    throw error;
  }
  checks += 1;
}

const oso = new Oso(process.env.OSO_URL, process.env.OSO_AUTH);
assert.equal(version, "2.6.0");

await check("clear data (the internal api, as the Python client's api.clear_data)", () => oso.api.clearData());
await check("policy", () => oso.policy(POLICY));
await check("policy metadata", async () => {
  const metadata = await oso.getPolicyMetadata();
  assert.deepEqual(sorted(metadata.resources.Repo.permissions), ["push", "read"]);
});

await check("insert", async () => {
  await oso.insert(["has_role", user("alice"), "maintainer", repo("anvil")]);
  await oso.insert(["has_role", user("bob"), "member", org("acme")]);
  await oso.insert(["has_relation", repo("forge"), "parent", org("acme")]);
  await oso.insert(["is_public", repo("open"), true]);
});

await check("batch (inserts and deletes, in order)", () => oso.batch((tx) => {
  tx.insert(["has_role", user("carol"), "reader", repo("anvil")]);
  tx.insert(["has_role", user("dave"), "reader", repo("anvil")]);
  tx.delete(["has_role", user("dave"), "reader", repo("anvil")]);
}));

await check("get with wildcards", async () => {
  assert.deepEqual(shown(await oso.get(["has_role", null, null, repo("anvil")])), [
    "has_role(User:alice,String:maintainer,Repo:anvil)",
    "has_role(User:carol,String:reader,Repo:anvil)",
  ]);
  assert.deepEqual(shown(await oso.get(["has_role", user("bob"), null, { type: "Org" }])), [
    "has_role(User:bob,String:member,Org:acme)",
  ]);
  assert.deepEqual(await oso.get(["has_role", user("dave"), null, null]), []);
  assert.deepEqual(shown(await oso.get(["is_public", null, true])), ["is_public(Repo:open,Boolean:true)"]);
});

await check("authorize", async () => {
  assert.equal(await oso.authorize(user("alice"), "push", repo("anvil")), true);
  assert.equal(await oso.authorize(user("carol"), "push", repo("anvil")), false);
  assert.equal(await oso.authorize(user("bob"), "read", repo("forge")), true);  // through the relation
  assert.equal(await oso.authorize(user("zed"), "read", repo("open")), true);
  assert.equal(await oso.authorize(user("zed"), "read", repo("anvil")), false);
});

await check("authorize with context facts", async () => {
  const context = [["has_role", user("zed"), "maintainer", repo("anvil")]];
  assert.equal(await oso.authorize(user("zed"), "push", repo("anvil"), context), true);
  assert.equal(await oso.authorize(user("zed"), "push", repo("anvil"), { contextFacts: context }), true);
  assert.equal(await oso.authorize(user("zed"), "push", repo("anvil")), false);  // not stored
});

await check("list", async () => {
  assert.deepEqual(sorted(await oso.list(user("alice"), "read", "Repo")), ["anvil", "open"]);
  assert.deepEqual(sorted(await oso.list(user("bob"), "read", "Repo")), ["forge", "open"]);
  assert.deepEqual(sorted(await oso.list(user("zed"), "push", "Repo",
    [["has_role", user("zed"), "maintainer", repo("tmp")]])), ["tmp"]);
  const page = await oso.listPaginated(user("alice"), "read", "Repo", 10000);
  assert.deepEqual(sorted(page.results), ["anvil", "open"]);
  assert.equal(page.nextPageToken, null);
});

await check("actions", async () => {
  assert.deepEqual(sorted(await oso.actions(user("alice"), repo("anvil"))), ["push", "read"]);
  assert.deepEqual(await oso.actions(user("carol"), repo("anvil")), ["read"]);
  assert.deepEqual(await oso.actions(user("zed"), repo("anvil")), []);
});

await check("delete, with a wildcard", async () => {
  await oso.delete(["has_role", user("alice"), "maintainer", repo("anvil")]);
  assert.equal(await oso.authorize(user("alice"), "push", repo("anvil")), false);
  await oso.delete(["has_role", null, null, { type: "Repo" }]);
  assert.deepEqual(await oso.get(["has_role", null, null, repo("anvil")]), []);
  assert.deepEqual(shown(await oso.get(["has_role", null, null, null])), ["has_role(User:bob,String:member,Org:acme)"]);
  await oso.delete(["has_role", user("nobody"), "reader", repo("anvil")]);  // nothing to delete: no error
});

await check("a server error reaches the caller with its status and message", async () => {
  await assert.rejects(oso.insert(["no_such_predicate", user("alice")]), (error) => {
    assert.equal(error.statusCode, 400);
    assert.match(error.message, /no_such_predicate/);
    assert.match(error.message, /Request ID: [0-9a-f-]+/);
    return true;
  });
  assert.deepEqual(await oso.get(["has_role", null, null, null]).then(shown), ["has_role(User:bob,String:member,Org:acme)"]);
});

await check("a wrong key is refused", async () => {
  const stranger = new Oso(process.env.OSO_URL, "not-a-key");
  await assert.rejects(stranger.authorize(user("alice"), "read", repo("anvil")), (error) => {
    assert.equal(error.statusCode, 401);
    return true;
  });
});

console.log(`ok: ${checks} checks`);
