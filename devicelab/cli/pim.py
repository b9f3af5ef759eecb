"""`devicelab pim characterize|show|train|evaluate|compare`: digital MRAM processing-in-memory baseline."""

from __future__ import annotations

import json

import click

from devicelab.cli._outputs import check_outputs, overwrite_option

TIMES_HELP = "Storage/read times after writing the weights, s, comma-separated."


@click.group("pim")
def pim():
    """Digital MRAM processing-in-memory: MTJ column in ngspice, bit-operation model, quantized networks.

    After Angizi & Fan, NANOARCH 2019: binary/ternary networks with in-memory AND and bit-serial addition,
    compared with analog PCM."""


@pim.command("characterize")
@click.option("--preset", default="pim_default", show_default=True,
              help="MTJ preset (pim_default, ikeda2010, low_tmr).")
@click.option("--tmr", type=float, default=None, help="Override the zero-bias TMR (0.5 = 50 %).")
@click.option("--spread", type=float, default=None, help="Override the lognormal spread sigma(ln R) of both states.")
@click.option("--sa-offset", type=float, default=None, help="SA input-referred offset, V rms [default 2 mV].")
@click.option("--per-pattern", type=click.IntRange(min=2), default=50, show_default=True,
              help="Monte Carlo instances per input pattern (2- and 3-row patterns).")
@click.option("--heldout", type=click.IntRange(min=0), default=0, show_default=True,
              help="Instances per pattern of a second, held-out Monte Carlo to check the model against (0: none).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of devices, offsets (held-out: seed + 1).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Bit-operation model file (.h5).")
@click.option("--checkpoint", "checkpoint_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for per-run checkpoints; re-running the same command resumes from them.")
@click.option("--progress/--no-progress", default=False, show_default=True, help="Show a progress bar.")
@overwrite_option
def characterize(preset, tmr, spread, sa_offset, per_pattern, heldout, seed, output, checkpoint_dir, progress,
                 overwrite):
    """Monte Carlo transient simulation of the MRAM column in ngspice; write the behavioral bit-operation model."""
    import numpy as np

    from devicelab.behavioral.bitops import compare_with_spice, from_characterization, save_bitops_model
    from devicelab.devices.mtj import mtj_preset
    from devicelab.spice.pim import SenseSpec, characterize_bitops

    check_outputs(overwrite, files=[output], updated_folders=[checkpoint_dir])
    model = mtj_preset(preset)
    if tmr is not None:
        model = model.replace(tmr0=tmr)
    if spread is not None:
        model = model.replace(sigma_p=spread, sigma_ap=spread)
    spec = SenseSpec() if sa_offset is None else SenseSpec(sa_offset_sigma=sa_offset)
    char = characterize_bitops(model, spec, per_pattern, rng=np.random.default_rng(seed),
                               checkpoint_dir=checkpoint_dir, progress=progress)
    bitops = from_characterization(char)
    save_bitops_model(bitops, output)
    _print_model(bitops)
    if heldout:
        held = characterize_bitops(model, spec, heldout, rng=np.random.default_rng(seed + 1),
                                   checkpoint_dir=checkpoint_dir, progress=progress)
        rows = compare_with_spice(bitops, held)
        worst = min(rows, key=lambda r: r["pvalue"])
        click.echo(f"held-out Monte Carlo ({heldout} per pattern): {sum(r['errors'] for r in rows)} errors in "
                   f"{sum(r['trials'] for r in rows)} operations; smallest binomial p-value {worst['pvalue']:.3g} "
                   f"({worst['op']}, k={worst['k']}: {worst['errors']}/{worst['trials']} vs predicted "
                   f"{worst['predicted']:.3g})")
    click.echo(f"model written: {output}")


@pim.command("sweep")
@click.option("--preset", default="pim_default", show_default=True, help="MTJ preset the sweep starts from.")
@click.option("--tmr", "tmrs", default="0.5,1.0,1.5,2.0", show_default=True,
              help="Zero-bias TMR values, comma-separated.")
@click.option("--spread", "spreads", default="0.05", show_default=True,
              help="Lognormal spreads sigma(ln R) of both states, comma-separated.")
@click.option("--per-pattern", type=click.IntRange(min=2), default=40, show_default=True,
              help="Monte Carlo instances per input pattern and point.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint", "checkpoint_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for per-run checkpoints; re-running the same command resumes from them.")
