"""Models of the django_oso tests: every kind of relation data filtering has to follow.

Post -created_by-> Author (FK), Post <-post- Comment (reverse FK `comments`), Post -tags-> Tag
(many-to-many), Author -readable_posts-> Post (reverse many-to-many `readers`), Folder -parent->
Folder (recursive), Article -author-> auth.User (for the permission backend and the admin).
"""

from django.conf import settings
from django.db import models

from django_oso.models import AuthorizedModel


class Author(models.Model):
    name = models.CharField(max_length=64)
    is_banned = models.BooleanField(default=False)
    is_moderator = models.BooleanField(default=False)

    def __repr__(self):
        return f"<Author {self.name}>"


class Tag(AuthorizedModel):
    name = models.CharField(max_length=64)
    is_public = models.BooleanField(default=False)
    created_by = models.ForeignKey(Author, null=True, on_delete=models.CASCADE, related_name="created_tags")
    followers = models.ManyToManyField(Author, related_name="followed_tags")


class Post(AuthorizedModel):
    title = models.CharField(max_length=64)
    access_level = models.CharField(max_length=8, default="private")
    is_private = models.BooleanField(null=True)
    timestamp = models.IntegerField(null=True)
    option = models.BooleanField(null=True)
    created_by = models.ForeignKey(Author, null=True, on_delete=models.CASCADE, related_name="posts")
    tags = models.ManyToManyField(Tag, related_name="posts")
    readers = models.ManyToManyField(Author, related_name="readable_posts")

    def __repr__(self):
        return f"<Post {self.title}>"


class Comment(AuthorizedModel):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    flagged = models.BooleanField(default=False)


class Folder(AuthorizedModel):
    name = models.CharField(max_length=64)
    parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE, related_name="children")
    owner = models.ForeignKey(Author, null=True, on_delete=models.CASCADE)


class Article(models.Model):
    title = models.CharField(max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="articles")
    published = models.BooleanField(default=False)

    def __str__(self):
        return self.title


ALL_MODELS = [Author, Tag, Post, Comment, Folder, Article]
