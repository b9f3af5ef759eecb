"""Catalogue of bad inputs and the exact message each gets: tested by test_bad_inputs.py, printed into the README.

Each case builds its input files in a fresh folder, runs one ``devicelab`` command in-process and expects
exit code 2 with one ``devicelab: error: ...`` line on stderr containing ``expect``. Print the README table
(folder shown as ``DIR``) with::

    PYTHONPATH=. python tests/bad_inputs.py
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    """One bad input: what it is (README wording), files to make, the command (``{d}`` = the folder) and
    the part of the error message it must get."""

    input: str
    argv: tuple[str, ...]
    expect: str
    setup: Callable[[Path], None] = field(default=lambda d: None)
    exit_code: int = 2


def _arrays(d: Path, g=None, v=None, rows: int = 4, cols: int = 3) -> None:
    rng = np.random.default_rng(0)
    np.save(d / "G.npy", rng.uniform(1e-6, 20e-6, (rows, cols)) if g is None else g)
    np.save(d / "V.npy", rng.uniform(0.0, 0.2, (2, rows)) if v is None else v)


def _with_file(name: str, content: str | bytes) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        _arrays(d)
        (d / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return setup


SMALL_SWEEP = """name = "small"
n_vectors = 2
repeats = 2
[array]
sizes = [[4, 4]]
r_wire = 1.0
[[conductances]]
kind = "uniform"
g_min = 1e-6
g_max = 1e-5
[[inputs]]
kind = "dense"
"""


def _small_sweep_checkpoints(d: Path) -> Path:
    """A finished 2-point sweep's checkpoint folder (as if interrupted just before assembly)."""
    from devicelab.spice.sweep import run as sweep_run

    (d / "s.toml").write_text(SMALL_SWEEP)
    desc = sweep_run.load_description(d / "s.toml")
    ckpt = sweep_run.checkpoint_dir(d / "s.h5")
    sweep_run._prepare_checkpoints(ckpt, desc, desc.points())
    for point in desc.points():
        result = sweep_run.run_point(sweep_run.SweepTask(point, sweep_run.default_engines()))
        sweep_run._save_point(ckpt, result, {"description_sha256": desc.sha256(),
                                             "point_sha256": sweep_run.point_sha256(point)})
    return ckpt


def _garbage_marker(d: Path) -> None:
    (_small_sweep_checkpoints(d) / "description.json").write_text("{ not json")


def _truncated_checkpoint(d: Path) -> None:
    path = _small_sweep_checkpoints(d) / "p00001.npz"
    path.write_bytes(path.read_bytes()[:200])


XBAR = ("crossbar", "simulate", "--rows", "4", "--cols", "3", "--conductances", "{d}/G.npy",
        "--inputs", "{d}/V.npy")