def sweep(preset, tmrs, spreads, per_pattern, seed, checkpoint_dir):
    """Bit error rate of each operation vs TMR and spread: SPICE Monte Carlo counts next to the model's value."""
    import numpy as np

    from devicelab.behavioral.bitops import from_characterization
    from devicelab.devices.mtj import mtj_preset
    from devicelab.inference.evaluate import parse_times
    from devicelab.spice.pim import OPERATIONS, SenseSpec, characterize_bitops

    ops = list(OPERATIONS)
    click.echo("| TMR | spread | " + " | ".join(f"{op}: SPICE / model" for op in ops) + " |")
    click.echo("|---|---|" + "---|" * len(ops))
    for spread in parse_times(spreads):
        for tmr in parse_times(tmrs):
            model = mtj_preset(preset).replace(tmr0=float(tmr), sigma_p=float(spread), sigma_ap=float(spread))
            char = characterize_bitops(model, SenseSpec(), per_pattern, rng=np.random.default_rng(seed),
                                       checkpoint_dir=checkpoint_dir)
            bitops = from_characterization(char)
            cells = []
            for op in ops:
                errors, trials = char.errors(op)
                cells.append(f"{errors.sum() / trials.sum():.2e} / {bitops.mean_error(op):.2e}")
            click.echo(f"| {tmr:g} | {spread:g} | " + " | ".join(cells) + " |")


def _print_model(bitops) -> None:
    click.echo(f"MTJ {bitops.mtj_name}; SA offset {1e3 * bitops.sa_offset_sigma:.3g} mV rms; read disturb "
               f"{bitops.read_disturb:.3g} per sensing")
    click.echo("| operation | P(error) per k ones (k = 0..n) | mean over inputs | SPICE errors/trials | energy (fJ) | "
               "latency (ns) |")
    click.echo("|---|---|---|---|---|---|")
    for op, p in bitops.error.items():
        counts = bitops.spice_counts.get(op)
        spice = f"{int(counts[0].sum())}/{int(counts[1].sum())}" if counts is not None else "-"
        click.echo(f"| {op} | {', '.join(f'{x:.2e}' for x in p)} | {bitops.mean_error(op):.3e} | {spice} | "
                   f"{1e15 * bitops.energy[op]:.2f} | {1e9 * bitops.latency[op]:.2f} |")


@pim.command("show")
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False))
def show(model_file):
    """Print the error table, energies and latencies of a bit-operation MODEL_FILE."""
    from devicelab.behavioral.bitops import load_bitops_model

    _print_model(load_bitops_model(model_file))


@pim.command("train")
@click.option("--arch", type=click.Choice(["mlp", "resnet"]), default="mlp", show_default=True)
@click.option("--weights", type=click.Choice(["binary", "ternary"]), default="binary", show_default=True)
@click.option("--dataset", type=click.Choice(["digits", "fashion-mnist"]), default="fashion-mnist", show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=6, show_default=True)
@click.option("--act-bits", type=click.IntRange(1, 8), default=4, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="PyTorch CPU threads.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Network file (.npz).")
@overwrite_option
def train(arch, weights, dataset, epochs, act_bits, threads, seed, output, overwrite):
    """Train a binary- or ternary-weight network with quantized activations (straight-through estimator)."""
    from devicelab.errors import require
    from devicelab.network import save_network
    from devicelab.network.quantized import QuantTrainConfig, train_quantized

    check_outputs(overwrite, files=[output])
    require("torch", "training quantized networks", "torch").set_num_threads(threads)
    net = train_quantized(arch, dataset, QuantTrainConfig(weights=weights, act_bits=act_bits, epochs=epochs,
                                                          seed=seed), progress=True)
    save_network(net, output)
    click.echo(f"{net.name}: exact (quantized) test accuracy {100 * net.meta['exact_test_accuracy']:.2f} %, "
               f"float-activation accuracy {100 * net.meta['float_test_accuracy']:.2f} %; written {output}")


def _load_bitops(path):
    from devicelab.behavioral.bitops import load_bitops_model, shipped_bitops_model

    return load_bitops_model(path) if path else shipped_bitops_model()


@pim.command("evaluate")
@click.option("--network", default="mlp-fashion-mnist-binary", show_default=True,
              help="Quantized network file or shipped name.")
@click.option("--bitops", "bitops_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Bit-operation model file [default: the shipped pim_default model].")
@click.option("--scales", default="0,1,3,10,30", show_default=True,
              help="Multiply every error probability by these factors (accuracy vs bit error rate).")
