// Starts the oso_core language server (`<oso.pythonPath> -m oso_core lsp`) for Polar files.
// Plain CommonJS: no build step; `npm install` in this folder fetches vscode-languageclient.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function createClient() {
  const config = vscode.workspace.getConfiguration("oso");
  const initializationOptions = { modules: config.get("modules"), loadTogether: config.get("loadTogether") };
  if (config.get("oso")) {
    initializationOptions.oso = config.get("oso");
  }
  const server = {
    command: config.get("pythonPath") || "python3",
    args: ["-m", "oso_core", "lsp"],
    transport: TransportKind.stdio,
  };
  return new LanguageClient("oso-core-polar", "Polar (oso_core)", server, {
    documentSelector: [{ scheme: "file", language: "polar" }],
    initializationOptions,
  });
}

async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("oso")) {
        // The server reads its settings when it starts: start a new one with the new settings.
        await deactivate();
        client = createClient();
        await client.start();
      }
    })
  );
  client = createClient();
  await client.start();
}

async function deactivate() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop();
  }
}

module.exports = { activate, deactivate };
