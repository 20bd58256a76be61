"""The one exception family for problems the user can fix; the CLI turns them into one line and exit 2."""

from __future__ import annotations

from pathlib import Path


class TrialError(Exception):
    """A problem with the user's input or setup, reported as one line without a traceback."""


class InputError(TrialError):
    """Bad input data, located by file, row (1-based line in the file, header = 1) and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class SecretError(TrialError):
    """The trial secret is missing, too short or stored unsafely."""


class LedgerError(TrialError):
    """The ledger cannot be used as asked (missing, exists already, protocol mismatch)."""


class ParameterError(TrialError):
    """A parameter of a library call is out of range or inconsistent; the CLI names the flag that sets it.

    `parameter` is the Python name (`per_arm`); the message says what was received and what is allowed.
    """

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        self.message = message
        super().__init__(f"{parameter}: {message}")
