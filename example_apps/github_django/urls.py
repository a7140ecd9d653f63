from django.urls import path

from .github import views

urlpatterns = [
    path("", views.index),
    path("orgs", views.list_orgs),
    path("repos", views.list_repos),
    path("repos/<int:repo_id>", views.repo_detail),
    path("repos/<int:repo_id>/issues", views.repo_issues),
    path("issues", views.list_issues),
    path("issues/<int:issue_id>", views.issue_detail),
    path("issues/<int:issue_id>/close", views.close_issue),
]
