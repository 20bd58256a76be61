"""Blinding of the report: which arm is A, and which way differences and ratios read, so signs never name an arm."""

from __future__ import annotations

import pytest

from reports.blinding import (
    Blinding,
    EffectView,
    arm_order,
    effect_view,
    invert,
    negate,
    statistic_view,
)
from tests.test_report_support import ROSSI_PROTOCOL
from trial.errors import TrialError
from trial.evaluation import blind_order
from trial.protocol import Protocol, load_protocol
from trial.results import DaysSaved, Effect
from trial.results import Test as StatisticalTest  # a name pytest would take for a test class

# Restricted mean days unemployed and hazards of a job in each arm of Rossi's protocol (aid = treatment).
RMST = {"aid": 40.0, "no_aid": 50.0}
HAZARD = {"aid": 0.03, "no_aid": 0.02}


@pytest.fixture(scope="module")
def protocol(tmp_path_factory: pytest.TempPathFactory) -> Protocol:
    path = tmp_path_factory.mktemp("blinding") / "rossi.toml"
    path.write_text(ROSSI_PROTOCOL, encoding="utf-8")
    return load_protocol(path)


Pair = tuple[float, float]


def _view(estimate: float, ci: Pair | None, ci_bootstrap: Pair | None = None, rci: Pair | None = None) -> EffectView:
    return EffectView(estimate=estimate, ci=ci, ci_bootstrap=ci_bootstrap, p=0.04, se=1.5, rci=rci)


def _order(protocol: Protocol, first: str) -> tuple[str, str]:
    """The blind order with `first` as A."""
    return (first, next(a.name for a in protocol.arms if a.name != first))


def test_a_difference_is_negated_with_its_intervals_swapped() -> None:
    turned = negate(_view(10.0, (2.0, 18.0), (1.0, 19.0), (-1.0, 21.0)))
    assert turned == _view(-10.0, (-18.0, -2.0), (-19.0, -1.0), (-21.0, 1.0))
    assert negate(turned) == _view(10.0, (2.0, 18.0), (1.0, 19.0), (-1.0, 21.0))
    assert negate(_view(3.0, None)) == _view(-3.0, None)
    assert negate(None) is None


def test_a_ratio_is_inverted_with_its_interval_swapped() -> None:
    turned = invert(_view(2.0, (1.25, 4.0), rci=(1.0, 5.0)))
    assert turned == _view(0.5, (0.25, 0.8), rci=(0.2, 1.0))
    assert invert(turned) == _view(2.0, (1.25, 4.0), rci=(1.0, 5.0))
    # An interval reaching zero cannot be inverted, and neither can a ratio of zero: both stay as they are.
    assert invert(_view(2.0, (0.0, 4.0)))["ci"] == (0.0, 4.0)
    assert invert(_view(0.0, (0.0, 0.1))) == _view(0.0, (0.0, 0.1))
    assert invert(None) is None


def test_views_keep_only_finite_figures_and_whole_intervals() -> None:
    days = DaysSaved(estimate=5.0, ci=(1.0, 9.0), p=0.01, se=2.0, ci_bootstrap=(0.5, None), rci=(-1.0, 11.0))
    shown = EffectView(estimate=5.0, ci=(1.0, 9.0), ci_bootstrap=None, p=0.01, se=2.0, rci=(-1.0, 11.0))
    assert effect_view(days, days.ci_bootstrap) == shown
    assert effect_view(Effect(estimate=None, ci=(1.0, 2.0))) is None
    assert effect_view(None) is None
    logrank = EffectView(estimate=3.84, ci=None, ci_bootstrap=None, p=0.05, se=None, rci=None)
    assert statistic_view(StatisticalTest(statistic=3.84, p=0.05)) == logrank
    assert statistic_view(None) is None


def test_unblinded_the_treatment_arm_comes_first_and_nothing_is_turned(protocol: Protocol) -> None:
    for order in (None, ("aid", "no_aid"), ("no_aid", "aid")):
        page = Blinding.of(protocol, False, order)
        assert page.order == ("aid", "no_aid") and not page.flip
    hr = Effect(estimate=1.5, ci=(1.1, 2.0))
    assert Blinding.of(protocol, False).ratio(hr) == effect_view(hr)


def test_blinded_the_order_comes_from_a_key_the_page_never_sees(protocol: Protocol) -> None:
    """The same key gives the same A every time; different keys give either arm; no order, no blinded page."""
    firsts = {blind_order(protocol, f"key {i}".encode())[0] for i in range(20)}
    assert firsts == {"aid", "no_aid"}
    assert blind_order(protocol, b"the trial's key") == blind_order(protocol, b"the trial's key")
    assert arm_order(protocol, True, ("no_aid", "aid")) == ["no_aid", "aid"]
    with pytest.raises(TrialError):
        arm_order(protocol, True, None)


@pytest.mark.parametrize("first", ["aid", "no_aid"])
def test_blinded_effects_read_a_minus_b_and_b_relative_to_a(protocol: Protocol, first: str) -> None:
    """Whichever arm is A, the days read RMST(A) − RMST(B) and the hazard ratio B relative to A."""
    page = Blinding.of(protocol, True, _order(protocol, first))
    a, b = page.order
    assert a == first and page.flip == (first == "aid")
    # The analysis: days saved = RMST(control) − RMST(treatment); HR = treatment relative to control.
    days = Effect(estimate=RMST["no_aid"] - RMST["aid"], ci=(4.0, 16.0))
    hr = Effect(estimate=HAZARD["aid"] / HAZARD["no_aid"], ci=(1.2, 1.9))
    shown_days, shown_hr = page.difference(days), page.ratio(hr)
    assert shown_days is not None and shown_hr is not None
    assert shown_days["estimate"] == pytest.approx(RMST[a] - RMST[b])
    assert shown_hr["estimate"] == pytest.approx(HAZARD[b] / HAZARD[a])
    low, high = shown_days["ci"] or (None, None)
    assert low is not None and high is not None and low < shown_days["estimate"] < high
    low, high = shown_hr["ci"] or (None, None)
    assert low is not None and high is not None and low < shown_hr["estimate"] < high


@pytest.mark.parametrize("lang", ["da", "en"])
def test_blinded_arm_slots_name_no_arm(protocol: Protocol, lang: str) -> None:
    word = "Gruppe" if lang == "da" else "Group"
    names = [w for arm in protocol.arms for w in (arm.name, arm.label_da, arm.label_en, arm.role)]
    for first in ("aid", "no_aid"):
        slots = Blinding.of(protocol, True, _order(protocol, first)).slots(protocol, lang, word)
        assert [(s.slot, s.letter, s.legend) for s in slots] == [("1", "A", f"{word} A"), ("2", "B", f"{word} B")]
        assert all(s.label is None and s.role is None for s in slots)
        shown = repr(slots)
        assert not [name for name in names if name in shown]
        # Colours go by place on the page, never by arm, so they say nothing either.
        assert [s.colour for s in slots] == [s.colour for s in Blinding.of(protocol, False).slots(protocol, lang, word)]


def test_unblinded_arm_slots_carry_the_labels(protocol: Protocol) -> None:
    slots = Blinding.of(protocol, False).slots(protocol, "da", "Gruppe")
    assert [(s.label, s.role, s.legend) for s in slots] == [
        ("Økonomisk støtte", "treatment", "Økonomisk støtte"),
        ("Ingen støtte", "control", "Ingen støtte"),
    ]
    assert [s.label for s in Blinding.of(protocol, False).slots(protocol, "en", "Group")] == [
        "Financial support",
        "No support",
    ]
