"""Views of the django_oso tests: sync and async, authorizing in every supported way."""

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse

from django_oso import decorators
from django_oso.auth import authorize_async, authorize_model_async

from .models import Author, Post


def post_list(request):
    """The posts the author named by `?as=` may read (data filtering)."""
    author = Author.objects.get(name=request.GET["as"])
    posts = Post.objects.authorize(request, actor=author, action="read").order_by("id")
    return JsonResponse({"posts": [p.title for p in posts]})


def secret(request):
    """Authorizes nothing."""
    return HttpResponse("top secret body")


def secret_stream(request):
    """Authorizes nothing, streams its body."""
    return StreamingHttpResponse(iter(["top ", "secret ", "stream"]))


async def async_secret(request):
    return HttpResponse("async secret body")


async def async_resource(request):
    await authorize_async(request, "resource", actor="user", action=request.GET.get("action", "read"))
    return HttpResponse("async authorized")


@decorators.authorize(actor="user", action="read", resource="resource")
async def async_decorated(request):
    return HttpResponse("async decorated")


@decorators.authorize_request(actor="user")
async def async_request_decorated(request):
    return HttpResponse("async request decorated")


@decorators.skip_authorization
async def async_skipped(request):
    return HttpResponse("async skipped")


async def async_post_list(request):
    """`post_list` for async views: the policy runs in the sync thread, rows with `async for`."""
    author = await Author.objects.aget(name=request.GET["as"])
    posts = await Post.objects.authorize_async(request, actor=author, action="read")
    titles = [p.title async for p in posts.order_by("id")]
    q = await authorize_model_async(request, Post, actor=author, action="read")
    count = await Post.objects.filter(q).acount()
    return JsonResponse({"posts": titles, "count": count})


async def async_user_article(request):
    """Authorizes with the default actor `request.user` (a lazy database lookup)."""
    from .models import Article
    article = await Article.objects.aget(pk=request.GET["id"])
    await authorize_async(request, article, action="view")
    return HttpResponse(article.title)
