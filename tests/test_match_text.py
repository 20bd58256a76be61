"""Danish tokens: inflections share a stem, compounds add their known parts, vectorisers survive a round trip."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.text import DanishAnalyzer, TfidfModel, learn_lexicon

CORPUS = ["Vi søger en projektleder med erfaring i dataanalyse og analyse af data.",
          "Du har ledelse af projekter, data, analyse og model erfaring.",
          "Data, analyse, model og plan: vi laver analyser af data hver dag.",
          "Kommunikation og plan for kommunikation er kernen i projekt og ledelse."] * 3


def test_inflected_forms_share_a_stem() -> None:
    analyzer = DanishAnalyzer()
    assert analyzer("analyse analysen analyser") == ["analys"] * 3
    assert analyzer("og i at på") == []  # stop words


def test_compounds_are_split_into_known_parts() -> None:
    analyzer = DanishAnalyzer(learn_lexicon(CORPUS))
    terms = analyzer("dataanalysemodel kommunikationsplanen")
    stem = analyzer.stem
    assert {stem("data"), stem("analyse"), stem("model"), stem("kommunikation"), stem("plan")} <= set(terms)
    # The whole word is kept as well, so an exact compound still matches best.
    assert stem("dataanalysemodel") in terms


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["data", "analyse", "model", "plan", "projekt", "ledelse", "xyz"]), min_size=2,
                max_size=3))
def test_a_compound_of_known_words_contains_each_part(parts: list[str]) -> None:
    analyzer = DanishAnalyzer(learn_lexicon(CORPUS))
    word = "".join(parts)
    known = [p for p in parts if analyzer.stem(p) in analyzer.lexicon]
    terms = analyzer(word)
    assert terms[0] == analyzer.stem(word)
    if len(known) == len(parts) and all(len(p) >= 4 for p in parts):
        assert {analyzer.stem(p) for p in parts} <= set(terms)


def test_tfidf_model_round_trips_through_json_exactly() -> None:
    """A saved model must score exactly like the one just trained: the IDF and every weight come back bit for bit."""
    for kind in ("words", "chars"):
        model = TfidfModel.fit(kind, CORPUS, min_df=1)
        again = TfidfModel.from_dict(json.loads(json.dumps(model.to_dict())))
        np.testing.assert_array_equal(model.idf, again.idf)
        a, b = model.transform(CORPUS[:4]), again.transform(CORPUS[:4])
        np.testing.assert_array_equal(a.toarray(), b.toarray())
        norms = np.sqrt(np.asarray(a.multiply(a).sum(1)).ravel())
        np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
