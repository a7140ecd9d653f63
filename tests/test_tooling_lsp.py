"""The language server end to end: a real LSP client (pytest-lsp) drives `python -m oso_core lsp`
over stdio through open, edit, diagnostics, hover, definition, references, completion, symbols,
rename, code lenses and formatting, in a workspace of two policy files loaded together."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pytest_lsp", reason="the language server tests need pytest-lsp (the dev extra)")
pytest.importorskip("pygls", reason="the language server needs pygls (the lsp extra)")
pytest.importorskip("yaml", reason="policy test code lenses need PyYAML")

import pytest_asyncio  # noqa: E402
from lsprotocol import types  # noqa: E402
from pygls import uris  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

from oso_core.frontend.source import Source  # noqa: E402
from oso_core.tooling.check import check_sources  # noqa: E402

# One server for the module: every test talks to it on the module's event loop.
async_test = pytest.mark.asyncio(loop_scope="module")

POLICY = """\
actor User {}

resource Repo {
  roles = ["reader", "admin"];
  permissions = ["read", "delete"];
  relations = { parent: Org };

  "read" if "reader";
  "reader" if "admin";
  "delete" if "admin";
  "admin" if "owner" on "parent";
}

allow(actor, action, resource) if
  has_permission(actor, action, resource);

has_role(user: User, name: String, resource: Resource) if
  role in user.roles and
  role.name = name and
  role.resource = resource;
"""

ORG = """\
resource Org {
  roles = ["owner"];
}

has_relation(org: Org, "parent", repo: Repo) if
  repo.org = org;
"""

MODELS = '''\
class User:
    """A person."""

    roles: list

    def __init__(self, name: str, roles: list) -> None:
        self.name = name
        self.roles = roles


class Org:
    def __init__(self, name: str) -> None:
        self.name = name


class Repo:
    org: Org

    def __init__(self, name: str, org: Org) -> None:
        self.name = name
        self.org = org
'''

TEST_HEADER = """\
policies: [policy.polar, org.polar]
modules: [models]
classes:
  Role: [name, resource]
objects:
  acme: {class: Org, name: acme}
  anvil: {class: Repo, name: anvil, org: $acme}
  alice: {class: User, name: alice, roles: [{class: Role, name: admin, resource: $anvil}]}
  bob: {class: User, name: bob, roles: []}
