# Loaded at start-up from django_oso_app/policy/ (see tests/test_django_oso.py).
policy_load_test(1);

models(_: django_oso_app::Author, x) if x = 1;
models(_: django_oso_app::Post, x) if x = 2;
models(_: django_oso_app2::Note, x) if x = 3;

# Staff may change articles (Django permissions through django_oso.backends.OsoBackend).
allow(user: auth::User, "view", _: django_oso_app::Article) if user.is_staff;
allow(user: auth::User, "view", django_oso_app::Article) if user.is_staff;
allow(user: auth::User, "change", article: django_oso_app::Article) if article.author = user;
allow(user: auth::User, "change", django_oso_app::Article) if user.is_staff;
allow(user: auth::User, "publish", article: django_oso_app::Article) if
    article.author = user and user.is_staff;
allow(user: auth::User, "export", "django_oso_app") if user.username = "exporter";
allow(_: auth::AnonymousUser, "view", article: django_oso_app::Article) if article.published;
