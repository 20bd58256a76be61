"""Commands registered on trial.cli._app (filled in by its issue)."""
