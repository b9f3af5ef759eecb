"""Every bad input of the README table (tests/bad_inputs.py) gets its exit code and its one-line message,
and the README shows exactly these messages."""

import pytest
from bad_inputs import CASES, REPO, TABLE_HEAD, message_line, run_case, table_row

_SEEN: dict[str, str] = {}


@pytest.mark.parametrize("case", CASES, ids=[c.input for c in CASES])
def test_bad_input_gets_its_clear_message(case, tmp_path):
    code, stderr = run_case(case, tmp_path)
    assert code == case.exit_code, stderr
    assert case.expect in stderr
    assert "Traceback" not in stderr
    _SEEN[case.input] = table_row(case, message_line(case, stderr, tmp_path))


def test_readme_table_is_the_one_the_cases_print():
    """Runs last in this file: compares the rows the cases above produced with the README's table."""
    if len(_SEEN) != len(CASES):
        pytest.skip("run the whole file to compare the README table")
    expected = "\n".join([TABLE_HEAD] + [_SEEN[c.input] for c in CASES])
    readme = (REPO / "README.md").read_text()
    assert expected in readme, "README table is stale: regenerate it with PYTHONPATH=. python tests/bad_inputs.py"
