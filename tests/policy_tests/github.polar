# An example policy with tests beside it (github.polar-test.yaml): organizations own
# repositories, and roles on an organization imply roles on its repositories.

actor User {}

resource Organization {
  roles = ["owner", "member"];
  permissions = ["read", "add_member"];

  "read" if "member";
  "add_member" if "owner";
  "member" if "owner";
}

resource Repository {
  roles = ["reader", "maintainer"];
  permissions = ["read", "push", "delete"];
  relations = { parent: Organization };

  "read" if "reader";
  "push" if "maintainer";
  "delete" if "owner" on "parent";

  "reader" if "maintainer";
  "reader" if "member" on "parent";
}

has_relation(org: Organization, "parent", repo: Repository) if
  repo.organization = org;

has_role(user: User, name: String, resource: Resource) if
  role in user.roles and
  role.name = name and
  role.resource = resource;

allow(actor, action, resource) if
  has_permission(actor, action, resource);

# Public repositories can be read by anyone.
has_permission(_: User, "read", repo: Repository) if
  repo.is_public;