CASES: list[Case] = [
    Case("`crossbar simulate -o` into a folder that is a file", XBAR + ("-o", "{d}/blocker/I.npy"),
         "blocker is a file, not a folder", _with_file("blocker", "not a folder")),
    Case("`crossbar simulate -o I.npy` when I.npy already exists", XBAR + ("-o", "{d}/I.npy"),
         "already exists; pass --overwrite", _with_file("I.npy", "my own notes")),
    Case("`crossbar simulate --plot` into an unwritable place", XBAR + ("-o", "{d}/I.npy", "--plot", "{d}/x/y.png"),
         "x is a file, not a folder", _with_file("x", "")),
    Case("`crossbar simulate` with G = 1 S (uS given as S)", XBAR + ("-o", "{d}/I.npy"),
         "implausible for a memory cell", lambda d: _arrays(d, g=np.full((4, 3), 1.0))),
    Case("`crossbar simulate` with G = 10 S", XBAR + ("-o", "{d}/I.npy"),
         "implausible for a memory cell", lambda d: _arrays(d, g=np.full((4, 3), 10.0))),
    Case("`crossbar simulate --device sinh --v0 0.25` with 5 V inputs",
         XBAR + ("--device", "sinh", "--v0", "0.25", "-o", "{d}/I.npy"),
         "expected read voltages", lambda d: _arrays(d, v=np.full((1, 4), 5.0))),
    Case("`crossbar simulate` with a complex G.npy", XBAR + ("-o", "{d}/I.npy"),
         "got a complex array", lambda d: _arrays(d, g=np.full((4, 3), 1e-5 + 1e-6j))),
    Case("`crossbar simulate` with a text file named G.npy", XBAR + ("-o", "{d}/I.npy"),
         "not a NumPy .npy file", _with_file("G.npy", "1e-6, 2e-6\n3e-6, 4e-6\n")),
    Case("`crossbar simulate` with a truncated G.npy", XBAR + ("-o", "{d}/I.npy"),
         "damaged or truncated NumPy file",
         lambda d: (_arrays(d), (d / "G.npy").write_bytes((d / "G.npy").read_bytes()[:100]))),
    Case("`fit` of a truncated read-noise .tsv.gz read with a mapping",
         ("fit", "{d}/rn.tsv.gz", "--mapping", str(REPO / "measurements" / "mappings" / "example_read_noise.toml"),
          "--base-preset", "joshi2020", "-o", "{d}/m.h5"),
         "rn.tsv.gz: truncated or corrupt gzip data",
         _with_file("rn.tsv.gz", (REPO / "measurements" / "read_noise.tsv.gz").read_bytes()[:20000])),
    Case("`sweep run --max-memory 16` of a TOML asking for a 100000 x 100000 array",
         ("sweep", "run", "{d}/huge.toml", "-o", "{d}/s.h5", "--max-memory", "16"), "sweep too large",
         _with_file("huge.toml", 'name = "huge"\n[array]\nsizes = [[100000, 100000]]\nr_wire = 1.0\n'
                                 '[[conductances]]\nkind = "uniform"\ng_min = 1e-6\ng_max = 1e-5\n'
                                 '[[inputs]]\nkind = "dense"\n')),
    Case("`sweep run --max-memory 16` of a TOML asking for 4096 x 4096",
         ("sweep", "run", "{d}/big.toml", "-o", "{d}/s.h5", "--max-memory", "16"), "sweep too large",
         _with_file("big.toml", 'name = "big"\n[array]\nsizes = [[4096, 4096]]\nr_wire = 1.0\n'
                                '[[conductances]]\nkind = "uniform"\ng_min = 1e-6\ng_max = 1e-5\n'
                                '[[inputs]]\nkind = "dense"\n')),
    Case("`sweep run` resumed with a checkpoint of another point copied over one",
         ("sweep", "run", "{d}/s.toml", "-o", "{d}/s.h5", "--no-progress"), "holds another point",
         lambda d: shutil.copy(_small_sweep_checkpoints(d) / "p00000.npz", d / "s.h5.ckpt" / "p00001.npz"),
         exit_code=0),
    Case("`sweep run` resumed after an interruption", ("sweep", "run", "{d}/s.toml", "-o", "{d}/s.h5",
                                                        "--no-progress"),
         "resuming: 2 of 2 points done", lambda d: _small_sweep_checkpoints(d), exit_code=0),
    Case("`sweep run` resumed with a garbage `description.json` in the checkpoint folder",
         ("sweep", "run", "{d}/s.toml", "-o", "{d}/s.h5", "--no-progress"), "is unreadable", _garbage_marker,
         exit_code=0),
    Case("`sweep run` resumed with a truncated checkpoint", ("sweep", "run", "{d}/s.toml", "-o", "{d}/s.h5",
                                                             "--no-progress"),
         "corrupt or truncated checkpoint", _truncated_checkpoint, exit_code=0),
    Case("`fit -o model.h5` when model.h5 is an unrelated existing file",
         ("fit", str(REPO / "measurements" / "program_run.csv"), "-o", "{d}/model.h5"),
         "already exists; pass --overwrite", _with_file("model.h5", "keep me")),
    Case("`fit --report DIR` where DIR is a non-empty folder",
         ("fit", str(REPO / "measurements" / "program_run.csv"), "-o", "{d}/m.h5", "--report", "{d}/rep"),
         "folder (not empty)", lambda d: ((d / "rep").mkdir(), (d / "rep" / "notes.txt").write_text("mine"))),
    Case("`evaluate --test-limit 0`", ("evaluate", "--network", "mlp-float", "--dataset", "digits", "--preset",
                                       "joshi2020", "--test-limit", "0", "-o", "{d}"),
         "--test-limit"),
    Case("`evaluate -o` into a folder that is a file", ("evaluate", "--network", "mlp-float", "--dataset", "digits",
                                                         "--preset", "joshi2020", "-o", "{d}/blocker/out"),
         "blocker is a file", _with_file("blocker", "")),
    Case("`behavioral apply -o` into a folder that is a file",
         ("behavioral", "apply", "{d}/model.h5", "--conductances", "{d}/G.npy", "--inputs", "{d}/V.npy",
          "-o", "{d}/blocker/I.npy"),
         "blocker is a file, not a folder", lambda d: (_arrays(d), (d / "model.h5").write_text(""),
                                                      (d / "blocker").write_text(""))),
    Case("`sweep run -o` into a folder that is a file",
         ("sweep", "run", str(REPO / "netlists" / "sweeps" / "demo.toml"), "-o", "{d}/blocker/s.h5"),
         "blocker is a file, not a folder", _with_file("blocker", "")),
]


def run_case(case: Case, folder: Path) -> tuple[int, str]:
    """Run ``case`` in ``folder``; return (exit code, stderr)."""
    from click.testing import CliRunner

    from devicelab.cli import cli

    case.setup(folder)
    argv = [a.replace("{d}", str(folder)) for a in case.argv]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    return result.exit_code, result.stderr


def message_line(case: Case, stderr: str, folder: Path) -> str:
    """The line of ``stderr`` the README shows for ``case`` (the run folder replaced by DIR)."""
    said = stderr.strip().splitlines()
    message = next((line for line in said if case.expect in line), said[-1]).replace(str(folder), "DIR")
    return re.sub(r"\s+", " ", message)


def table_row(case: Case, message: str) -> str:
    """One README table row."""
    escaped = message.replace("|", "\\|")
    return f"| {case.input} | `{escaped}` |"


TABLE_HEAD = "| Input | Message |\n|---|---|"


def markdown_table() -> str:
    """The README table: input, then the message it gets (the run folder shown as DIR)."""
    rows = [TABLE_HEAD]
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            _, stderr = run_case(case, Path(tmp))
            rows.append(table_row(case, message_line(case, stderr, Path(tmp))))
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
