# What only the Django project adds to the shared policy (github.polar, a link to
# example_apps/github_domain/policy.polar): its issues have assignees (a many-to-many field,
# `Issue.assignees`), and whoever is assigned to an issue may close it, as long as they can still
# see it.

has_permission(user: User, "close", issue: Issue) if
  user in issue.assignees and has_permission(user, "read", issue);
