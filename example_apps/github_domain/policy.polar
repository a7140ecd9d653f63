# Who may do what in the GitHub-like example apps: the one policy of example_apps/github_flask,
# github_fastapi and github_django (each loads this file; the Django project also loads
# github_django/github/policy/assignees.polar, for the issue assignees only its models have).
#
# Roles are rows: `org_roles` says who is a member or owner of an organization, `repo_roles`
# who is a reader, maintainer or admin of a repository. Roles on an organization carry over to
# its repositories, and access to a repository carries over to its issues.
#
# The same rules answer both questions the apps ask:
#   * "may alice delete repo 3?"      (one object, on detail and write endpoints)
#   * "which issues may alice read?"  (data filtering: one SQL query, on listing endpoints)

actor User {}

resource Org {
  roles = ["member", "owner"];
  permissions = ["read", "create_repo"];

  "read" if "member";
  "create_repo" if "owner";

  # Owners are members too.
  "member" if "owner";
}

resource Repo {
  roles = ["reader", "maintainer", "admin"];
  permissions = ["read", "create_issue", "delete", "manage_roles"];
  relations = { parent: Org };

  "read" if "reader";
  "delete" if "admin";
  "manage_roles" if "admin";
  # Whoever can see a repository can open issues on it (public repositories included).
  "create_issue" if "read";

  # Each role includes the ones below it.
  "maintainer" if "admin";
  "reader" if "maintainer";

  # Organization members read every repository of the organization; owners administer them.
  "reader" if "member" on "parent";
  "admin" if "owner" on "parent";
}

resource Issue {
  permissions = ["read", "close"];
  relations = { repo: Repo };

  "read" if "read" on "repo";
  "close" if "maintainer" on "repo";
}

# Relations: how to get from a resource to the one it belongs to.
has_relation(org: Org, "parent", repo: Repo) if repo.org = org;
has_relation(repo: Repo, "repo", issue: Issue) if issue.repo = repo;

# Role assignments are rows of the role tables.
has_role(user: User, name: String, org: Org) if
  role in org.org_roles and role.user_id = user.id and role.name = name;
has_role(user: User, name: String, repo: Repo) if
  role in repo.repo_roles and role.user_id = user.id and role.name = name;

# Public repositories can be read by anyone who is logged in.
has_permission(_user: User, "read", repo: Repo) if repo.is_public = true;

# Whoever opened an issue may close it, as long as they can still see it.
has_permission(user: User, "close", issue: Issue) if
  issue.creator_id = user.id and has_permission(user, "read", issue);

allow(actor, action, resource) if has_permission(actor, action, resource);
