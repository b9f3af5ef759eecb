"""``devicelab energy``: network, trade-off and tile commands; bad input names the field."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from devicelab.cli import cli


def run(args):
    return CliRunner().invoke(cli, args)


def test_energy_network_writes_json_and_plot_and_prints_tops_per_watt(tmp_path):
    result = run(["energy", "network", "--network", "mlp-hwa", "--dataset", "digits", "--preset", "joshi2020",
                  "--test-limit", "40", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "energy_mlp-digits-hwa.json").read_text())
    assert record["ops_per_mac"] == 2
    parts = record["energy_per_inference_J"]
    assert parts["total"] == pytest.approx(sum(v for k, v in parts.items() if k != "total"), rel=1e-12)
    assert (tmp_path / "energy_mlp-digits-hwa.png").read_bytes()[:4] == b"\x89PNG"
    assert "TOPS/W (2 operations per MAC)" in result.output


def test_energy_tradeoff_writes_table_and_pareto_plot(tmp_path):
    from devicelab.behavioral.adc import ideal_adc, save_adc_model
    paths = [str(save_adc_model(ideal_adc(bits, 0.0, 1.0), tmp_path / f"adc{bits}.h5")) for bits in (4, 6)]
    result = run(["energy", "tradeoff", "--network", "mlp-hwa", "--dataset", "digits", "--preset", "joshi2020",
                  "--test-limit", "40", "--adc-models", ",".join(paths), "--tile-sizes", "64,128",
                  "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "tradeoff_mlp-digits-hwa.json").read_text())["rows"]
    assert sorted((r["adc_bits"], r["tile_size"]) for r in rows) == [(4, 64), (4, 128), (6, 64), (6, 128)]
    assert (tmp_path / "tradeoff_mlp-digits-hwa.csv").read_text().startswith("adc_bits,")
    assert (tmp_path / "tradeoff_mlp-digits-hwa.png").exists()


def test_energy_tile_reports_both_estimates():
    result = run(["energy", "tile", "--rows", "16", "--cols", "16", "--vectors", "4", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["tops_per_watt"] > 0 and record["neurosim_style"]["tops_per_watt"] > 0
    assert record["macs_per_mvm"] == 256


@pytest.mark.parametrize("option, field", [("--t-read", "t_read"), ("--c-wire", "c_wire")])
def test_non_positive_timing_or_capacitance_is_an_error_naming_it(option, field):
    result = run(["energy", "tile", "--rows", "4", "--cols", "4", option, "0"])
    assert result.exit_code == 2 and field in result.output


def test_table_with_unknown_units_is_an_error_naming_the_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('format = "devicelab.energy_table"\nformat_version = 1\n[units]\nenergy = "eV"\n')
    result = run(["energy", "tile", "--rows", "4", "--cols", "4", "--table", str(path)])
    assert result.exit_code == 2 and "units.energy" in result.output


@pytest.mark.slow
def test_demo_energy_section_has_breakdown_tradeoff_table_and_plots(tmp_path):
    from devicelab.behavioral.adc import ideal_adc, save_adc_model
    from devicelab.inference import AnalogHardware
    from devicelab.inference.energy_experiment import demo_energy

    adc = save_adc_model(ideal_adc(4, 0.0, 1.0), tmp_path / "adc4.h5")
    sections = demo_energy(tmp_path, {4: adc}, AnalogHardware.from_files(preset="joshi2020"), test_limit=20)
    body = sections[0][1]
    assert body.count("| 4 |") == 2  # 2 tile sizes
    assert "TOPS/W" in body and "2 operations per MAC" in body
    assert (tmp_path / "energy_tradeoff.png").exists() and (tmp_path / "energy_breakdown.png").exists()


def test_evaluate_energy_accounts_every_read_time_of_the_first_programming(tmp_path):
    result = run(["evaluate", "--network", "mlp-hwa", "--dataset", "digits", "--preset", "joshi2020", "--times",
                  "1,86400", "--repeats", "2", "--test-limit", "40", "--energy", "--no-progress", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "accuracy_mlp-digits-hwa_global.json").read_text())
    assert sorted(record["energy"]) == ["1", "86400"]
    first = record["energy"]["1"]
    # the energy run is the first programming's read: its accuracy is that curve entry
    assert first["accuracy"] == record["curves"]["all"]["accuracy"][0][0]
    assert first["ops_per_mac"] == 2
    assert (tmp_path / "energy_mlp-digits-hwa.png").exists()
    assert "TOPS/W" in result.output


def test_hardware_description_keeps_its_energy_tables(tmp_path):
    from devicelab.behavioral.energy_table import load_energy_table
    from devicelab.behavioral.periphery import PeripheryModel
    from devicelab.inference import AnalogHardware
    from devicelab.inference.energy import EnergyModel

    custom = tmp_path / "tables" / "mine.toml"
    custom.parent.mkdir()
    shipped = load_energy_table()
    custom.write_text(Path(shipped.path).read_text().replace('name = "digital_45nm"', 'name = "mine"'))
    energy = EnergyModel(PeripheryModel(t_read=20e-9, adc_sharing=4, v_sink=0.3), load_energy_table(custom), 2)
    hardware = AnalogHardware.from_files(preset="joshi2020").replace(energy=energy)
    path = hardware.save(tmp_path / "hw.toml")
    loaded = AnalogHardware.load(path)
    assert loaded.energy.periphery == energy.periphery
    assert loaded.energy.table.name == "mine" and loaded.energy.calibration_vectors == 2
    custom.write_text(custom.read_text() + "\n# edited\n")
    result = run(["energy", "network", "--network", "mlp-hwa", "--dataset", "digits", "--hardware", str(path),
                  "--test-limit", "5", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "energy.table_sha256" in result.output
