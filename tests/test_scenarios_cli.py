"""The what-if commands end to end on instances/tiny, run inline (no cluster)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from fluxopt.cli.app import cli

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"

SWEEP = """\
name: small
defaults: {time_limit: 10}
scenarios:
  - {name: as-is}
  - {name: wrong, quotas: {no-such-rule: 0.3}}
product:
  name: "q1={quotas.lec-q1-outside-qpv}"
  axes:
    quotas.lec-q1-outside-qpv: [0.2, 0.3]
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_sweep_writes_the_comparison_and_resumes(tmp_path: Path) -> None:
    sweep = tmp_path / "small.yaml"
    sweep.write_text(SWEEP, encoding="utf-8")
    out = tmp_path / "out"
    code, output = invoke("sweep", str(TINY), str(sweep), "-o", str(out), "--scheduler", "inline")
    assert code == 4, output  # partial: one scenario failed, the others are written
    assert "4 scenario(s) run, 0 from the cache, 1 failed" in output
    assert "1 of 4 scenario(s) failed" in output
    table = pd.read_csv(out / "compare.csv")
    assert list(table["scenario"]) == ["as-is", "wrong", "q1=0.2", "q1=0.3"]
    assert table.set_index("scenario").loc["wrong", "status"] == "error"
    assert "no-such-rule" in table.set_index("scenario").loc["wrong", "error"]
    assert (out / "compare.html").read_text(encoding="utf-8").count("<svg") >= 3
    code, output = invoke("sweep", str(TINY), str(sweep), "-o", str(out), "--scheduler", "inline")
    assert code == 4
    assert "1 scenario(s) run, 3 from the cache, 1 failed" in output


def test_an_invalid_sweep_file_lists_its_problems(tmp_path: Path) -> None:
    sweep = tmp_path / "bad.yaml"
    sweep.write_text("scenarios:\n  - {name: a, method: magic, tolerence: 2}\n", encoding="utf-8")
    code, output = invoke("sweep", str(TINY), str(sweep), "-o", str(tmp_path / "o"))
    assert code == 2
    assert "scenarios[0].method" in output
    assert "scenarios[0].tolerence" in output
    assert not (tmp_path / "o").exists()


def test_simulate_compares_each_holders_year(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    code, output = invoke(
        "simulate", str(TINY), "--months", "2", "--method", "negotiated", "--method",
        "stock_share", "--time-limit", "10", "-o", str(out), "--scheduler", "inline",
    )  # fmt: skip
    assert code == 0, output
    assert "Annual flux attainment per holder" in output
    table = pd.read_csv(out / "compare.csv").set_index("scenario")
    assert list(table.index) == ["negotiated", "stock_share"]
    assert (table["months"] == 2).all()
    assert (table["kind"] == "simulation").all()


def test_price_lists_each_family_and_the_tradeoff(tmp_path: Path) -> None:
    out = tmp_path / "price"
    code, output = invoke(
        "price", str(TINY), "--quota", "lec-q1-outside-qpv", "--levels", "0.2,0.4",
        "--time-limit", "10", "-o", str(out), "--scheduler", "inline",
    )  # fmt: skip
    assert code == 0, output
    prices = pd.read_csv(out / "price.csv")
    assert "flux" in set(prices["rule"])
    assert "quota lec-q1-outside-qpv" in set(prices["rule"])
    curve = pd.read_csv(out / "tradeoff.csv")
    assert list(curve["level"]) == [0.2, 0.4]
    assert "Price of each rule family" in (out / "compare.html").read_text(encoding="utf-8")


def test_price_refuses_bad_levels(tmp_path: Path) -> None:
    code, output = invoke(
        "price", str(TINY), "--quota", "x", "--levels", "0.2,high", "-o", str(tmp_path)
    )
    assert code == 2
    assert "--levels" in output
