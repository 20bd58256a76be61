"""The simulator's vocabulary file: shipped with the package, loaded and validated, one clear line when malformed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from trial.errors import InputError
from trial.simulate.claimants import FIELDS
from trial.simulate.vocabulary import load_vocabulary

SHIPPED = resources.files("trial.simulate") / "vocabulary.toml"
FIRST = "[occupations.2432]\ncluster = \"kommunikation\"\n"


def test_shipped_vocabulary_loads() -> None:
    vocabulary = load_vocabulary()
    assert SHIPPED.is_file()
    assert len(vocabulary.occupations) == 36
    first = vocabulary.occupations["2432"]
    assert (first.code, first.cluster, first.qualification_share) == ("2432", "kommunikation", 0.9)
    assert first.field_weights == {"humaniora": 3.0, "samfundsvidenskab": 2.0, "erhvervsøkonomi": 1.0}
    assert first.titles[-1] == "presse- og kommunikationsmedarbejder"  # was a value continued on the next line
    assert [code for code, o in vocabulary.occupations.items() if o.low_skilled] == ["4222", "4110", "9333", "5223"]
    assert vocabulary.skills["python"] == ["Python", "python-programmering", "pandas", "Python og SQL"]
    assert set(vocabulary.cv.degrees) == set(FIELDS)
    assert len(vocabulary.employers.public) + len(vocabulary.employers.private) == 40


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "vocabulary.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "message"), [
    (FIRST, FIRST.replace("cluster", "clustre"), "unknown key 'occupations.2432.clustre'"),
    ('titles = ["journalist", "redaktør", "nyhedsredaktør", "webredaktør"]', 'titles = ["journalist", "redaktør"]',
     "key 'occupations.2642.titles': List should have at least 3 items after validation, not 2"),
    ("qualification_share = 0.9", "qualification_share = 9",
     "key 'occupations.2432.qualification_share': Input should be less than or equal to 1 (got 9)"),
    ("humaniora = 3, samfundsvidenskab = 2", "humanoira = 3, samfundsvidenskab = 2",
     "key 'occupations.2432.field_weights': unknown education field 'humanoira' (known: "
     "humaniora, samfundsvidenskab, naturvidenskab, teknisk, sundhed, erhvervsøkonomi)"),
    ('"skriftlig formidling", "sociale medier", "presse"', '"skriftlig formidlin", "sociale medier", "presse"',
     "key 'occupations.2432.skills': 'skriftlig formidlin' is not a key of [skills]"),
    ("[occupations.2642]", "[occupations.26420]", "key 'occupations.26420.code': String should match pattern "
     "'^\\d{4}$' (got '26420')"),
], ids=["unknown key", "too few titles", "share above 1", "unknown field", "skill without forms", "bad code"])
def test_malformed_entry_is_one_line_naming_file_and_entry(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(InputError) as caught:
        load_vocabulary(path)
    assert str(caught.value) == f"{path}: {message}"


def test_not_toml_names_the_file(tmp_path: Path) -> None:
    path = _broken(tmp_path, FIRST, "[occupations.2432\n")
    with pytest.raises(InputError) as caught:
        load_vocabulary(path)
    assert str(caught.value).startswith(f"{path}: not valid TOML: ")
    assert "\n" not in str(caught.value)
