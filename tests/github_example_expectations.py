"""What each seeded user of the GitHub-like example apps sees and may do: the expectations shared
by tests/test_example_github_flask.py and tests/test_example_github_fastapi.py (same policy, same
seed: example_apps/github_domain/data.py), and the read side of tests/test_example_github_django.py.

Plain data, no framework imports.
"""

from __future__ import annotations

from example_apps.github_domain import data as github_data

USERS = ["alice", "bob", "carol", "dave", "erin"]
# Seeded ids follow the order of the seed lists.
ORG_ID = {name: i for i, name in enumerate(github_data.ORGS, 1)}             # acme 1, globex 2
REPO_ID = {name: i for i, (_, name, _) in enumerate(github_data.REPOS, 1)}   # anvil 1, rocket 2, tnt 3,
#                                                                         # hammock 4, zeppelin 5
# Issues: 1, 2 on anvil (by alice, carol); 3, 4 on rocket (by erin, bob; 4 is closed);
# 5 on tnt (by bob); 6 on hammock (by dave); 7 on zeppelin (by carol).
ISSUES_OF = {"anvil": [1, 2], "rocket": [3, 4], "tnt": [5], "hammock": [6], "zeppelin": [7]}

# What each user sees -----------------------------------------------------------------------------

LISTINGS = {
    "alice": {"orgs": ["acme"], "repos": ["anvil", "rocket", "tnt"],
              "acme_repos": ["anvil", "rocket", "tnt"], "globex_repos": [],
              "issues": [1, 2, 3, 4, 5], "open_issues": [1, 2, 3, 5],
              "repo_issues": {"anvil": [1, 2], "rocket": [3, 4], "tnt": [5], "hammock": 404, "zeppelin": 404}},
    "bob": {"orgs": ["acme"], "repos": ["anvil", "rocket", "tnt"],
            "acme_repos": ["anvil", "rocket", "tnt"], "globex_repos": [],
            "issues": [1, 2, 3, 4, 5], "open_issues": [1, 2, 3, 5],
            "repo_issues": {"anvil": [1, 2], "rocket": [3, 4], "tnt": [5], "hammock": 404, "zeppelin": 404}},
    "carol": {"orgs": ["globex"], "repos": ["anvil", "rocket", "hammock", "zeppelin"],
              "acme_repos": ["anvil", "rocket"], "globex_repos": ["hammock", "zeppelin"],
              "issues": [1, 2, 3, 4, 6, 7], "open_issues": [1, 2, 3, 6, 7],
              "repo_issues": {"anvil": [1, 2], "rocket": [3, 4], "tnt": 404, "hammock": [6], "zeppelin": [7]}},
    "dave": {"orgs": ["globex"], "repos": ["rocket", "hammock", "zeppelin"],
             "acme_repos": ["rocket"], "globex_repos": ["hammock", "zeppelin"],
             "issues": [3, 4, 6, 7], "open_issues": [3, 6, 7],
             "repo_issues": {"anvil": 404, "rocket": [3, 4], "tnt": 404, "hammock": [6], "zeppelin": [7]}},
    "erin": {"orgs": [], "repos": ["rocket"], "acme_repos": ["rocket"], "globex_repos": [],
             "issues": [3, 4], "open_issues": [3],
             "repo_issues": {"anvil": 404, "rocket": [3, 4], "tnt": 404, "hammock": 404, "zeppelin": 404}},
}

