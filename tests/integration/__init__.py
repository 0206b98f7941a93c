"""Integration tests: our pieces through their real interfaces (the Sanic apps over HTTP, the
`shopdesk` and `rasa` commands, `rasa train` on a tiny project, Redis and PostgreSQL servers)."""
