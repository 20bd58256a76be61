"""The simulated job market's words (occupations, skills, CV and posting phrases), read from vocabulary.toml.

The words are data a person edits, so they live in a TOML file validated on load; a malformed entry is one
InputError naming the file and the entry.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trial.errors import InputError
from trial.files import first_problem
from trial.simulate.claimants import FIELDS


def _known_fields(by_field: dict[str, Any]) -> dict[str, Any]:
    """Keys must be education fields, so a misspelt field is an error rather than a silent zero."""
    unknown = sorted(set(by_field) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown education field '{unknown[0]}' (known: {', '.join(FIELDS)})")
    return by_field


Words = list[Annotated[str, Field(min_length=1)]]
ByField = AfterValidator(_known_fields)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Occupation(_Frozen):
    """One occupation of the hidden job market: what its postings say and whom it attracts."""

    code: str = Field(pattern=r"^\d{4}$")  # DISCO-08, the table's name in the file
    cluster: str
    field_weights: Annotated[dict[str, float], ByField]
    qualification_share: float = Field(ge=0, le=1)
    # Lower bounds: the simulator draws up to 3 desired titles, 2 skills and 2 tasks of an occupation at once.
    titles: Words = Field(min_length=3)
    skills: Words = Field(min_length=2)
    tasks: Words = Field(min_length=2)
    tools: Words = Field(min_length=1)

    @property
    def low_skilled(self) -> bool:
        return self.cluster == "lavkval"


class CvWords(_Frozen):
    """The words around the skills in a CV."""

    universities: Words = Field(min_length=1)
    filler: Words = Field(min_length=2)
    degrees: Annotated[dict[str, str], ByField]
    subjects: Annotated[dict[str, Words], ByField]


class PostingWords(_Frozen):
    filler: Words = Field(min_length=2)


class EmployerWords(_Frozen):
    """Named employers, most popular first, and the parts of made-up company names."""

    public: Words
    private: Words
    name_parts: Words = Field(min_length=1)
    name_suffixes: Words = Field(min_length=1)


class Vocabulary(_Frozen):
    """Everything the simulator writes into CVs and postings."""

    skills: dict[str, Words]  # skill -> the surface forms CVs and postings use for it
    occupations: dict[str, Occupation] = Field(min_length=1)  # in the file's order, which the draws depend on
    cv: CvWords
    postings: PostingWords
    employers: EmployerWords

    @field_validator("occupations", mode="before")
    @classmethod
    def _code_from_table_name(cls, tables: Any) -> Any:
        """An occupation's table is named by its code (`[occupations.2432]`), so no code can appear twice."""
        if not isinstance(tables, dict):
            return tables
        return {code: {**table, "code": code} if isinstance(table, dict) else table for code, table in tables.items()}

    @model_validator(mode="after")
    def _skills_have_forms(self) -> Vocabulary:
        for code, occupation in self.occupations.items():
            missing = [s for s in occupation.skills if s not in self.skills]
            if missing:
                raise ValueError(f"key 'occupations.{code}.skills': '{missing[0]}' is not a key of [skills]")
        return self


def load_vocabulary(path: Path | Traversable | None = None) -> Vocabulary:
    """Read and validate the vocabulary (default: the one shipped with the package)."""
    path = path or resources.files("trial.simulate") / "vocabulary.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the vocabulary: {exc.strerror or exc}", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("the vocabulary is not UTF-8 text", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=str(path)) from None
    try:
        return Vocabulary.model_validate(data)
    except ValidationError as exc:
        raise InputError(first_problem(exc), file=str(path)) from None
