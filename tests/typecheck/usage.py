"""The public API used as an application would, for `mypy --strict` (tests/test_typing.py).

Not collected by pytest and not run: it must type-check, as user code that calls the API
correctly. Where mypy rejects a line of this file, the API's annotations are wrong.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from flask import Flask
from sqlalchemy import ForeignKey, create_engine, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from oso_core import (
    AuthorizationError,
    Expression,
    ForbiddenError,
    NotFoundError,
    Oso,
    OsoError,
    Polar,
    Predicate,
    Variable,
)
from oso_core.exceptions import ParserError, PolarRuntimeError, UnregisteredClassError
from oso_core.data.adapter.sqlalchemy_adapter import SqlAlchemyAdapter
from flask_oso import FlaskOso, authorize, skip_authorization
from sqlalchemy_oso import SQLAlchemyOso, authorized_sessionmaker, register_models
from sqlalchemy_oso.async_session import authorized_async_sessionmaker
from sqlalchemy_oso.auth import authorize_model
from django_oso.auth import authorize as django_authorize
from fastapi_oso import FastAPIOso

POLICY = """
allow(user: User, "read", doc: Document) if doc.owner_id = user.id;
allow(user: User, "edit", doc: Document) if doc.owner_id = user.id;
allow_field(_: User, "read", _: Document, "title");
allow_request(_: User, _);
"""


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


def make_oso() -> Oso:
    oso = Oso(forbidden_error=ForbiddenError, not_found_error=NotFoundError, read_action="read")
    oso.register_class(User)
    oso.register_class(Document, name="Document", fields={"id": int, "title": str, "owner_id": int})
    oso.register_constant(42, "ANSWER")
    oso.load_str(POLICY)
    return oso


def reload(oso: Oso, policy: Path) -> None:
    oso.clear_rules()
    oso.load_files([policy, "other.polar"])
    oso.reload_files([str(policy)])
    oso.reload_str(POLICY)


def decisions(oso: Oso, user: User, doc: Document) -> list[str]:
    allowed: bool = oso.is_allowed(user, "read", doc)
    oso.authorize(user, "edit", doc, check_read=False)
    oso.authorize_request(user, "GET /documents")
    oso.authorize_field(user, "read", doc, "title")
    actions: set[str] = oso.authorized_actions(user, doc)
    fields: set[str] = oso.authorized_fields(user, "read", doc, allow_wildcard=True)
    once: bool = oso.query_rule_once("allow", user, "read", doc)
    return sorted(actions | fields) if allowed and once else []


def queries(oso: Oso, user: User) -> list[object]:
    found: list[object] = []
    for result in oso.query_rule("allow", user, Variable("action"), Variable("doc")):
        found.append(result["bindings"]["action"])
    for result in oso.query("allow(_, action, _)", accept_expression=True):
        found.append(result["bindings"])
    for result in oso.query(Predicate("allow", [user, "read", Variable("doc")])):
        binding = result["bindings"]["doc"]
        if isinstance(binding, Expression):
            found.append(binding.operator)
    return found


def errors(oso: Oso, user: User, doc: Document) -> str:
    try:
        oso.authorize(user, "delete", doc)
    except NotFoundError:
        return "404"
    except ForbiddenError as error:
        return f"403 {error.message}"
    except AuthorizationError:
        return "denied"
    try:
        Polar().load_str("allow(")
    except ParserError as error:
        return str(error.details)
    except (UnregisteredClassError, PolarRuntimeError, OsoError):
        return "error"
    return ""


async def async_decisions(oso: Oso, user: User, doc: Document) -> set[str]:
    allowed: bool = await oso.is_allowed_async(user, "read", doc)
    await oso.authorize_async(user, "read", doc)
    await oso.authorize_request_async(user, "GET /")
    await oso.authorize_field_async(user, "read", doc, "title")
    fields: set[str] = await oso.authorized_fields_async(user, "read", doc)
    once: bool = await oso.query_rule_once_async("allow", user, "read", doc)
    async for result in oso.query_rule_async("allow", user, Variable("action"), doc):
        fields.add(result["bindings"]["action"])
    return await oso.authorized_actions_async(user, doc) | fields if allowed and once else set()


def data_filtering(oso: Oso, user: User, session: Session) -> list[Document]:
    oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
    query = oso.authorized_query(user, "read", Document)
    documents: list[Document] = oso.authorized_resources(user, "read", Document)
    return documents if query is not None else []


def sqlalchemy_sessions(user: User) -> list[Document]:
    oso = SQLAlchemyOso(Base)
    register_models(oso, Base)
    oso.load_str(POLICY)
    engine = create_engine("sqlite://")
    make_session = authorized_sessionmaker(get_oso=lambda: oso, get_user=lambda: user,
                                           get_checked_permissions=lambda: {Document: "read"}, bind=engine)
    with make_session() as session:
        documents = list(session.scalars(select(Document)))
        filtered = session.query(Document).filter(authorize_model(oso, user, "read", session, Document))
        return documents + filtered.all()


async def sqlalchemy_async_sessions(oso: Oso, user: User) -> list[Document]:
    make_session = authorized_async_sessionmaker(lambda: oso, lambda: user, lambda: {Document: "read"},
                                                 bind=create_async_engine("sqlite+aiosqlite://"))
    async with make_session() as session:
        return list(await session.scalars(select(Document)))


def django_view(request: object, doc: Document) -> str:
    django_authorize(request, doc, action="read")
    return "ok"


def flask_app(oso: Oso) -> Flask:
    app = Flask(__name__)
    flask_oso = FlaskOso(oso=oso, app=app)
    flask_oso.set_get_actor(lambda: User(id=1, name="alice"))
    flask_oso.require_authorization(app)

    @app.route("/documents/<int:doc_id>")
    @authorize(resource="document")
    def show(doc_id: int) -> str:
        flask_oso.authorize(Document(id=doc_id, title="t", owner_id=1), action="read")
        return "ok"

    @app.route("/health")
    @skip_authorization(reason="public")
    def health() -> str:
        return "ok"

    return app


def fastapi_integration(oso: Oso) -> FastAPIOso[User]:
    async def get_actor() -> User | None:
        return None

    return FastAPIOso(oso, get_actor)


def main() -> None:
    oso = make_oso()
    user, doc = User(id=1, name="alice"), Document(id=1, title="t", owner_id=1)
    print(decisions(oso, user, doc), queries(oso, user), errors(oso, user, doc))
    print(asyncio.run(async_decisions(oso, user, doc)))
