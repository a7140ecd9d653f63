"""The static front end: source text -> parser -> AST -> checks -> a validated program."""
