"""The language server: pygls wiring of the features to the documents and the index."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import TypeVar

from lsprotocol import types
from pygls import uris
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from ...exceptions import ParserError
from ...host import Host
from ..fmt import FormatError
from .classes import ClassInfo, ClassLoadError, class_infos, load_host
from .completion import complete
from .diagnostics import group_diagnostics
from .documents import Document, DocumentStore
from .formatting import format_document
from .hover import hover
from .index import PolicyGroupIndex
from .lenses import RUN_TESTS, TestFiles, failure_diagnostics
from .navigation import RenameError, definition, prepare_rename, references, rename
from .settings import Settings, SettingsError, read_settings
from .symbols import document_symbols

T = TypeVar("T")


def _version() -> str:
    try:
        return metadata.version("oso-core")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


class PolarLanguageServer(LanguageServer):
    """The server's state: settings, the application's classes, the documents and test runs."""

    def __init__(self) -> None:
        super().__init__("oso-core-polar", _version())
        self.settings = Settings()
        self.host: Host | None = None
        self.classes: dict[str, ClassInfo] = {}
        self.store = DocumentStore()
        self.tests = TestFiles()
        self.setup_problem: str | None = None

    def configure(self, params: types.InitializeParams) -> None:
        folders = [uris.to_fs_path(f.uri) for f in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [uris.to_fs_path(params.root_uri)]
        roots = [f for f in folders if f]
        try:
            self.settings = read_settings(roots, params.initialization_options)
            self.host = load_host(self.settings)
        except (SettingsError, ClassLoadError) as error:
            self.settings = Settings(roots=tuple(roots))
            self.setup_problem = f"oso_core language server: {error}; continuing without the application's classes"
        self.classes = class_infos(self.host)

    def document(self, uri: str) -> Document | None:
        return self.store.get(uri)

    def index_for(self, uri: str) -> tuple[Document, PolicyGroupIndex] | None:
        document = self.document(uri)
        if document is None:
            return None
        return document, PolicyGroupIndex(self.store.group(document, self.settings))

    def sync(self, uri: str, language_id: str | None = None) -> None:
        """Take the editor's text of a document and publish the diagnostics of its group."""
        text_document = self.workspace.get_text_document(uri)
        self.store.encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        document = self.store.open(uri, text_document.source, language_id, text_document.version)
        if document is not None:
            self.publish(document)

    def publish(self, document: Document) -> None:
        group = self.store.group(document, self.settings)
        for uri, diagnostics in group_diagnostics(group, self.host).items():
            version = document.version if uri == document.uri else None
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))


def _at(server: PolarLanguageServer, uri: str, position: types.Position,
        answer: Callable[[Document, PolicyGroupIndex, int], T], empty: T) -> T:
    found = server.index_for(uri)
    if found is None:
        return empty
    document, index = found
    return answer(document, index, document.lines.offset(position))


def create_server() -> PolarLanguageServer:
    """A server with every feature registered."""
    server = PolarLanguageServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: PolarLanguageServer, params: types.InitializeParams) -> None:
        ls.configure(params)

    @server.feature(types.INITIALIZED)
    def initialized(ls: PolarLanguageServer, params: types.InitializedParams) -> None:
        if ls.setup_problem is not None:
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=ls.setup_problem))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: PolarLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.sync(params.text_document.uri, params.text_document.language_id)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PolarLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.sync(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: PolarLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.sync(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PolarLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.store.close(params.text_document.uri)
        document = ls.document(params.text_document.uri)  # the saved file still belongs to its group
        if document is not None:
            ls.publish(document)
        else:  # never saved: nothing is left to report on
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: PolarLanguageServer, params: types.HoverParams) -> types.Hover | None:
        return _at(ls, params.text_document.uri, params.position,
                   lambda d, index, offset: hover(index, d.uri, offset, ls.classes), None)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: PolarLanguageServer, params: types.DefinitionParams) -> list[types.Location]:
        return _at(ls, params.text_document.uri, params.position,
                   lambda d, index, offset: definition(index, d.uri, offset, ls.classes), [])

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def on_references(ls: PolarLanguageServer, params: types.ReferenceParams) -> list[types.Location]:
        return _at(ls, params.text_document.uri, params.position,
                   lambda d, index, offset: references(index, d.uri, offset, params.context.include_declaration), [])

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=['"']))
    def on_completion(ls: PolarLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        document = ls.document(params.text_document.uri)
        if document is None:
            return types.CompletionList(is_incomplete=False, items=[])
        group = ls.store.group(document, ls.settings)
        return complete(group, document, document.lines.offset(params.position), ls.classes)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def on_symbols(ls: PolarLanguageServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        document = ls.document(params.text_document.uri)
        return [] if document is None else document_symbols(document)

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    def on_prepare_rename(ls: PolarLanguageServer, params: types.PrepareRenameParams) -> types.Range | None:
        return _at(ls, params.text_document.uri, params.position,
                   lambda d, index, offset: prepare_rename(index, d.uri, offset), None)

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    def on_rename(ls: PolarLanguageServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
        def answer(document: Document, index: PolicyGroupIndex, offset: int) -> types.WorkspaceEdit:
            try:
                return rename(index, document.uri, offset, params.new_name)
            except RenameError as error:
                raise JsonRpcInvalidParams(str(error)) from None
        return _at(ls, params.text_document.uri, params.position, answer, None)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def on_formatting(ls: PolarLanguageServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
        document = ls.document(params.text_document.uri)
        if document is None:
            return None
        try:
            return format_document(document)
        except ParserError:  # the diagnostics already show why; a policy that does not parse is left alone
            return None
        except FormatError as error:
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=str(error)))
            return None

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    def on_code_lens(ls: PolarLanguageServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        document = ls.document(params.text_document.uri)
        return [] if document is None else ls.tests.lenses(document.path, ls.settings.roots)

    @server.command(RUN_TESTS)
    def run_policy_tests(ls: PolarLanguageServer, test_file: str) -> dict:
        run = ls.tests.run(test_file)
        uri, diagnostics = failure_diagnostics(run)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
        kind = types.MessageType.Error if run.failed else types.MessageType.Info
        ls.window_show_message(types.ShowMessageParams(type=kind, message=f"{run.title}: {test_file}"))
        refresh = ls.client_capabilities.workspace and ls.client_capabilities.workspace.code_lens
        if refresh and refresh.refresh_support:
            ls.workspace_code_lens_refresh(None)
        return run.to_json()

    return server
