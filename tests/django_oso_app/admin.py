from django.contrib import admin

from django_oso.admin import OsoModelAdminMixin

from .models import Article, Author


@admin.register(Article)
class ArticleAdmin(OsoModelAdminMixin, admin.ModelAdmin):
    list_display = ["title"]


admin.site.register(Author)