# What each user may do: (method, path, JSON body) and the status for alice, bob, carol, dave, erin.
# Run top to bottom against one fresh database per user; rows that change data come last and do
# not change the answers of the rows below them.
ACTIONS = [
    # Reading one object: 404 when the user may not read it (GitHub does not reveal it exists).
    ("GET", "/orgs/1", None,                                        (200, 200, 404, 404, 404)),
    ("GET", "/orgs/2", None,                                        (404, 404, 200, 200, 404)),
    ("GET", "/orgs/9", None,                                        (404, 404, 404, 404, 404)),
    ("GET", "/repos/1", None,                                       (200, 200, 200, 404, 404)),   # anvil
    ("GET", "/repos/2", None,                                       (200, 200, 200, 200, 200)),   # rocket, public
    ("GET", "/repos/3", None,                                       (200, 200, 404, 404, 404)),   # tnt
    ("GET", "/repos/4", None,                                       (404, 404, 200, 200, 404)),   # hammock
    ("GET", "/repos/99", None,                                      (404, 404, 404, 404, 404)),
    ("GET", "/issues/1", None,                                      (200, 200, 200, 404, 404)),
    ("GET", "/issues/3", None,                                      (200, 200, 200, 200, 200)),
    ("GET", "/issues/6", None,                                      (404, 404, 200, 200, 404)),
    # Role listings are for admins: 403 for those who read the repo, 404 for the others.
    ("GET", "/repos/1/roles", None,                                 (200, 403, 403, 404, 404)),
    ("GET", "/repos/4/roles", None,                                 (404, 404, 403, 200, 404)),
    # Bad input is answered after the authorization check (a 404 stays a 404).
    ("POST", "/repos", {"org_id": 1, "name": "no spaces"},          (400, 403, 404, 404, 404)),
    ("POST", "/repos/1/issues", {"title": ""},                      (400, 400, 400, 404, 404)),
    ("POST", "/repos", {"name": "x"},                               (400, 400, 400, 400, 400)),
    ("GET", "/issues?state=nope", None,                             (400, 400, 400, 400, 400)),
    # Creating repos needs create_repo on the org: owners only.
    ("POST", "/repos", {"org_id": 1, "name": "dynamite"},           (201, 403, 404, 404, 404)),
    ("POST", "/repos", {"org_id": 2, "name": "hangar"},             (404, 404, 403, 201, 404)),
    ("POST", "/repos", {"org_id": 1, "name": "anvil"},              (409, 403, 404, 404, 404)),
    # Whoever reads a repo may open an issue on it.
    ("POST", "/repos/2/issues", {"title": "Fins wobble"},           (201, 201, 201, 201, 201)),
    ("POST", "/repos/1/issues", {"title": "Heavier, please"},       (201, 201, 201, 404, 404)),
    ("POST", "/repos/4/issues", {"title": "Too short"},             (404, 404, 201, 201, 404)),
    # Closing: maintainers of the repo (admins included) and the issue's creator.
    ("POST", "/issues/1/close", None,                               (200, 403, 403, 404, 404)),
    ("POST", "/issues/2/close", None,                               (200, 403, 200, 404, 404)),   # carol's
    ("POST", "/issues/3/close", None,                               (200, 403, 403, 403, 200)),   # erin's
    ("POST", "/issues/4/close", None,                               (200, 200, 403, 403, 403)),   # bob's
    ("POST", "/issues/5/close", None,                               (200, 200, 404, 404, 404)),   # bob maintains tnt
    ("POST", "/issues/6/close", None,                               (404, 404, 403, 200, 404)),
    # Role management: admins only.
    ("POST", "/repos/1/roles", {"username": "erin", "role": "reader"}, (201, 403, 403, 404, 404)),
    ("POST", "/repos/1/roles", {"username": "carol", "role": "maintainer"}, (200, 403, 403, 404, 404)),
    ("POST", "/repos/1/roles", {"username": "carol", "role": "owner"}, (400, 403, 403, 404, 404)),
    ("POST", "/repos/1/roles", {"username": "zed", "role": "reader"}, (400, 403, 403, 404, 404)),
    ("DELETE", "/repos/1/roles/erin", None,                         (204, 403, 403, 404, 404)),
    ("DELETE", "/repos/1/roles/erin", None,                         (404, 403, 403, 404, 404)),
    # Deleting a repo: admins only.
    ("DELETE", "/repos/3", None,                                    (204, 403, 404, 404, 404)),
    ("DELETE", "/repos/4", None,                                    (404, 404, 403, 204, 404)),
]

