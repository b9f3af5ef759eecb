"""Crossbar sweeps: a TOML grid of circuits run through the nodal solver and ngspice, stored in one HDF5 file.

Units are SI everywhere: resistances in ohm, conductances in S, voltages in V, currents in A, times in s.

Sweep description (TOML)
------------------------
Every list is one axis of the grid; the grid is the product of all axes (a scalar is a one-element list)::

    name = "demo"                    # label (letters, digits, _ . -)
    n_vectors = 16                   # input vectors per point (one batch, one analysis)
    repeats = 1                      # independent draws of G and V per circuit
    seed = 2026                      # base seed; per-point seeds are derived from it (see below)
    engines = ["nodal", "ngspice"]   # "nodal", "ngspice" or "both"; the ideal model is always computed
    ngspice_max_size = 32            # ngspice only where rows and cols <= this; nodal beyond

    [array]
    sizes = [[8, 8], [32, 32]]       # [rows, cols] pairs; or rows = [...] (and cols = [...]) for their product
    r_wire = [0.5, 2.0]              # ohm per segment, r_row = r_col; or r_row = [...], r_col = [...]
    r_driver = 0.0                   # ohm (default 0)
    r_sense = 0.0                    # ohm (default 0)
    cell = "passive"                 # "passive" | "1t1r"
    differential = false             # true: G+ / G- column pairs, output I+ - I-

    [[devices]]                      # read I-V; default one linear device
    kind = "linear"                  # or kind = "sinh" with v0 = 0.25 (V): I = G v0 sinh(V / v0)

    [[conductances]]                 # one or more distributions
    kind = "uniform"                 # i.i.d. uniform in [g_min, g_max] (S)
    g_min = 0.25e-6
    g_max = 25e-6
    # kind = "device_model", model = "joshi2020" | "path/to/model.h5": targets uniform in
    #   [g_min (default 0), g_max (default model g_max)] programmed with PCMModel.program
    # kind = "weights", file = "w.npz" (or .npy), arrays = ["fc1"] (default: every 2-D array),
    #   layout = "out_in" (PyTorch, default) | "in_out", optional model = ...: see sweep_data.weight_conductances
    # name = "..." labels a distribution (default: its kind; names must be unique)

    [[inputs]]                       # one or more patterns, each with v_read (V, default 0.2)
    kind = "dense"                   # uniform in [0, v_read] ([-v_read, v_read] with signed = true)
    # kind = "sparse", density = 0.1: each input nonzero with probability density, else like dense
    # kind = "dnn", zero_fraction = 0.5, tail_sigma = 1.0: ReLU-like, zeros + clipped log-normal tail
    # kind = "onehot": one input at v_read per vector, cycling over the rows

Relative paths (weights, model files) are resolved against the TOML file's folder. Unknown keys are errors.
Seeds: the conductances of a point depend only on (seed, repeat, rows, cols, conductance, differential) and the
inputs only on (seed, repeat, rows, inputs, n_vectors), so points that differ only in wire resistance, drivers,
cell or device see exactly the same G and V (their errors compare like with like).

Sweep file (HDF5, format "devicelab.sweep", format_version 1)
-------------------------------------------------------------
Root attributes: ``format``, ``format_version``, ``created_by``, ``provenance`` (JSON: ``description_sha256``,
``description`` (the validated description), ``source`` and ``source_text`` (the TOML path and text),
``files`` (SHA-256 of referenced weight/model files), ``engines``, ``ngspice_version``, ``numpy``, ``python``,
``finished_utc``). Every dataset has a ``units`` attribute ("1" when dimensionless).

``/grid/NAME``: one dataset per point parameter, length n_points, row k = point k:
``index, rows, cols, n_vectors, repeat, seed_g, seed_v`` (int64, "1"), ``r_row, r_col, r_driver, r_sense``
(float64, "ohm"), ``v0`` (float64, "V", NaN for linear devices), ``differential`` (bool, "1"),
``cell, device, conductance, inputs, engines`` (UTF-8 strings, "1"; ``engines`` like "nodal,ngspice").

``/points/pNNNNN`` (NNNNN = 5-digit index): group with the same parameters as attributes, plus
``netlist_sha256`` and ``ngspice_version`` attributes where ngspice ran, and the datasets

- ``g`` (rows, cols) "S": device conductances (G+ of the pairs when differential),
- ``g_neg`` (rows, cols) "S": G- of the pairs, only when differential,
- ``v`` (n_vectors, rows) "V": input voltages, one vector per row,
- ``i_ideal`` (n_vectors, cols) "A": the ideal model, I_j = sum_i f(G_ij, V_i) with no wire, driver or
  sense resistance (f the device I-V; differential: I+ - I-),
- ``i_nodal``, ``i_ngspice`` (n_vectors, cols) "A": output currents of each engine that ran,
- ``time_nodal``, ``time_ngspice`` () "s": wall time of the engine for the whole batch.

Read it with :func:`read_sweep`; summarize with :func:`summarize_sweep`.

Checkpoints and resume
----------------------
While running, each finished point is written atomically to ``OUTPUT.ckpt/pNNNNN.npz`` (no pickled objects)
next to the output, with the description hash in ``OUTPUT.ckpt/description.json``. Re-running the same
command skips finished points; a changed description is refused with a :class:`ConfigError`. The final HDF5
file is assembled atomically from the checkpoints, then the checkpoint folder is removed.
"""
