"""The trial secret: it keys the pseudonyms and the allocation sequence, and never enters the ledger."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from trial.cpr import excel_hint
from trial.errors import InputError, SecretError

ENV_VAR = "TRIAL_SECRET"  # the secret itself
FILE_ENV_VAR = "TRIAL_SECRET_FILE"  # the path of a file holding it
MIN_LENGTH = 16
PSEUDONYM_HEX = 32  # 128 bits of HMAC-SHA256: collision-free at any municipal scale, short enough to read
SCREENING_TOKEN_HEX = 16  # 64 bits: distinct for millions of people screened, yet shorter than a pseudonym
SOURCES_HELP = "--secret-file, $TRIAL_SECRET_FILE (a path) or $TRIAL_SECRET (the secret itself)"


def secret_given(secret_file: str | Path | None = None) -> bool:
    """Whether any source of the secret is set, so a command that can do without it knows to use it."""
    return secret_file is not None or bool(os.environ.get(FILE_ENV_VAR)) or ENV_VAR in os.environ


def load_secret(secret_file: str | Path | None = None) -> bytes:
    """The secret from `--secret-file`, else the file named by `$TRIAL_SECRET_FILE`, else `$TRIAL_SECRET` itself.

    A secret file must be readable by its owner only; a `$TRIAL_SECRET` naming a file is refused, since using the
    path as the secret would pseudonymise and randomise everyone anew.
    """
    named = os.environ.get(FILE_ENV_VAR) or None
    env = os.environ.get(ENV_VAR)
    if secret_file is None and named is not None and env is not None:
        raise SecretError(f"both {FILE_ENV_VAR} and {ENV_VAR} are set; set only one of them")
    if secret_file is not None or named is not None:
        path = Path(secret_file if secret_file is not None else str(named)).expanduser()
        value = _read_secret_file(path)
        source = f"secret file {path}"
    else:
        if env is None:
            raise SecretError(f"no trial secret: give {SOURCES_HELP} (trial keygen FILE makes one for a new trial)")
        if _names_a_file(env):
            # The value is not echoed: it might be the secret after all.
            raise SecretError(
                f"{ENV_VAR} holds the secret itself, but its value is the name of a file; "
                f"set {FILE_ENV_VAR} to the file (or pass --secret-file) instead"
            )
        value = env.strip().encode("utf-8")
        source = ENV_VAR
    if len(value) < MIN_LENGTH:
        raise SecretError(f"{source} is too short: at least {MIN_LENGTH} characters are needed")
    return value


def _names_a_file(value: str) -> bool:
    text = value.strip()
    try:
        return bool(text) and Path(text).expanduser().exists()
    except (OSError, ValueError):  # a name too long for the file system, say: not a file
        return False


def _read_secret_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SecretError(
            f"secret file {path} not found; give the file this trial's secret was kept in "
            "(a new one from trial keygen suits only a new ledger)"
        ) from None
    if not stat.S_ISREG(mode):
        raise SecretError(f"secret file {path} is not a regular file")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(
            f"secret file {path} is readable by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )
    return path.read_bytes().strip()


def keygen(path: str | Path) -> Path:
    """Write a new random secret with mode 0600, creating its folder with mode 0700; never overwrite a file."""
    path = Path(path).expanduser()
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise SecretError(f"cannot create the folder {folder}: {exc.strerror}") from None
        os.chmod(folder, 0o700)  # mkdir's mode is narrowed by the umask, never widened: set it exactly
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SecretError(f"{path} exists already; a trial secret is never overwritten") from None
    except NotADirectoryError:
        raise SecretError(f"{folder} is a file, not a folder") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    os.chmod(path, 0o600)
    return path


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A sub-key for one purpose (e.g. the allocation sequence), so keys never serve two jobs."""
    return hmac.new(secret, f"jobmatch-trial/{purpose}".encode(), hashlib.sha256).digest()


def pseudonym(cpr10: str, secret: bytes) -> str:
    """The keyed pseudonym of one normalised 10-digit CPR number."""
    return hmac.digest(secret, cpr10.encode("ascii"), "sha256").hex()[:PSEUDONYM_HEX]


def key_check(secret: bytes, salt: str) -> str:
    """HMAC-SHA256 of a fixed label and the ledger's salt under the secret, stored so a wrong secret is refused.

    Testing a guessed secret against it costs one HMAC, no less than testing it against any pseudonym.
    """
    return derive_key(secret, f"key-check/{salt}").hex()


def screening_tokens(cprs: Iterable[str], secret: bytes) -> list[str]:
    """Keyed 64-bit tokens that count the people screened across runs (see `pseudonyms_and_tokens`)."""
    return pseudonyms_and_tokens(cprs, secret)[1]


def pseudonymise_many(cprs: Iterable[str], secret: bytes) -> list[str]:
    """Pseudonyms of many normalised CPR numbers (see `pseudonyms_and_tokens`)."""
    return pseudonyms_and_tokens(cprs, secret)[0]


def pseudonyms_and_tokens(cprs: Iterable[str], secret: bytes) -> tuple[list[str], list[str]]:
    """Pseudonyms and screening tokens of many normalised CPR numbers, from one HMAC-SHA256 each (RFC 2104).

    The pseudonym is the HMAC's first 128 bits, the screening token its next 64: bits of a pseudorandom function,
    so without the secret a token can neither be computed nor joined to its pseudonym. Copying the two pre-keyed
    SHA-256 states per number is about twice as fast as a fresh HMAC object for a weekly extract of 100,000 rows;
    the result is byte-for-byte `hmac.new(secret, cpr, sha256)` (tested).
    """
    key = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(key.translate(hmac.trans_36))
    outer = hashlib.sha256(key.translate(hmac.trans_5C))
    pseudonyms, tokens = [], []
    for cpr in cprs:
        mac = inner.copy()
        mac.update(cpr.encode("ascii"))
        final = outer.copy()
        final.update(mac.digest())
        digest = final.hexdigest()
        pseudonyms.append(digest[:PSEUDONYM_HEX])
        tokens.append(digest[PSEUDONYM_HEX:PSEUDONYM_HEX + SCREENING_TOKEN_HEX])
    return pseudonyms, tokens


def pseudonymise(
    cprs: pd.Series, secret: bytes, *, file: str | None = None, rows: pd.Series | None = None
) -> pd.Series:
    """Pseudonyms of a column of CPR numbers (with or without hyphen); a malformed one is named by its row.

    `rows` are the file's row numbers of the values (default: data rows from 2). Only ASCII digits count:
    A regex digit class would also let Arabic-Indic or full-width digits through to a crash in the ASCII encoding.
    """
    text = cprs.astype(str).str.replace(r"[\s-]", "", regex=True)
    bad = ~text.str.fullmatch(r"[0-9]{10}")
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        row = int(rows.iloc[position]) if rows is not None else position + 2
        raise InputError("not a CPR number (10 digits)" + excel_hint(text.iloc[position]), file=file, row=row,
                         column="cpr")
    return pd.Series(pseudonymise_many(text, secret), index=cprs.index, name="person_id")
