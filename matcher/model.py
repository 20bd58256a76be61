"""A trained matcher as a directory: feature space, LightGBM booster and `model.json` (features, training-data
hash, parameters, metrics, package version). A model from another package version is refused, not guessed at.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trial
from matcher.features import FeatureSpace
from matcher.ranker import LambdaRanker
from matcher.schema import FEATURES
from trial.errors import TrialError

FORMAT = "jobmatch-trial/matcher-model/1"


@dataclass
class MatchModel:
    """The feature space and ranker that score (citizen, posting) pairs, with what they were trained on."""

    space: FeatureSpace
    ranker: LambdaRanker
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: str | Path) -> Path:
        out = Path(directory)
        if out.exists() and not out.is_dir():
            raise TrialError(f"{out} is a file; the model is saved as a folder")
        out.mkdir(parents=True, exist_ok=True)
        self.space.save(out)
        self.ranker.save(out)
        meta = {**self.meta, "format": FORMAT, "package_version": trial.__version__, "features": FEATURES,
                "params": self.ranker.params, "best_iteration": self.ranker.best_iteration,
                "model_id": _content_id(out)}
        self.meta = meta
        (out / "model.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n",
                                        encoding="utf-8")
        return out

    @property
    def version(self) -> str:
        """What each recommendation records as its model: the package version and the saved files' content hash."""
        return f"{self.meta.get('package_version', trial.__version__)}+{self.meta.get('model_id', 'unsaved')}"

    @classmethod
    def load(cls, directory: str | Path) -> MatchModel:
        path = Path(directory)
        meta_file = path / "model.json"
        if not meta_file.is_file():
            raise TrialError(f"{path} is not a matcher model folder (no model.json); train one with: trial match train")
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TrialError(f"{meta_file} is not valid JSON; retrain the model") from None
        if meta.get("format") != FORMAT:
            raise TrialError(f"{path} is not a matcher model of format {FORMAT}")
        version = meta.get("package_version")
        if version != trial.__version__:
            raise TrialError(
                f"{path} was trained with jobmatch-trial {version}, this is {trial.__version__}; "
                "retrain it with: trial match train"
            )
        if meta.get("features") != FEATURES:
            raise TrialError(f"{path} uses other features than this version; retrain it with: trial match train")
        space = FeatureSpace.load(path)
        ranker = LambdaRanker.load(path, meta["params"], int(meta["best_iteration"]))
        return cls(space, ranker, meta)


def _content_id(directory: Path) -> str:
    """The first 16 hex digits of SHA-256 over the booster, the feature space and its arrays (not the zip wrapper,
    which carries the time of saving): the same model, the same id.
    """
    import numpy as np

    digest = hashlib.sha256()
    for name in ("booster.txt", "space.json"):
        digest.update((directory / name).read_bytes())
    with np.load(directory / "space.npz") as arrays:
        for name in sorted(arrays.files):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()[:16]
