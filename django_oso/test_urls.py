"""URLs for testing the middleware and decorators (legacy `django_oso.test_urls`).

Use as ROOT_URLCONF in tests: `/` does not authorize, `/auth/` and `/auth_decorated/` authorize
`allow("user", "read", "resource")`, `/auth_decorated_fail/` authorizes `allow("user", "GET",
<request>)`, `/error/` answers 500, `/a/` and `/b/` answer their name.
"""

from django.http import HttpResponse, HttpResponseServerError
from django.urls import path

from . import decorators
from .auth import authorize


def root(request):
    return HttpResponse("hello")


def auth(request):
    authorize(request, "resource", actor="user", action="read")
    return HttpResponse("authorized")


@decorators.authorize_request(actor="user")
def auth_decorated_fail(request):
    return HttpResponse("authorized")


@decorators.authorize(actor="user", action="read", resource="resource")
def auth_decorated(request):
    return HttpResponse("authorized")


def a(request):
    return HttpResponse("a")


def b(request):
    return HttpResponse("b")


def error(request):
    return HttpResponseServerError()


urlpatterns = [
    path("", root),
    path("auth/", auth),
    path("auth_decorated_fail/", auth_decorated_fail),
    path("auth_decorated/", auth_decorated),
    path("error/", error),
    path("a/", a),
    path("b/", b),
]
