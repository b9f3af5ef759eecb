"""Data sets for the network stage: scikit-learn digits and Fashion-MNIST from IDX files.

Images are float32 in [0, 1] with shape (N, C, H, W) (PyTorch's NCHW order); labels are int64 class
indices. Readers check what they read (IDX magic numbers, dimensions, counts, label range) and raise
:class:`~devicelab.errors.InputFileError` naming the file and what was expected.
"""

from __future__ import annotations

import functools
import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devicelab.errors import ConfigError, InputFileError

#: Where Debian's ``dataset-fashion-mnist`` package installs the IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
#: Environment variable that overrides :data:`FASHION_MNIST_DIR`.
FASHION_MNIST_ENV = "DEVICELAB_FASHION_MNIST"
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension
DATASETS = ("digits", "fashion-mnist")
#: Image shape (C, H, W) of each data set.
DATASET_INPUT_SHAPES = {"digits": (1, 8, 8), "fashion-mnist": (1, 28, 28)}
SPLITS = ("train", "test")


@dataclass(frozen=True)
class DataSplit:
    """One split of a data set.

    Attributes
    ----------
    x : ndarray, float32, shape (N, C, H, W)
        Images scaled to [0, 1] (dimensionless).
    y : ndarray, int64, shape (N,)
        Class indices in [0, len(classes)).
    name, split : str
        Data set name and split ("train" or "test").
    classes : tuple of str
        Class names.
    """

    x: np.ndarray
    y: np.ndarray
    name: str
    split: str
    classes: tuple[str, ...]

    def __post_init__(self):
        if self.x.ndim != 4 or self.x.shape[0] != self.y.shape[0]:
            raise ConfigError(f"DataSplit: x must be (N, C, H, W) and y (N,), got {self.x.shape} and {self.y.shape}")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, n: int | None, rng: np.random.Generator | None = None) -> "DataSplit":
        """The first ``n`` samples (or ``n`` random ones when ``rng`` is given); all of them for None."""
        if n is None or n >= len(self):
            return self
        index = np.sort(rng.choice(len(self), n, replace=False)) if rng is not None else np.arange(n)
        return DataSplit(self.x[index], self.y[index], self.name, self.split, self.classes)


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """Read an unsigned-byte IDX file (optionally gzipped) and check its magic number and size.

    Returns a uint8 array with the dimensions from the header.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise InputFileError(path, f"cannot read IDX file ({exc})") from exc
    if len(raw) < 4:
        raise InputFileError(path, "file too short for an IDX header", field="magic")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise InputFileError(path, f"IDX magic number 0x{found:08x}, expected 0x{magic:08x}", field="magic")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise InputFileError(path, f"file too short for the {ndim} IDX dimension sizes", field="dimensions")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise InputFileError(
            path, f"IDX payload has {len(raw) - header} bytes, the header dimensions {shape} need {expected}",
            field="data")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find(root: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    raise InputFileError(root / f"{stem}.gz", "Fashion-MNIST file not found (install the Debian package "
                         f"dataset-fashion-mnist or set {FASHION_MNIST_ENV} to a folder with the IDX files)")


def load_fashion_mnist(split: str = "test", root: str | os.PathLike | None = None) -> DataSplit:
    """Fashion-MNIST ``split`` ("train": 60000 images, "test": 10000) from IDX files in ``root``.

    ``root`` defaults to $DEVICELAB_FASHION_MNIST or :data:`FASHION_MNIST_DIR`; gzipped and plain
    files are accepted. Images are 28x28, returned as (N, 1, 28, 28) float32 in [0, 1].
    """
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; expected one of {SPLITS}")
    root = Path(root or os.environ.get(FASHION_MNIST_ENV) or FASHION_MNIST_DIR)
    prefix = "train" if split == "train" else "t10k"
    images_path = _find(root, f"{prefix}-images-idx3-ubyte")
    labels_path = _find(root, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(images_path, _IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, _IDX_LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        raise InputFileError(images_path, f"images are {images.shape[1:]}, expected 28x28", field="dimensions")
    if images.shape[0] != labels.shape[0]:
        raise InputFileError(labels_path, f"{labels.shape[0]} labels for {images.shape[0]} images "
                             f"in {images_path.name}", field="dimensions")
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise InputFileError(labels_path, f"label {labels.max()} out of range 0..9", field="data")
    x = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
    return DataSplit(x, labels.astype(np.int64), "fashion-mnist", split, FASHION_MNIST_CLASSES)


@functools.lru_cache(maxsize=2)
def _digits_split_arrays(test_fraction: float) -> tuple[np.ndarray, ...]:
    """(x_train, x_test, y_train, y_test) of the digits, read-only so the cached copy cannot be changed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / np.float32(16.0))[:, None, :, :]
    y = bunch.target.astype(np.int64)
    parts = train_test_split(x, y, test_size=test_fraction, random_state=0, stratify=y)
    parts = tuple(np.ascontiguousarray(p) for p in parts)
    for part in parts:
        part.flags.writeable = False
    return parts


def load_digits_split(split: str = "test", test_fraction: float = 0.25) -> DataSplit:
    """scikit-learn's 8x8 digits (1797 images, shipped with scikit-learn), split deterministically.

    The split is stratified with a fixed seed so train and test never overlap across calls.
    Images are (N, 1, 8, 8) float32 in [0, 1] (the raw 0..16 counts divided by 16); the arrays are
    read-only (shared between calls).
    """
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; expected one of {SPLITS}")
    x_tr, x_te, y_tr, y_te = _digits_split_arrays(float(test_fraction))
    x, y = (x_tr, y_tr) if split == "train" else (x_te, y_te)
    return DataSplit(x, y, "digits", split, tuple(str(d) for d in range(10)))


def load_dataset(name: str, split: str = "test") -> DataSplit:
    """Load data set ``name`` (one of :data:`DATASETS`) split ``split``."""
    if name == "digits":
        return load_digits_split(split)
    if name == "fashion-mnist":
        return load_fashion_mnist(split)
    raise ConfigError(f"unknown data set {name!r}; expected one of {DATASETS}")
