"""What the treatment arm was shown, for the analysis: which log rows count as receipt, how concentrated the
recommendations were across postings, and the intention-to-treat and complier effects with standard errors clustered
by consultant.

Receipt means shown once consultants confirm what they showed (`trial match shown`); before any confirmation it falls
back to every recommendation generated, and the result says which. Exposure is measured as the matcher measures it
(`matcher.exposure.measure`), so the analysis and `trial match recommend` report the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from trial.results import CACE_ASSUMPTIONS, ClusteredEffect, ConsultantClusters, LogExposure
from trial.rmst import Cells, pseudo_observations

KEY = ["person_id", "posting_id", "served_on"]
Basis = Literal["shown", "generated"]
RECEIPT = {
    "generated": CACE_ASSUMPTIONS[-1] + " (no consultant confirmed what was shown: every list generated counts)",
    "shown": "receipt counts recommendations a consultant confirmed as shown (trial match shown), served before the "
             "data cut while the person was in the index spell; lists never confirmed count as not shown",
}
CLUSTER_METHOD = (
    "jackknife pseudo-observations of the pooled Kaplan-Meier RMST to the horizon (control − treatment); intention to "
    "treat: OLS on the arm; complier effect: the arm instrumenting receipt (Wald / just-identified two-stage least "
    "squares), its sandwich from the OLS of pseudo-observation − effect × receipt on the arm divided by the receipt "
    "difference; standard errors cluster-robust by consultant (statsmodels cov_type='cluster', CR1 correction), "
    "normal intervals"
)
CLUSTER_NOTE = (
    "the log records consultants of the treatment arm only: control-arm participants and treated ones never served "
    "are clusters of their own, so the clustering captures dependence among treated people who share a consultant"
)


@dataclass(frozen=True)
class Display:
    """The log rows that count as receipt (person_id, posting_id, shown_at, consultant_id), their basis, and the
    generated rows confirmed as not shown or never confirmed (both 0 on the 'generated' basis).
    """

    rows: pd.DataFrame
    basis: Basis
    confirmed_not_shown: int
    unconfirmed: int


def displayed(recommendations: pd.DataFrame, confirmations: pd.DataFrame | None) -> Display:
    """Confirmed-shown rows (on the day they were served) when any confirmation exists, else every generated row.

    The latest confirmation of a recommendation counts; its consultant is the confirming one where recorded.
    """
    columns = ["person_id", "posting_id", "shown_at", "consultant_id"]
    log = recommendations.copy()
    for name in ("served_on", "consultant_id"):
        if name not in log:
            log[name] = log["shown_at"].astype(str).str.slice(0, 10) if name == "served_on" else None
    if confirmations is None or confirmations.empty:
        return Display(log[columns].reset_index(drop=True), "generated", 0, 0)
    latest = confirmations.drop_duplicates(KEY, keep="last").rename(
        columns={"status": "confirmed", "consultant_id": "confirmed_by"})
    merged = log.drop_duplicates(KEY, keep="last").merge(latest[[*KEY, "confirmed", "confirmed_by"]], on=KEY,
                                                          how="left")
    shown = merged[merged["confirmed"] == "shown"]
    who = shown["confirmed_by"].where(shown["confirmed_by"].notna(), shown["consultant_id"])
    rows = pd.DataFrame({"person_id": shown["person_id"].to_numpy(), "posting_id": shown["posting_id"].to_numpy(),
                         "shown_at": shown["served_on"].to_numpy(), "consultant_id": who.to_numpy()})
    status = merged["confirmed"]
    return Display(rows, "shown", int((status == "not_shown").sum()), int(status.isna().sum()))


def log_exposure(rows: pd.DataFrame, basis: Basis, window_days: int, caps: list[int]) -> LogExposure | None:
    """Exposure of the rows as `matcher.exposure.measure` counts it: distinct citizens per posting and window."""
    from matcher.exposure import Shows, measure

    if rows.empty:
        return None
    posting, postings = pd.factorize(rows["posting_id"].astype(str))
    day = pd.to_datetime(rows["shown_at"].astype(str).str.slice(0, 10)).to_numpy().astype("datetime64[D]")
    shows = Shows(rows["person_id"].to_numpy(), posting.astype(np.int64), day.astype(np.int64))
    found = measure(shows, open_postings=len(postings), window_days=window_days)
    return LogExposure(basis=basis, citizens=int(rows["person_id"].nunique()), postings=len(postings),
                       slots=found.slots, max_per_posting=found.max_per_posting,
                       mean_per_posting=found.mean_per_posting, gini=found.gini, top1pct_share=found.top1pct_share,
                       window_days=window_days, caps=caps)


def caps_in_force(recommendations: pd.DataFrame) -> tuple[list[int], int | None]:
    """The caps the log records (sorted) and the window most of its capped rows were served under (None if none)."""
    if "max_per_posting" not in recommendations:
        return [], None
    capped = recommendations[recommendations["max_per_posting"].notna()]
    caps = sorted({int(c) for c in capped["max_per_posting"]})
    windows = capped["window_days"].dropna()
    return caps, int(windows.astype(int).mode().iloc[0]) if len(windows) else None


def consultants(display: Display, recommendations: pd.DataFrame) -> pd.Series:
    """Each served person's consultant: of their first row that counts as receipt, else of their first generated
    row; people with neither are absent.
    """
    rows = pd.concat([display.rows, recommendations.reindex(columns=display.rows.columns)], ignore_index=True)
    named = rows[rows["consultant_id"].notna() & (rows["consultant_id"].astype(str) != "")]
    return named.drop_duplicates("person_id").set_index("person_id")["consultant_id"].astype(str)


def cluster_codes(person_ids: pd.Series, consultant_of: pd.Series) -> tuple[np.ndarray, int]:
    """Cluster numbers: one per consultant, and a cluster of their own for everyone without one; and how many
    people have a consultant.
    """
    named = person_ids.map(consultant_of)
    codes, _ = pd.factorize(named)
    alone = codes < 0
    codes[alone] = codes.max(initial=-1) + 1 + np.arange(int(alone.sum()))
    return codes, int((~alone).sum())


def clustered_pair(time: np.ndarray, ended: np.ndarray, treated: np.ndarray, received: np.ndarray,
                   groups: np.ndarray, horizon: float, alpha: float) -> tuple[ClusteredEffect, ClusteredEffect | None]:
    """Days saved (control − treatment) to the horizon, intention to treat and among compliers, with standard
    errors cluster-robust by `groups` (statsmodels) beside the heteroskedasticity-robust (HC1) ones.
    """
    from scipy import stats
    from statsmodels.regression.linear_model import OLS

    cells = Cells.of(time, ended, horizon)
    saved = -pseudo_observations(cells.counts(), cells.gaps).reshape(-1)[cells.cell]
    x = np.column_stack([np.ones(len(saved)), treated.astype(float)])
    cluster = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    itt = OLS(saved, x).fit(**cluster)
    plain = OLS(saved, x).fit(cov_type="HC1")
    low, high = itt.conf_int(alpha=alpha)[1]
    intention = ClusteredEffect(estimate=itt.params[1], se=itt.bse[1], ci=(low, high), p=itt.pvalues[1],
                                se_unclustered=plain.bse[1], estimand="itt")
    receipt = OLS(received.astype(float), x).fit().params[1]
    if not receipt > 0:
        return intention, None
    effect = itt.params[1] / receipt
    z = float(stats.norm.ppf(1 - alpha / 2))
    # At the IV estimate the arm's coefficient for saved − effect × received is zero, and its cluster-robust SE
    # over the receipt difference is the just-identified IV sandwich (tests/test_exposure_analysis.py).
    se = OLS(saved - effect * received, x).fit(**cluster).bse[1] / receipt
    se_plain = OLS(saved - effect * received, x).fit(cov_type="HC1").bse[1] / receipt
    complier = ClusteredEffect(estimate=effect, se=se, ci=(effect - z * se, effect + z * se),
                               p=float(2 * stats.norm.sf(abs(effect / se))) if se > 0 else None,
                               se_unclustered=se_plain, estimand="cace")
    return intention, complier


def by_consultant(benefit: pd.DataFrame, frame: pd.DataFrame, treatment: str, received: np.ndarray,
                  consultant_of: pd.Series, horizon: float, alpha: float) -> ConsultantClusters | None:
    """Days on benefit saved and days saved, intention to treat and among compliers, clustered by consultant; None
    when the log names no consultant.

    `received` is aligned with `benefit` (everyone randomised); `frame` holds those with an index spell.
    """
    if consultant_of.empty:
        return None
    effects: dict[str, ClusteredEffect] = {}
    got = set(benefit.loc[received, "person_id"])
    people = {}
    for name, data, time, ended, mask in (
        ("benefit_days_saved", benefit, "benefit_time", "benefit_ended", received),
        ("days_saved", frame, "time", "event", frame["person_id"].isin(got).to_numpy()),
    ):
        groups, people[name] = cluster_codes(data["person_id"], consultant_of)
        treated = (data["arm"] == treatment).to_numpy()
        itt, cace = clustered_pair(data[time].to_numpy(float), data[ended].to_numpy(), treated, mask, groups,
                                   horizon, alpha)
        effects[name] = itt.model_copy(update={"outcome": name})
        if cace is not None:
            effects[f"cace_{name}"] = cace.model_copy(update={"outcome": name})
    named = benefit["person_id"].map(consultant_of)
    return ConsultantClusters(
        method=CLUSTER_METHOD, consultants=int(named.nunique()), people_with_consultant=people["benefit_days_saved"],
        people=len(benefit), effects=effects, notes=[CLUSTER_NOTE],
    )
