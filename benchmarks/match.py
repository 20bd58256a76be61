"""Benchmark of the matcher (issues 7 and 16): train on ~1,000,000 candidate pairs, recommend for 7,000 treatment-arm
citizens against 30,000 open postings under an exposure cap, and evaluate on an independent market's held-out hires
with and without the cap; prints timings, latency, exposure, ranking quality and peak memory.

Usage: .venv/bin/python benchmarks/match.py [--small]
Targets (2 cores): capped recommend all < 60 s, p95 < 50 ms per citizen, training < 90 s, < 4 GB; on the independent
market at a cap of ~1.5x the mean exposure: top1pct_share at most half, NDCG@10 within 10% and >= 1.3x automatch.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matcher.allocation import allocate, allocate_greedy, best_per_citizen
from matcher.candidates import CandidatePairs, add_market, collect, generate
from matcher.evaluate import evaluate
from matcher.exposure import Cap
from matcher.features import day_numbers
from matcher.model import MatchModel
from matcher.postings import active_on, dedupe
from matcher.schema import BASELINE_CANDIDATES, POOL_PER_SLOT
from matcher.serve import Scorer
from matcher.train import train
from tests.factory import job_cohort
from trial.simulate.jobs import simulate_jobs

SERVE_ON = date(2025, 6, 2)
BATCH = 256  # citizens per batch, as Scorer.recommend_for does by default
CAP = 10  # the cap for this market (about 1.5x the uncapped model's mean exposure per shown posting)


def cohort(rng: np.random.Generator, n: int, prefix: str, first: date, days: int) -> pd.DataFrame:
    """A cohort living in Greater Copenhagen (CPR-like ids suffice here: nothing is pseudonymised)."""
    codes = pd.read_csv(Path(__file__).resolve().parents[1] / "matcher" / "data" / "dk_postcodes.csv",
                        dtype={"postcode": str})["postcode"]
    near = codes[(codes >= "1000") & (codes < "3700")].to_numpy()
    return job_cohort(rng, [f"{prefix}{i:08d}" for i in range(n)], first, days, near)


def as_frames(cvs: pd.DataFrame, postings: pd.DataFrame, hires: pd.DataFrame | None = None) -> tuple:
    """The simulator's frames typed as `matcher.inputs` would read them (files are skipped to time the matcher)."""
    from matcher.geo import coordinates

    c = cvs.rename(columns={"cpr": "person_id"}).copy()
    c["desired_titles"] = c["desired_titles"].str.split(";")
    c["latitude"], c["longitude"] = coordinates(c)
    p = postings.copy()
    p["published_on"] = pd.to_datetime(p["published_on"])
    p["deadline"] = pd.to_datetime(p["deadline"])
    p["latitude"], p["longitude"] = coordinates(p)
    h = None
    if hires is not None:
        h = hires.rename(columns={"cpr": "person_id"}).assign(hired_on=lambda f: pd.to_datetime(f["hired_on"]))
    return c, p, h


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="CI size: 500 citizens, 3,000 postings")
    args = parser.parse_args()
    n_citizens, n_open, n_history, n_train_postings = (7000, 30000, 6000, 70000) if not args.small else \
        (500, 3000, 600, 8000)
    load = os.getloadavg()[0]
    print(f"matcher benchmark ({'small' if args.small else 'full'}): {n_citizens:,} treatment citizens x "
          f"{n_open:,} open postings; load average {load:.1f} on {os.cpu_count()} cores")

    # Training market: the historical cohort over ten months.
    rng = np.random.default_rng(1)
    history = cohort(rng, n_history, "H", date(2024, 1, 1), 240)
    t0 = time.perf_counter()
    market = simulate_jobs(np.random.default_rng(2), history.iloc[:0], history, n_postings=n_train_postings,
                           start=date(2023, 12, 1), end=date(2024, 11, 1))
    print(f"simulate training market: {time.perf_counter() - t0:.1f} s ({len(market.postings):,} postings, "
          f"{len(market.hires):,} hires)")
    cvs, postings, hires = as_frames(market.cvs, market.postings, market.hires)
    t0 = time.perf_counter()
    model = train(cvs, postings, hires)
    m = model.meta["metrics"]
    print(f"training: {time.perf_counter() - t0:.1f} s in all, LightGBM {m['seconds_lightgbm']:.1f} s, on "
          f"{m['candidate_pairs']:,} candidate pairs ({m['queries']:,} citizens, {model.ranker.best_iteration} trees)")

    # Serving market: n_open jobs (plus their copies on a second portal) all open on the serving day.
    people = cohort(rng, n_citizens, "T", date(2025, 5, 1), 30)
    serve_market = simulate_jobs(np.random.default_rng(3), people, people.iloc[:0],
                                 n_postings=int(n_open * 1.2), start=date(2025, 5, 20), end=SERVE_ON)
    s_cvs, s_postings, _ = as_frames(serve_market.cvs, serve_market.postings)

    t0 = time.perf_counter()
    kept, _ = dedupe(s_postings)
    open_now = active_on(kept, SERVE_ON)
    t_dedupe = time.perf_counter() - t0
    scorer = Scorer(model, open_now, on=SERVE_ON)
    t_prepare = time.perf_counter() - t0 - t_dedupe
    scored = scorer.recommend_for(s_cvs, top=10, batch_size=BATCH, cap=Cap(CAP))
    total = time.perf_counter() - t0
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in scored.seconds.items())
    print(f"recommend all under a cap of {CAP} per 14 days: {total:.1f} s for {len(s_cvs):,} citizens against "
          f"{len(open_now):,} open postings (dedupe {t_dedupe:.1f} s, postings prepared {t_prepare:.1f} s; {steps}); "
          f"{len(scored.table):,} rows")
    summary = scored.summary
    print("exposure of one run (citizens per posting):")
    rows = [("model, uncapped", summary.model_uncapped, None),
            (f"model, cap {CAP}", summary.model, summary.alternative_share),
            ("automatch", summary.automatch, summary.automatch_alternative_share)]
    for label, e, alt in rows:
        also = f"  alternatives {alt:.0%}" if alt is not None else ""
        print(f"  {label:16s} max {e.max_per_posting:5d}  mean {e.mean_per_posting:5.2f}  gini {e.gini:.3f}  "
              f"top1% {e.top1pct_share:6.2%}  coverage {e.coverage:6.2%}{also}")
    print(f"  slots moved by the cap {summary.changed_slots:.1%}, short lists {summary.short_lists}; "
          f"cap / uncapped mean = {CAP / summary.model_uncapped.mean_per_posting:.2f}")

    # Per-citizen latency against the prepared postings, as a service would answer one consultant.
    sample = np.random.default_rng(4).choice(len(s_cvs), size=min(200, len(s_cvs)), replace=False)
    latency = []
    for i in sample:
        t1 = time.perf_counter()
        scorer.recommend_for(s_cvs.iloc[[i]], top=10)
        latency.append(time.perf_counter() - t1)
    p50, p95 = np.percentile(np.array(latency) * 1000, [50, 95])
    print(f"latency per citizen: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(sample)} citizens one at a time)")

    # LightGBM predict alone on the same candidate rows, in the same run.
    cit = model.space.prepare_citizens(s_cvs)
    ref = np.full(len(cit), day_numbers([SERVE_ON])[0])
    pairs = collect(generate(model.space, cit, scorer.post, ref, k=scorer.k, k_baseline=BASELINE_CANDIDATES,
                             batch_size=BATCH), len(cit), "scored")
    add_market(model.space, pairs, cit, scorer.post, ref, window_days=0)
    rows = pairs.features
    t1 = time.perf_counter()
    predicted = model.ranker.score(rows)
    predict = time.perf_counter() - t1
    print(f"LightGBM predict alone: {predict:.2f} s ({model.ranker.best_iteration} trees) on {len(rows):,} "
          f"candidate rows; ratio recommend/predict {total / predict:.2f}")
    # The floor of candidate retrieval: choosing the top K of every open posting, batch by batch, costs this much
    # whatever the scores are (random ones here, same shape and dtype as the retrieval scores).
    kk = min(scorer.k, len(open_now))
    scores = np.random.default_rng(5).random((BATCH, len(open_now)), dtype=np.float32)
    t1 = time.perf_counter()
    for start in range(0, len(s_cvs), BATCH):
        np.argpartition(scores[: min(BATCH, len(s_cvs) - start)], kk - 1, axis=1)
    top_k = time.perf_counter() - t1
    print(f"top-{kk} selection alone (np.argpartition of {len(s_cvs):,} x {len(open_now):,} float32 scores in "
          f"batches of {BATCH}): {top_k:.3f} s; ratio top-K/predict {top_k / predict:.2f}")
    # The reasons the issue asks for: LightGBM's pred_contrib on the shown rows only. Its cost per row is far
    # above predict's and grows with the trees just as predict does, so no model size brings the ratio under it.
    t1 = time.perf_counter()
    model.ranker.contributions(scored.features)
    contrib = time.perf_counter() - t1
    print(f"reasons alone (pred_contrib on the {len(scored.features):,} shown rows): {contrib:.2f} s; "
          f"ratio reasons/predict {contrib / predict:.2f}")
    greedy_loss = compare_allocations(pairs, predicted)
    independent = independent_market(model, n_citizens, n_open)
    print(f"peak memory: {peak_mb():,.0f} MB")
    verdict = {
        "capped recommend all < 60 s": total < 60, "p95 < 50 ms": p95 < 50,
        "training < 90 s": m["seconds_total"] < 90, "peak < 4 GB": peak_mb() < 4096,
        "ratio < 4": total / predict < 4, "greedy never better": greedy_loss >= -1e-9, **independent,
    }
    label = "targets (set for the full size): " if args.small else "targets: "
    print(label + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in verdict.items()))


