"""Commands registered on trial.cli._app (filled in by its issue)."""

from pathlib import Path

import typer

from trial.cli._app import protocol_app


@protocol_app.command("check")
def protocol_check(file: Path = typer.Argument(..., help="Protocol TOML file.")) -> None:
    """Validate a protocol, print its summary and fingerprint.

    Example: trial protocol check protocols/bc16-jobmatch.toml
    """
    from trial.protocol import load_protocol

    p = load_protocol(file)
    typer.echo(f"{p.id} {p.version}: {p.title}")
    typer.echo(f"fingerprint: {p.fingerprint}")