@click.option("--times", default="1,86400,31536000", show_default=True, help=TIMES_HELP)
@click.option("--adder", type=click.Choice(["fa3", "two_row"]), default="fa3", show_default=True,
              help="Full-adder scheme of the in-memory bit counting.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--test-limit", type=int, default=None, help="Evaluate only the first N test images.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def evaluate(network, bitops_path, scales, times, adder, repeats, test_limit, seed, as_json):
    """Accuracy of a quantized network in digital MRAM vs bit error rate and vs storage time."""
    import numpy as np

    from devicelab.inference.digital import DigitalPIMConfig, exact_accuracy
    from devicelab.inference.digital_experiment import accuracy_vs_error_scale, accuracy_vs_time
    from devicelab.inference.evaluate import parse_times
    from devicelab.network import load_dataset, resolve_network

    net = resolve_network(network)
    bitops = _load_bitops(bitops_path)
    test = load_dataset(net.meta["dataset"], "test")
    if test_limit is not None:
        test = test.subset(test_limit)
    config = DigitalPIMConfig(adder=adder)
    rng = np.random.default_rng(seed)
    exact = exact_accuracy(net, test.x, test.y)
    by_ber = accuracy_vs_error_scale(net, test.x, test.y, bitops, parse_times(scales), repeats, rng, config)
    by_time = accuracy_vs_time(net, test.x, test.y, bitops, parse_times(times), repeats, rng, config)
    if as_json:
        click.echo(json.dumps({"network": net.name, "exact": exact, "by_error_rate": by_ber, "by_time": by_time},
                              indent=1))
        return
    click.echo(f"{net.name} on {len(test)} test images, MTJ {bitops.mtj_name}, adder {adder}; exact "
               f"{100 * exact:.2f} %; accuracy mean +- std over {repeats} repeats")
    click.echo("| error scale | P(AND error) | P(sum error) | P(carry error) | accuracy (%) |")
    click.echo("|---|---|---|---|---|")
    for r in by_ber:
        click.echo(f"| {r['factor']:g} | {r['p_and']:.2e} | {r['p_sum']:.2e} | {r['p_carry']:.2e} | "
                   f"{100 * r['accuracy']:.2f} +- {100 * r['std']:.2f} |")
    click.echo("| time (s) | P(stored bit flipped) | accuracy (%) | energy / image (nJ) | latency / image (us) |")
    click.echo("|---|---|---|---|---|")
    for r in by_time:
        click.echo(f"| {r['t']:g} | {r['p_flip']:.2e} | {100 * r['accuracy']:.2f} +- {100 * r['std']:.2f} | "
                   f"{1e9 * r['energy_per_image']:.4g} | {1e6 * r['latency_per_image']:.4g} |")


@pim.command("compare")
@click.option("--dataset", type=click.Choice(["fashion-mnist", "digits"]), default="fashion-mnist", show_default=True)
@click.option("--pcm-network", default="mlp-hwa", show_default=True, help="Network for the PCM tiles.")
@click.option("--pcm-preset", default="joshi2020", show_default=True, help="PCM device preset.")
@click.option("--mram-network", "mram_networks", multiple=True,
              default=("mlp-fashion-mnist-binary", "mlp-fashion-mnist-ternary"), show_default=True,
              help="Quantized networks for digital MRAM (repeat the option).")
@click.option("--bitops", "bitops_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Bit-operation model file [default: the shipped pim_default model].")
@click.option("--adder", "adders", type=click.Choice(["fa3", "two_row"]), multiple=True, default=("fa3", "two_row"),
              show_default=True, help="Full-adder schemes of the MRAM bit counting (repeat the option).")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--test-limit", type=int, default=None, help="Evaluate only the first N test images.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
def compare(dataset, pcm_network, pcm_preset, mram_networks, bitops_path, adders, repeats, test_limit, seed, as_json):
    """Analog PCM vs digital MRAM on the same data set: accuracy at 1 s, 1 day, 1 year; energy and latency."""
    from devicelab.devices import preset
    from devicelab.inference import AnalogHardware
    from devicelab.inference.digital import DigitalPIMConfig
    from devicelab.inference.digital_experiment import compare_pcm_mram
    from devicelab.network import resolve_network

    pcm_net = resolve_network(pcm_network, dataset)
    mram = {}
    for name in mram_networks:
        net = resolve_network(name)
        for adder in adders:
            mram[f"digital MRAM ({net.meta.get('weights', '?')}, {adder})"] = (net, DigitalPIMConfig(adder=adder))
    result = compare_pcm_mram(dataset, pcm_net, mram, _load_bitops(bitops_path),
                              AnalogHardware(device=preset(pcm_preset)), repeats=repeats, test_limit=test_limit,
                              seed=seed)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=1))
        return
    click.echo(f"{dataset}, {result.n_test} test images, mean +- std over {repeats} repeats")
    click.echo(result.table())
    for row in result.rows:
        click.echo(f"- {row.technology}: {row.note}")
    click.echo("exact (digital reference) accuracy: "
               + ", ".join(f"{k} {100 * v:.2f} %" for k, v in result.exact.items()))
