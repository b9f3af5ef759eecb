"""`devicelab pim ...`: shipped model shown, a small evaluation, bad input as one error line."""

import pytest
from click.testing import CliRunner

from devicelab.cli import cli
from devicelab.network.data import FASHION_MNIST_DIR


def test_show_prints_the_shipped_model_table(tmp_path):
    from importlib import resources

    with resources.as_file(resources.files("devicelab") / "data" / "bitops-pim_default.h5") as path:
        result = CliRunner().invoke(cli, ["pim", "show", str(path)])
    assert result.exit_code == 0, result.output
    assert "| fa_sum |" in result.output and "pim_default" in result.output


def test_negative_tmr_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["pim", "characterize", "--tmr", "-0.5", "-o", str(tmp_path / "m.h5")])
    assert result.exit_code == 2
    assert "TMR must be > 0" in result.output
    assert not (tmp_path / "m.h5").exists()


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="Fashion-MNIST not installed")
def test_evaluate_small_run_prints_both_tables():
    result = CliRunner().invoke(cli, ["pim", "evaluate", "--test-limit", "100", "--scales", "0,1", "--times", "1",
                                      "--repeats", "1"])
    assert result.exit_code == 0, result.output
    assert "| error scale |" in result.output and "| time (s) |" in result.output
