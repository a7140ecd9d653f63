// Tokenizes a Polar file with the grammar, the way VS Code does (vscode-textmate + Oniguruma),
// and prints one JSON array per line of [text, scopes] pairs.
//   node test/tokenize.js FILE.polar
"use strict";

const fs = require("fs");
const path = require("path");
const textmate = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

async function main(file) {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async () => {
      const grammarPath = path.join(__dirname, "..", "syntaxes", "polar.tmLanguage.json");
      return textmate.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath);
    },
  });
  const grammar = await registry.loadGrammar("source.polar");
  let stack = textmate.INITIAL;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const result = grammar.tokenizeLine(line, stack);
    console.log(JSON.stringify(result.tokens.map((t) => [line.slice(t.startIndex, t.endIndex), t.scopes])));
    stack = result.ruleStack;
  }
}

main(process.argv[2]).catch((error) => {
  console.error(error);
  process.exit(1);
});
