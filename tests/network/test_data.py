"""Data loaders: shapes, ranges and the checks on IDX files."""

import gzip

import numpy as np
import pytest

from devicelab.errors import InputFileError
from devicelab.network.data import FASHION_MNIST_DIR, load_digits_split, load_fashion_mnist, read_idx


def _write_idx(path, magic, shape, payload: bytes, compress=False):
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as fh:
        fh.write(header + payload)


def _fake_fashion(folder, n=5, compress=True, image_shape=(28, 28), n_labels=None, label_value=3,
                  image_magic=0x803):
    suffix = ".gz" if compress else ""
    pixels = np.arange(n * int(np.prod(image_shape)), dtype=np.uint64) % 256
    _write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", image_magic, (n,) + image_shape,
               pixels.astype(np.uint8).tobytes(), compress)
    n_labels = n if n_labels is None else n_labels
    _write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", 0x801, (n_labels,),
               bytes([label_value] * n_labels), compress)


def test_digits_split_is_disjoint_scaled_and_shaped():
    train, test = load_digits_split("train"), load_digits_split("test")
    assert train.x.shape[1:] == (1, 8, 8) and train.x.dtype == np.float32
    assert len(train) + len(test) == 1797
    assert 0.0 <= train.x.min() and train.x.max() <= 1.0
    assert set(np.unique(test.y)) == set(range(10))
    # Disjoint: no test image appears in the training split.
    train_rows = {row.tobytes() for row in train.x.reshape(len(train), -1)}
    overlap = sum(row.tobytes() in train_rows for row in test.x.reshape(len(test), -1))
    assert overlap < 0.05 * len(test)  # the raw data itself has a few duplicate images


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_loader_reads_gzipped_and_plain_idx(tmp_path, compress):
    _fake_fashion(tmp_path, n=4, compress=compress)
    split = load_fashion_mnist("test", root=tmp_path)
    assert split.x.shape == (4, 1, 28, 28) and split.y.tolist() == [3, 3, 3, 3]
    assert split.x[0, 0, 0, 1] == pytest.approx(1 / 255)


def test_fashion_loader_rejects_wrong_magic(tmp_path):
    _fake_fashion(tmp_path, image_magic=0x0D03)  # 3 dims, but float32 type code instead of ubyte
    with pytest.raises(InputFileError, match="magic"):
        load_fashion_mnist("test", root=tmp_path)


def test_fashion_loader_rejects_label_count_mismatch(tmp_path):
    _fake_fashion(tmp_path, n=4, n_labels=3)
    with pytest.raises(InputFileError, match="3 labels for 4 images"):
        load_fashion_mnist("test", root=tmp_path)


def test_fashion_loader_rejects_wrong_image_size(tmp_path):
    _fake_fashion(tmp_path, image_shape=(27, 28))
    with pytest.raises(InputFileError, match="expected 28x28"):
        load_fashion_mnist("test", root=tmp_path)


def test_fashion_loader_rejects_out_of_range_labels(tmp_path):
    _fake_fashion(tmp_path, label_value=10)
    with pytest.raises(InputFileError, match="out of range"):
        load_fashion_mnist("test", root=tmp_path)


def test_idx_reader_rejects_truncated_payload(tmp_path):
    path = tmp_path / "x.idx"
    _write_idx(path, 0x803, (2, 28, 28), bytes(2 * 28 * 28 - 1))
    with pytest.raises(InputFileError, match="payload"):
        read_idx(path, 0x803)


def test_missing_fashion_folder_names_the_package(tmp_path):
    with pytest.raises(InputFileError, match="dataset-fashion-mnist"):
        load_fashion_mnist("test", root=tmp_path)


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_real_fashion_mnist_test_split():
    split = load_fashion_mnist("test")
    assert split.x.shape == (10000, 1, 28, 28)
    assert np.bincount(split.y).tolist() == [1000] * 10  # the test split is balanced
