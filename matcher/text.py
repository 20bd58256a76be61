"""Danish text to features: stemmed words with learned compound splitting, and character n-grams for titles.

Vectorisers are stored as plain vocabularies and IDF weights (JSON), never pickles, so a model directory is data.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
import snowballstemmer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

_WORD = re.compile(r"[a-zæøåäöü0-9#+]+(?:[-.][a-zæøåäöü0-9#+]+)*")
# Words so common in CVs and postings that they only add noise to similarities.
_STOP_TEXT = """
og i at på til med for af en et er som den det de vi du jeg har der om ikke eller kan skal vil være os din dit
dine vores mit min mine sig fra hos har havde blev bliver samt men så også ved når hvor hvad nogle alle andre
over under efter inden mellem gennem blandt meget mere mest god gode godt stor store nye ny søger søg søge
arbejde arbejder erfaring erfaringer stilling stillingen job kompetencer kendskab fordel tilbyder forventer
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
_MIN_PART = 4


class DanishAnalyzer:
    """Lower-case words, drop stop words, Snowball-stem, and split compounds into known stems as well."""

    def __init__(self, lexicon: Iterable[str] = ()) -> None:
        self.stemmer = snowballstemmer.stemmer("danish")
        self.lexicon = frozenset(lexicon)
        self._cache: dict[str, tuple[str, ...]] = {}

    def words(self, text: str) -> list[str]:
        return [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS and len(w) > 1]

    def stem(self, word: str) -> str:
        return self.stemmer.stemWord(word)

    def _terms(self, word: str) -> tuple[str, ...]:
        stem = self.stem(word)
        if len(word) < 2 * _MIN_PART:
            return (stem,)
        # Danish compounds (dataanalysemodel = data + analyse + model): keep the word and add its known parts.
        parts = self._split(word, depth=2)
        return (stem, *parts) if parts else (stem,)

    def _split(self, word: str, depth: int) -> list[str] | None:
        for cut in range(len(word) - _MIN_PART, _MIN_PART - 1, -1):
            tail_stem = self.stem(word[cut:])
            if tail_stem not in self.lexicon:
                continue
            head = word[:cut]
            # A linking -s- or -e- (kommunikations|plan) may join the parts.
            for left in (head, head[:-1] if head[-1] in "se" else ""):
                if len(left) < _MIN_PART:
                    continue
                if self.stem(left) in self.lexicon:
                    # A known head may itself be a compound (dataanalyse|model): add its parts too.
                    inner = self._split(left, depth - 1) if depth > 0 and len(left) >= 2 * _MIN_PART else None
                    return [self.stem(left), *(inner or []), tail_stem]
                if depth > 0 and len(left) >= 2 * _MIN_PART:
                    inner = self._split(left, depth - 1)
                    if inner:
                        return [*inner, tail_stem]
        return None

    def __call__(self, text: str) -> list[str]:
        out: list[str] = []
        cache = self._cache
        for word in self.words(text):
            terms = cache.get(word)
            if terms is None:
                terms = cache[word] = self._terms(word)
            out.extend(terms)
        return out


def learn_lexicon(texts: Iterable[str], min_count: int = 3) -> list[str]:
    """Stems of words seen on their own at least `min_count` times: the parts a compound may be split into."""
    plain = DanishAnalyzer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(plain.words(text))
    stems: Counter[str] = Counter()
    for word, n in counts.items():
        if len(word) >= _MIN_PART:
            stems[plain.stem(word)] += n
    return sorted(s for s, n in stems.items() if n >= min_count and len(s) >= _MIN_PART - 1)


class TfidfModel:
    """TF-IDF (sublinear tf, L2 rows) over a fixed vocabulary, for words or for character n-grams of titles."""

    def __init__(self, kind: str, vocabulary: dict[str, int], idf: np.ndarray, lexicon: list[str] | None = None):
        self.kind = kind
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)
        self._idf32 = self.idf.astype(np.float32)
        self.lexicon = lexicon or []
        if kind == "words":
            analyzer: Any = DanishAnalyzer(self.lexicon)
            self._counter = CountVectorizer(analyzer=analyzer, vocabulary=vocabulary, dtype=np.float32)
        else:
            self._counter = CountVectorizer(analyzer="char_wb", ngram_range=(3, 5), vocabulary=vocabulary,
                                            dtype=np.float32)

    @classmethod
    def fit(cls, kind: str, texts: list[str], *, min_df: int = 2, max_df: float = 0.5) -> TfidfModel:
        """Learn vocabulary and IDF from `texts` (postings only, so no citizen's words end up in a model file)."""
        lexicon = learn_lexicon(texts) if kind == "words" else None
        if kind == "words":
            vec = TfidfVectorizer(analyzer=DanishAnalyzer(lexicon), min_df=min_df, max_df=max_df, sublinear_tf=True)
        else:
            vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=min_df, sublinear_tf=True)
        vec.fit(texts)
        vocabulary = {t: int(i) for t, i in vec.vocabulary_.items()}
        return cls(kind, vocabulary, vec.idf_, lexicon)

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        counts = self._counter.transform([t.lower() if self.kind == "chars" else t for t in texts]).tocsr()
        counts.data = 1.0 + np.log(counts.data)
        # Scale each stored value by its column's IDF in place (cheaper than a product with a diagonal matrix).
        counts.data *= self._idf32[counts.indices]
        return normalize(counts, norm="l2", copy=False)

    def to_dict(self) -> dict[str, Any]:
        # The IDF at full precision (JSON floats round-trip exactly): rounded, a reloaded model flipped tree splits and
        # scored some pairs up to 0.06 apart from the model just trained.
        return {"kind": self.kind, "vocabulary": self.vocabulary, "idf": self.idf.tolist(),
                "lexicon": self.lexicon}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TfidfModel:
        return cls(data["kind"], data["vocabulary"], np.array(data["idf"]), data.get("lexicon"))
