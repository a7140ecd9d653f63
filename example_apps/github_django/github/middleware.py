"""Demo "authentication": the user named by the `X-User` request header (no password).

Stands in for a login so that the API can be tried with curl; a real project keeps Django's
`AuthenticationMiddleware` and sessions (django_oso only reads `request.user`).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser


def DemoUserMiddleware(get_response):  # noqa: N802 (middleware factory)
    def middleware(request):
        name = request.headers.get("X-User")
        user = get_user_model().objects.filter(username=name).first() if name else None
        request.user = user or AnonymousUser()
        return get_response(request)

    return middleware
