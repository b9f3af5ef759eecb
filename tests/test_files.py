"""devicelab.files: outputs are checked before any work and report folders are published atomically."""

import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from devicelab.cli import cli
from devicelab.errors import OutputError
from devicelab.files import atomic_folder, check_writable


def test_check_writable_refuses_a_parent_that_is_a_file(tmp_path):
    (tmp_path / "blocker").write_text("")
    with pytest.raises(OutputError, match="blocker is a file, not a folder"):
        check_writable(tmp_path / "blocker" / "deeper" / "out.npy")


@pytest.mark.skipif(os.access("/sys", os.W_OK) and os.geteuid() != 0, reason="needs a read-only /sys")
def test_check_writable_tries_for_real_so_root_sees_a_read_only_folder():
    if not os.path.isdir("/sys/kernel"):
        pytest.skip("no /sys on this machine")
    with pytest.raises(OutputError, match="not writable"):
        check_writable("/sys/kernel/devicelab-out.npy")


def test_check_writable_refuses_an_existing_file_without_overwrite(tmp_path):
    (tmp_path / "out.npy").write_text("")
    with pytest.raises(OutputError, match="pass --overwrite"):
        check_writable(tmp_path / "out.npy", overwrite=False)
    assert check_writable(tmp_path / "out.npy", overwrite=True) == tmp_path / "out.npy"


def test_check_writable_accepts_an_empty_existing_folder(tmp_path):
    (tmp_path / "rep").mkdir()
    check_writable(tmp_path / "rep", folder=True, overwrite=False)


def test_interrupted_report_folder_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(tmp_path / "rep") as tmp:
            (tmp / "half.png").write_text("x")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_report_into_existing_folder_keeps_other_files_and_refuses_clashes_without_overwrite(tmp_path):
    rep = tmp_path / "rep"
    rep.mkdir()
    (rep / "model.h5").write_text("model")
    (rep / "report.md").write_text("old")
    with pytest.raises(OutputError, match="report.md"):
        with atomic_folder(rep, overwrite=False) as tmp:
            (tmp / "report.md").write_text("new")
    assert (rep / "report.md").read_text() == "old"
    with atomic_folder(rep, overwrite=True) as tmp:
        (tmp / "report.md").write_text("new")
    assert (rep / "report.md").read_text() == "new" and (rep / "model.h5").read_text() == "model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_fit_report_interrupted_by_ctrl_c_leaves_no_report_folder(tmp_path, monkeypatch):
    from devicelab.devices import plots

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "plot_sigma_prog", interrupted)
    data = Path(__file__).resolve().parent.parent / "measurements" / "program_run.csv"
    result = CliRunner().invoke(cli, ["fit", str(data), "--base-preset", "joshi2020", "-o", str(tmp_path / "m.h5"),
                                      "--report", str(tmp_path / "rep")])
    assert result.exit_code == 1 and "Aborted" in result.output  # click's answer to Ctrl-C
    assert not (tmp_path / "rep").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]


def test_crossbar_simulate_checks_the_plot_before_writing_the_currents(tmp_path):
    np.save(tmp_path / "G.npy", np.full((2, 2), 1e-5))
    np.save(tmp_path / "V.npy", np.full((1, 2), 0.1))
    (tmp_path / "x").write_text("")
    result = CliRunner().invoke(cli, ["crossbar", "simulate", "--rows", "2", "--cols", "2", "--conductances",
                                      str(tmp_path / "G.npy"), "--inputs", str(tmp_path / "V.npy"), "-o",
                                      str(tmp_path / "I.npy"), "--plot", str(tmp_path / "x" / "map.png")])
    assert result.exit_code == 2
    assert not (tmp_path / "I.npy").exists()


def test_overwrite_flag_lets_a_command_replace_its_output(tmp_path):
    np.save(tmp_path / "G.npy", np.full((2, 2), 1e-5))
    np.save(tmp_path / "V.npy", np.full((1, 2), 0.1))
    (tmp_path / "I.npy").write_text("old")
    args = ["crossbar", "simulate", "--rows", "2", "--cols", "2", "--conductances", str(tmp_path / "G.npy"),
            "--inputs", str(tmp_path / "V.npy"), "-o", str(tmp_path / "I.npy"), "--overwrite"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(tmp_path / "I.npy"), [[2e-6, 2e-6]], rtol=1e-12)


def test_text_file_named_npy_is_not_called_pickled_data(tmp_path):
    from devicelab.errors import InputFileError
    from devicelab.files import load_numpy

    (tmp_path / "G.npy").write_text("1e-6,2e-6\n")
    with pytest.raises(InputFileError, match=r"G.npy: conductances: not a NumPy .npy file \(starts with b'1e-6,2'\)"):
        load_numpy(tmp_path / "G.npy", "conductances")


def test_object_array_is_reported_as_python_objects_not_unpickled(tmp_path):
    from devicelab.errors import InputFileError
    from devicelab.files import load_numpy

    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputFileError, match="holds Python objects"):
        load_numpy(tmp_path / "obj.npy", "weights")


def _commands(group, prefix=()):
    import click

    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the CLI loads command modules lazily
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))
        else:
            yield " ".join(prefix + (name,)), command


def test_every_command_that_writes_an_output_has_the_same_overwrite_flag():
    writers = {name: cmd for name, cmd in _commands(cli)
               if {p.name for p in cmd.params} & {"output", "output_dir", "plot", "report_dir"}}
    assert len(writers) >= 11  # fit, model sample, crossbar x2, sweep x2, adc, behavioral x2, evaluate, pretrain, train
    for name, command in writers.items():
        flags = {opt for p in command.params for opt in getattr(p, "opts", [])}
        assert "--overwrite" in flags, name


def test_train_output_folder_is_published_atomically(tmp_path):
    args = ["train", "--scheme", "sgd", "--epochs", "1", "--train-limit", "50", "-o", str(tmp_path / "run")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "training.json").is_file()
    assert str(tmp_path / "run" / "training.png") in result.output  # printed paths are the final ones
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder left
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "--overwrite" in again.stderr