"""
PASSING_TESTS = TEST_HEADER + "allow:\n  - [alice, delete, anvil]\n"
FAILING_TESTS = TEST_HEADER + "allow:\n  - [bob, read, anvil]\n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp-workspace")
    (root / "policy.polar").write_text(POLICY)
    (root / "org.polar").write_text(ORG)
    (root / "models.py").write_text(MODELS)
    (root / "passing.polar-test.yaml").write_text(PASSING_TESTS)
    (root / "failing.polar-test.yaml").write_text(FAILING_TESTS)
    for directory in ("edit", "load", "format", "complete"):  # policies of their own (policies load by directory)
        (root / directory).mkdir()
    return root


SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "oso_core", "lsp"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(workspace: Path):
    """A pytest-lsp client talking to one server for the module (pytest-lsp's own fixture needs its
    plugin, which the project does not load: see pyproject.toml)."""
    lsp_client = await SERVER.start()
    lsp_client.code_lens_refreshes = 0

    @lsp_client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def code_lens_refresh(params: None) -> None:
        lsp_client.code_lens_refreshes += 1

    root_uri = uris.from_fs_path(str(workspace))
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=root_uri,
        workspace_folders=[types.WorkspaceFolder(uri=root_uri, name="workspace")],
        initialization_options={"modules": ["models"]},
    ))
    yield lsp_client
    await lsp_client.shutdown_session()
    await lsp_client.stop()


def uri_of(workspace: Path, name: str) -> str:
    uri = uris.from_fs_path(str(workspace / name))
    assert uri is not None
    return uri


async def diagnostics_after(client: LanguageClient, uri: str, send) -> list[types.Diagnostic]:
    """Send a notification, then wait for the diagnostics the server publishes for `uri`."""
    send()
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == uri:
            return list(params.diagnostics)


async def open_document(client: LanguageClient, uri: str, text: str) -> list[types.Diagnostic]:
    item = types.TextDocumentItem(uri=uri, language_id="polar", version=1, text=text)
    return await diagnostics_after(client, uri, lambda: client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=item)))


async def change_document(client: LanguageClient, uri: str, version: int, text: str) -> list[types.Diagnostic]:
    params = types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)])
    return await diagnostics_after(client, uri, lambda: client.text_document_did_change(params))


def position(text: str, needle: str, shift: int = 0) -> types.Position:
    offset = text.index(needle) + shift
    line = text.count("\n", 0, offset)
    return types.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


def span(text: str, needle: str, length: int | None = None) -> types.Range:
    """The range of the first `needle` in `text` (of its first `length` characters)."""
    return types.Range(start=position(text, needle), end=position(text, needle, len(needle) if length is None else length))


def check_messages(text: str, path: Path) -> list[str]:
    return [d.message for d in check_sources([Source(text, str(path))])]


async def open_policy(client: LanguageClient, workspace: Path) -> str:
    uri = uri_of(workspace, "policy.polar")
    assert await open_document(client, uri, POLICY) == []
    return uri


# Diagnostics ----------------------------------------------------------------------------------------

@async_test
async def test_open_and_edit_publish_check_diagnostics_with_exact_ranges(client: LanguageClient, workspace: Path):
    uri = uri_of(workspace, "edit/edit.polar")
    clean = 'allow(actor, "read", resource) if actor = resource;\n'
    assert await open_document(client, uri, clean) == []

    broken = "allow(actor, action, resource) if\n  actor = resource and ;\n"
    [error] = await change_document(client, uri, 2, broken)
    assert error.severity == types.DiagnosticSeverity.Error and error.code == "syntax-error"
    assert error.range == span(broken, ";")
    assert error.message == check_messages(broken, workspace / "edit/edit.polar")[0]

    linted = textwrap.dedent("""\
        actor User {}
        resource Repo {
          roles = ["reader", "ghost"];
          permissions = ["read"];
          "read" if "reader";
        }
        allow(actor, action, resource) if has_permission(actor, action, resource);
        has_role(user: User, "reader", _repo: Repo) if user = user;
        """)
    [warning] = await change_document(client, uri, 3, linted)
    assert warning.severity == types.DiagnosticSeverity.Warning and warning.code == "unused-declaration"
    assert warning.range == span(linted, '"ghost"')
    assert [warning.message] == check_messages(linted, workspace / "edit/edit.polar")


@async_test
async def test_load_time_errors_are_diagnostics(client: LanguageClient, workspace: Path):
    uri = uri_of(workspace, "load/load.polar")
    text = 'resource Repo {\n  permissions = ["read"];\n  "read" if "writer";\n}\n'
    [error] = await open_document(client, uri, text)
    assert error.severity == types.DiagnosticSeverity.Error and error.code == "resource-block"
    assert error.message == check_messages(text, workspace / "load/load.polar")[0]
    assert "writer" in error.message and error.range == span(text, '"writer"')


# Navigation and information ------------------------------------------------------------------------------

@async_test
async def test_hover(client: LanguageClient, workspace: Path):
    uri = await open_policy(client, workspace)
    document = types.TextDocumentIdentifier(uri=uri)

    role = await client.text_document_hover_async(
        types.HoverParams(text_document=document, position=position(POLICY, '"admin" if', 2)))
    assert role is not None and role.range == span(POLICY, 'admin" if', 5)
    text = role.contents.value
    assert '**role** `"admin"` of Repo' in text
    assert '"admin" if "owner" on "parent";' in text  # where it is granted
    assert '"delete" if "admin";' in text and '"reader" if "admin";' in text  # what it grants

    cls = await client.text_document_hover_async(
        types.HoverParams(text_document=document, position=position(POLICY, "user: User", 7)))
    assert cls is not None
    assert "User(name: str, roles: list)" in cls.contents.value and "`roles`: list" in cls.contents.value

    builtin = await client.text_document_hover_async(
        types.HoverParams(text_document=document, position=position(POLICY, "name: String", 7)))
    assert builtin is not None and builtin.contents.value == "**class** `String`\n\nbuilt-in class"

    rule = await client.text_document_hover_async(
        types.HoverParams(text_document=document, position=position(POLICY, "has_permission(actor, action", 3)))
    assert rule is not None
    assert "type has_permission(actor: Actor, _permission: String, resource: Resource);" in rule.contents.value
    assert "2 shorthand rule(s)" in rule.contents.value


@async_test
async def test_definition_across_files_and_into_python(client: LanguageClient, workspace: Path):
    uri = await open_policy(client, workspace)
    document = types.TextDocumentIdentifier(uri=uri)

    [owner] = await client.text_document_definition_async(
        types.DefinitionParams(text_document=document, position=position(POLICY, '"owner"', 2)))
    assert owner.uri == uri_of(workspace, "org.polar") and owner.range == span(ORG, "owner")

    [parent] = await client.text_document_definition_async(
        types.DefinitionParams(text_document=document, position=position(POLICY, 'on "parent"', 5)))
    assert parent.uri == uri and parent.range == span(POLICY, "parent:", 6)

    [org] = await client.text_document_definition_async(
        types.DefinitionParams(text_document=document, position=position(POLICY, "parent: Org", 9)))
    assert org.uri == uri_of(workspace, "models.py") and org.range.start.line == MODELS[:MODELS.index("class Org")].count("\n")


@async_test
async def test_references(client: LanguageClient, workspace: Path):
    uri = await open_policy(client, workspace)
    found = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position(POLICY, '"admin"]', 1),
        context=types.ReferenceContext(include_declaration=True)))
    lines = sorted(location.range.start.line for location in found)
    assert all(location.uri == uri for location in found)
    assert lines == [3, 8, 9, 10]  # the declaration and three shorthand rules


@async_test
async def test_completion(client: LanguageClient, workspace: Path):
    uri = await open_policy(client, workspace)
    document = types.TextDocumentIdentifier(uri=uri)
    in_block = await client.text_document_completion_async(
        types.CompletionParams(text_document=document, position=position(POLICY, '"read" if', 1)))
    labels = [item.label for item in in_block.items]
    assert {"reader", "admin", "read", "delete", "parent", "owner"} <= set(labels)
    assert labels.index("owner") > labels.index("admin")  # the enclosing block's names come first

    top = await client.text_document_completion_async(
        types.CompletionParams(text_document=document, position=position(POLICY, "allow(actor")))
    kinds = {item.label: item.kind for item in top.items}
    assert kinds["has_permission"] == kinds["has_relation"] == types.CompletionItemKind.Function
    assert kinds["User"] == kinds["Org"] == kinds["String"] == types.CompletionItemKind.Class
    assert kinds["matches"] == types.CompletionItemKind.Keyword


@async_test
async def test_completion_while_the_text_does_not_parse(client: LanguageClient, workspace: Path):
    uri = uri_of(workspace, "complete/typing.polar")
    text = 'resource Repo {\n  roles = ["reader"];\n  permissions = ["read"];\n  "read" if "reader";\n}\n'
    await open_document(client, uri, text)
    typing = text.replace('  "read" if "reader";\n', '  "read" if "reader";\n  "read" if "\n')
    [error] = await change_document(client, uri, 2, typing)
    assert error.code == "syntax-error"
    found = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position(typing, 'if "\n', 4)))
    assert [item.label for item in found.items] == ["read", "reader"]

    # Closing a document that was never saved clears its diagnostics.
    closed = types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    assert await diagnostics_after(client, uri, lambda: client.text_document_did_close(closed)) == []


@async_test
async def test_document_symbols(client: LanguageClient, workspace: Path):
    uri = await open_policy(client, workspace)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert [s.name for s in symbols] == ["User", "Repo", "allow/3", "has_role/3"]
    repo = symbols[1]
    assert [c.name for c in repo.children][:5] == ["reader", "admin", "read", "delete", "parent"]
    assert repo.range.start.line == 2 and repo.range.end.line == 11


@async_test
async def test_rename_a_role_across_files(client: LanguageClient, workspace: Path):
    uri = await open_policy(client, workspace)
    document = types.TextDocumentIdentifier(uri=uri)
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=document, position=position(POLICY, '"owner"', 3), new_name="maintainer"))
    assert edit is not None and edit.changes is not None
    org_uri = uri_of(workspace, "org.polar")  # not open: read from disk
    assert set(edit.changes) == {uri, org_uri}
    assert [e.range for e in edit.changes[org_uri]] == [span(ORG, "owner")]
    assert [e.range for e in edit.changes[uri]] == [span(POLICY, "owner")]
    assert all(e.new_text == "maintainer" for edits in edit.changes.values() for e in edits)

    prepared = await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(text_document=document, position=position(POLICY, '"delete" if', 3)))
    assert prepared == span(POLICY, 'delete" if', 6)
    assert await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(text_document=document, position=position(POLICY, "allow"))) is None
    with pytest.raises(Exception, match="only roles, permissions and relations can be renamed"):
        await client.text_document_rename_async(
            types.RenameParams(text_document=document, position=position(POLICY, "allow"), new_name="permit"))


# Code lenses ----------------------------------------------------------------------------------------------

@async_test
async def test_code_lenses_run_policy_tests(client: LanguageClient, workspace: Path):
    uri = await open_policy(client, workspace)
    document = types.TextDocumentIdentifier(uri=uri)
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(text_document=document))
    titles = sorted(lens.command.title for lens in lenses)
    assert titles == ["▶ Run policy tests: failing.polar-test.yaml", "▶ Run policy tests: passing.polar-test.yaml"]

    results = {}
    for lens in lenses:
        results[Path(lens.command.arguments[0]).name] = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=lens.command.command, arguments=lens.command.arguments))
    assert results["passing.polar-test.yaml"]["passed"] == 1 and results["passing.polar-test.yaml"]["failed"] == 0
    failing = results["failing.polar-test.yaml"]
    assert failing["failed"] == 1
    assert failing["failures"] == [{"line": 11, "message": "expected allow(bob, read, anvil) to be allowed, "
                                                           "but it is denied"}]
    failure = client.diagnostics[uri_of(workspace, "failing.polar-test.yaml")]
    assert [d.range.start.line for d in failure] == [10]

    assert client.code_lens_refreshes == 2  # after each run, the editor is asked to ask again
    after = await client.text_document_code_lens_async(types.CodeLensParams(text_document=document))
    titles = {lens.command.title for lens in after}
    assert "✔ 1 policy test(s) passed (passing.polar-test.yaml)" in titles
    assert "✘ 1 of 1 policy test(s) failed (failing.polar-test.yaml)" in titles


def test_importing_oso_core_does_not_import_the_server():
    code = "import sys, oso_core, oso_core.__main__; print(sorted(m for m in ('pygls', 'lsprotocol') if m in sys.modules))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


# Formatting -----------------------------------------------------------------------------------------------

@async_test
async def test_formatting(client: LanguageClient, workspace: Path):
    from oso_core.tooling.fmt import format_source

    uri = uri_of(workspace, "format/format.polar")
    messy = 'allow(actor,action,resource) if\n      has_permission(actor,action,resource);\n'
    await open_document(client, uri, messy)
    options = types.FormattingOptions(tab_size=2, insert_spaces=True)
    document = types.TextDocumentIdentifier(uri=uri)
    [edit] = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=document, options=options))
    assert edit.new_text == format_source(messy) == "allow(actor, action, resource) if has_permission(actor, action, resource);\n"
    assert edit.range == types.Range(start=types.Position(line=0, character=0), end=position(messy, "", len(messy)))

    await change_document(client, uri, 2, edit.new_text)
    assert list(await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=document, options=options))) == []
    await change_document(client, uri, 3, "allow(actor,")  # does not parse: left alone
    assert await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=document, options=options)) is None


@async_test
async def test_a_module_that_does_not_import_is_a_warning_and_the_server_goes_on(workspace: Path):
    lsp_client = await SERVER.start()
    try:
        root_uri = uri_of(workspace, "")
        await lsp_client.initialize_session(types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), root_uri=root_uri,
            initialization_options={"modules": ["no_such_module_for_lsp"]}))
        uri = uri_of(workspace, "load/other.polar")
        text = "allow(x, y) if x = ;\n"
        [error] = await open_document(lsp_client, uri, text)
        assert error.code == "syntax-error"
        [message] = lsp_client.messages
        assert message.type == types.MessageType.Warning
        assert message.message.startswith("oso_core language server: could not import module no_such_module_for_lsp")
        await lsp_client.shutdown_session()
    finally:
        await lsp_client.stop()


# Configuration and positions (no server needed) -------------------------------------------------------------

def test_settings_come_from_pyproject_under_initialization_options(tmp_path: Path):
    from oso_core.tooling.lsp.settings import SettingsError, read_settings

    (tmp_path / "pyproject.toml").write_text('[tool.oso_core.lsp]\nmodules = ["app.models"]\nload_together = "workspace"\n')
    settings = read_settings([str(tmp_path)], None)
    assert settings.modules == ("app.models",) and settings.load_together == "workspace"
    settings = read_settings([str(tmp_path)], {"loadTogether": "file", "oso": "app.authz:oso"})
    assert (settings.modules, settings.load_together, settings.oso) == (("app.models",), "file", "app.authz:oso")
    with pytest.raises(SettingsError, match="loadTogether"):
        read_settings([str(tmp_path)], {"loadTogether": "everything"})
    with pytest.raises(SettingsError, match="module:attribute"):
        read_settings([str(tmp_path)], {"oso": "app.authz"})


def test_classes_of_an_oso_instance_keep_their_registered_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from oso_core.tooling.lsp.classes import ClassLoadError, class_infos, load_host
    from oso_core.tooling.lsp.settings import Settings

    (tmp_path / "lsp_app_authz.py").write_text(textwrap.dedent("""\
        from oso_core import Oso
        from oso_core.data_filtering import Relation

        class Org:
            pass

        class Repo:
            def __init__(self, name: str, org_id: int) -> None:
                self.name, self.org_id = name, org_id

        oso = Oso()
        oso.register_class(Org, fields={"id": int})
        oso.register_class(Repo, fields={"name": str, "org": Relation("one", "Org", "org_id", "id")})
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    infos = class_infos(load_host(Settings(oso="lsp_app_authz:oso", roots=(str(tmp_path),))))
    assert set(infos) == {"Org", "Repo"}
    assert infos["Repo"].fields == {"name": "str", "org": "Relation(one Org)"}
    assert infos["Repo"].signature == "(name: str, org_id: int) -> None" and infos["Repo"].line == 7
    with pytest.raises(ClassLoadError, match="not an Oso or Polar instance"):
        load_host(Settings(oso="lsp_app_authz:Org"))
    with pytest.raises(ClassLoadError, match="could not import module no_such_module_here"):
        load_host(Settings(modules=("no_such_module_here",)))


def test_positions_count_utf16_code_units():
    from oso_core.tooling.lsp.positions import LineIndex

    text = 'a = "é𝄞x";\nb'
    lines = LineIndex(text)
    x = text.index("x")
    assert lines.position(x) == types.Position(line=0, character=8)  # 𝄞 is two UTF-16 units
    assert lines.offset(types.Position(line=0, character=8)) == x
    assert lines.offset(types.Position(line=1, character=99)) == len(text)
    utf8 = LineIndex(text, types.PositionEncodingKind.Utf8)
    assert utf8.position(x) == types.Position(line=0, character=5 + 2 + 4)
    assert utf8.offset(utf8.position(x)) == x
