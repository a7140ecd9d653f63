"""Tools for policy authors: REPL command line, checks and lints, policy tests, explanations,
the debugger and the decision log. Nothing here is imported by the decision path."""
