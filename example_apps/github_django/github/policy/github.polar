# Who may do what in the GitHub-like example project (loaded by django_oso at start-up: every
# *.polar file in an installed app's policy/ folder).
#
# Roles are rows: `github::OrgRole` says who is a member or owner of an organization,
# `github::RepoRole` who is a reader, maintainer or admin of a repository. Roles on an
# organization carry over to its repositories, and access to a repository to its issues.
#
# The same rules answer both questions the views ask:
#   * "may bob close issue 3?"        (detail and write views: one object)
#   * "which issues may bob read?"    (list views: data filtering, one SQL query)

actor auth::User {}

resource github::Org {
  roles = ["member", "owner"];
  permissions = ["read", "create_repo"];

  "read" if "member";
  "create_repo" if "owner";

  # Owners are members too.
  "member" if "owner";
}

resource github::Repo {
  roles = ["reader", "maintainer", "admin"];
  permissions = ["read", "create_issue", "delete"];
  relations = { parent: github::Org };

  "read" if "reader";
  "delete" if "admin";
  # Whoever can see a repository can open issues on it (public repositories included).
  "create_issue" if "read";

  # Each role includes the ones below it.
  "maintainer" if "admin";
  "reader" if "maintainer";

  # Organization members read every repository of the organization; owners administer them.
  "reader" if "member" on "parent";
  "admin" if "owner" on "parent";
}

resource github::Issue {
  permissions = ["read", "close"];
  relations = { repo: github::Repo };

  "read" if "read" on "repo";
  "close" if "maintainer" on "repo";
}

# Relations: how to get from a resource to the one it belongs to.
has_relation(org: github::Org, "parent", repo: github::Repo) if repo.org = org;
has_relation(repo: github::Repo, "repo", issue: github::Issue) if issue.repo = repo;

# Role assignments are rows of the role tables (reverse foreign keys `org.roles`, `repo.roles`).
has_role(user: auth::User, name: String, org: github::Org) if
  role in org.roles and role.user_id = user.id and role.name = name;
has_role(user: auth::User, name: String, repo: github::Repo) if
  role in repo.roles and role.user_id = user.id and role.name = name;

# Public repositories can be read by anyone who is logged in.
has_permission(_user: auth::User, "read", repo: github::Repo) if repo.is_public = true;

# Whoever opened an issue, or is assigned to it (a many-to-many relation), may close it, as long
# as they can still see it.
has_permission(user: auth::User, "close", issue: github::Issue) if
  issue.creator = user and has_permission(user, "read", issue);
has_permission(user: auth::User, "close", issue: github::Issue) if
  user in issue.assignees and has_permission(user, "read", issue);

allow(actor, action, resource) if has_permission(actor, action, resource);
