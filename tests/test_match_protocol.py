"""The protocol's [matching] table: the serving defaults of `trial match recommend`, validated on load."""

from __future__ import annotations

from pathlib import Path

import pytest

from trial.errors import InputError
from trial.protocol import load_protocol, parse_protocol

BC16 = Path(__file__).resolve().parents[1] / "protocols" / "bc16-jobmatch.toml"
DJU = Path(__file__).resolve().parents[1] / "protocols" / "digital-jobunivers.toml"


def test_bc16_caps_exposure_and_a_protocol_without_the_table_does_not() -> None:
    assert load_protocol(BC16).matching.max_per_posting == 10
    assert load_protocol(BC16).matching.window_days == 14
    assert load_protocol(DJU).matching.max_per_posting is None


@pytest.mark.parametrize(("line", "key"), [("max_per_posting = 0", "max_per_posting"),
                                           ("window_days = 0", "window_days"), ("cap = 3", "cap")])
def test_a_bad_matching_value_names_its_key(line: str, key: str) -> None:
    text = BC16.read_text(encoding="utf-8").replace("max_per_posting = 10\nwindow_days = 14", line)
    with pytest.raises(InputError, match=key):
        parse_protocol(text)