def compare_allocations(pairs: CandidatePairs, scores: np.ndarray) -> float:
    """The serving day's allocation under the cap, exact (HiGHS) and greedy, on the same pools: time and loss."""
    pool = best_per_citizen(pairs.search, pairs.posting, scores, POOL_PER_SLOT * 10)
    args = (pairs.search[pool], pairs.posting[pool], scores[pool] - scores[pool].min() + 1.0)
    room = np.full(int(pairs.posting.max()) + 1, CAP)
    t1 = time.perf_counter()
    exact = allocate(*args, top=10, room=room)
    t_exact = time.perf_counter() - t1
    t1 = time.perf_counter()
    greedy = allocate_greedy(*args, top=10, room=room)
    t_greedy = time.perf_counter() - t1
    weight = args[2]
    loss = 1 - weight[greedy].sum() / weight[exact].sum()
    print(f"allocation alone (one day, {int(pool.sum()):,} pairs, cap {CAP}): exact (HiGHS LP) {t_exact:.2f} s, "
          f"{int(exact.sum()):,} slots; greedy {t_greedy:.2f} s, {int(greedy.sum()):,} slots, "
          f"{loss:.2%} less score (scores shifted to be positive)")
    return float(loss)


def independent_market(model: MatchModel, n_citizens: int, n_open: int) -> dict[str, bool]:
    """Held-out hires of a market the model never saw: a cohort registered within a month and its hires over the
    months after, evaluated without and with a cap; the verdict is the one over the whole test period.
    """
    rng = np.random.default_rng(6)
    people = cohort(rng, n_citizens, "E", date(2025, 3, 1), 30)
    t0 = time.perf_counter()
    # About 3,500 jobs open at a time: each simulated hire weighs every open job (above 4,000 only a sample), as in
    # the training market, so the held-out hires are as predictable as the ones the model learned from.
    market = simulate_jobs(np.random.default_rng(7), people.iloc[:0], people, n_postings=int(n_open * 0.8),
                           start=date(2025, 2, 1), end=date(2025, 9, 1))
    cvs, postings, hires = as_frames(market.cvs, market.postings, market.hires)
    cvs["sex"] = people["sex"].to_numpy()
    print(f"independent market: {len(cvs):,} citizens, {len(postings):,} postings, {len(hires):,} hires "
          f"({time.perf_counter() - t0:.1f} s to simulate)")
    t0 = time.perf_counter()
    verdict: dict[str, bool] = {}
    # First the cap counted over the whole test period (the "mean exposure over the test period"), then
    # over 14-day windows as served, each at 1.5x the uncapped model's mean exposure on the same footing.
    # The simulated hires have no capacity (a job may be hired into several times), so a cap turns away hits a real
    # market could not have had; last, the whole-period cap again on each job's first held-out hire only.
    first_hires = hires.sort_values("hired_on", kind="stable").drop_duplicates("posting_id")
    for window, held_out, which in ((400, hires, ""), (14, hires, ""),
                                    (400, first_hires, " (each job's first hire only: capacity one)")):
        plain = evaluate(model, cvs, postings, held_out, since=date(2025, 1, 1), cap=Cap(10**6, window))
        mean = plain["model"]["exposure"]["mean_per_posting"]
        cap = round(1.5 * mean)
        capped = evaluate(model, cvs, postings, held_out, since=date(2025, 1, 1), cap=Cap(cap, window))
        print(f"  window {window} days, cap {cap} (1.5x the uncapped mean {mean:.2f}); {capped['test']['hires']:,} "
              f"held-out hires{which}; NDCG@10 capped / uncapped {capped['cap']['ndcg_kept']:.2f}")
        for label, r in (("model", capped["model"]), (f"model, cap {cap}", capped["model_capped"]),
                         ("automatch", capped["baseline"])):
            e = r["exposure"]
            print(f"    {label:14s} NDCG@10 {r['ndcg_at_10']:.3f}  Recall@10 {r['recall_at_10']:.3f}  alternatives "
                  f"{r['alternative_share']:.0%}  max {e['max_per_posting']:4d}  mean {e['mean_per_posting']:5.2f}  "
                  f"gini {e['gini']:.3f}  top1% {e['top1pct_share']:6.2%}  coverage {e['coverage']:6.2%}")
        if which:
            verdict["NDCG within 10%, capacity one"] = _done_when(capped, cap)["NDCG within 10%"]
        else:
            verdict = verdict or _done_when(capped, cap)
    print(f"  evaluated six times in {time.perf_counter() - t0:.1f} s")
    return verdict


def _done_when(capped: dict[str, Any], cap: int) -> dict[str, bool]:
    """The issue's checks of a capped evaluation."""
    model_, cut, auto = capped["model"], capped["model_capped"], capped["baseline"]
    return {
        "cap holds": cut["exposure"]["max_per_posting"] <= cap,
        "top1% halved": cut["exposure"]["top1pct_share"] <= 0.5 * model_["exposure"]["top1pct_share"],
        "NDCG within 10%": cut["ndcg_at_10"] >= 0.9 * model_["ndcg_at_10"],
        "NDCG >= 1.3x automatch": cut["ndcg_at_10"] >= 1.3 * auto["ndcg_at_10"],
        "alternatives >= 30%": cut["alternative_share"] >= 0.30,
    }


if __name__ == "__main__":
    main()
