"""Every bad input of the README table (tests/bad_inputs.py) gets its exit code and its one-line message."""

import pytest

from bad_inputs import CASES, run_case


@pytest.mark.parametrize("case", CASES, ids=[c.input for c in CASES])
def test_bad_input_gets_its_clear_message(case, tmp_path):
    code, stderr = run_case(case, tmp_path)
    assert code == case.exit_code, stderr
    assert case.expect in stderr
    assert "Traceback" not in stderr
