"""The consultant's outputs: one CSV of all recommendations, one HTML page per citizen (Jinja2) and one list per
citizen with a column to tick what was shown, which `trial match shown` reads back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

import trial
from matcher.serve import Recommendations
from trial.errors import TrialError

# The per-citizen list: what identifies each recommendation in the log, what the consultant recognises, and `vist`.
LIST_COLUMNS = ["person_id", "served_on", "consultant_id", "rank", "posting_id", "title", "employer", "deadline"]


def write_outputs(recommendations: Recommendations, out_dir: str | Path, *, trained_until: str = "") -> dict[str, Path]:
    """Write `recommendations.csv`, `pages/<person_id>.html`, `lists/<person_id>.csv` and the run's exposure in
    `summary.json`; returns the paths written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TrialError(f"{out} is a file; recommendations are written into a folder")
    (out / "pages").mkdir(parents=True, exist_ok=True)
    (out / "lists").mkdir(exist_ok=True)
    table = recommendations.table
    csv_path = out / "recommendations.csv"
    table.to_csv(csv_path, index=False)
    written = {"csv": csv_path, "pages": out / "pages", "lists": out / "lists"}
    if recommendations.summary is not None:
        written["summary"] = out / "summary.json"
        summary = {"on": recommendations.on.isoformat(), "served": recommendations.served,
                   "refused": recommendations.refused} | recommendations.summary.to_dict()
        written["summary"].write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    env = Environment(loader=PackageLoader("matcher", "templates"), autoescape=select_autoescape(["html", "j2"]))
    template = env.get_template("citizen.html.j2")
    for person_id, rows in table.groupby("person_id", sort=True):
        records = []
        for r in rows.sort_values("rank").itertuples(index=False):
            record = r._asdict()
            record["reasons"] = [t for t in (r.reason_1, r.reason_2, r.reason_3) if isinstance(t, str) and t]
            records.append(record)
        html = template.render(person_id=person_id, rows=records, on=recommendations.on,
                               trained_until=trained_until, version=trial.__version__)
        (out / "pages" / f"{person_id}.html").write_text(html, encoding="utf-8")
        write_list(rows, out / "lists" / f"{person_id}.csv")
    return written


def write_list(rows: pd.DataFrame, path: Path) -> None:
    """One citizen's list with an empty `vist` column for the consultant to tick (x) what was shown at the meeting:
    semicolon-separated UTF-8 with a byte-order mark, so Danish Excel opens it in columns.
    """
    listed = rows.sort_values("rank")[LIST_COLUMNS].assign(vist="")
    listed.to_csv(path, index=False, sep=";", encoding="utf-8-sig")

