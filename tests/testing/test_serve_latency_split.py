"""``simulate serve`` says how its latency is split around the arrival, and takes a flag for it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from esploro_async.cli.app import cli
from esploro_async.testing.__main__ import _describe, build_parser
from esploro_async.testing.faults import Latency


def test_the_help_documents_the_split() -> None:
    result = CliRunner().invoke(cli, ["simulate", "serve", "--help"])
    assert result.exit_code == 0
    assert "--before-arrival" in result.output
    assert "before the" in result.output
    assert "safety margin" in result.output


def test_the_flag_reaches_the_simulator_and_its_banner() -> None:
    args = build_parser().parse_args(["serve", "--latency", "0.2:0.8", "--before-arrival", "0.02"])
    assert args.before_arrival == 0.02
    assert _describe(args.latency, args.before_arrival) == (
        "0.2-0.8 s, 2% of it before arrival (--before-arrival)"
    )
    assert build_parser().parse_args(["serve"]).before_arrival == 0.5
    assert _describe(Latency.fixed(0.3), 0.5).startswith("0.3 s, 50%")


@pytest.mark.parametrize("value", ["-0.1", "1.5", "x"])
def test_a_fraction_outside_0_to_1_is_refused(value: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--before-arrival", value])
    result = CliRunner().invoke(cli, ["simulate", "serve", "--before-arrival", value])
    assert result.exit_code == 2
