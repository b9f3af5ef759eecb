"""Small networks and stand-in circuit models for the network tests."""

import numpy as np
import pytest

from devicelab.network.layers import Flatten, Linear
from devicelab.network.model import Network


@pytest.fixture
def linear_net(rng):
    """One 300 -> 200 Linear layer (2 x 1 tiles of 256) on (N, 1, 1, 300) inputs, weights ~ N(0, 1)."""
    w = rng.standard_normal((200, 300)).astype(np.float32)
    return Network([Flatten(), Linear("fc", w, rng.standard_normal(200).astype(np.float32))], (1, 1, 300), 200, "linear")


@pytest.fixture
def linear_inputs(rng):
    """Signed inputs for :func:`linear_net`, shape (N, 1, 1, 300)."""
    return rng.standard_normal((512, 1, 1, 300)).astype(np.float32)


class ScalingCrossbar:
    """Stand-in crossbar model: column currents are the ideal V.G currents times (1 - loss)."""

    differential = False

    def __init__(self, loss):
        self.loss = loss
        self.bound = 0

    def bind(self, g):
        self.bound += 1
        g = np.asarray(g, dtype=np.float32)
        loss = self.loss

        class Bound:
            transfer = None  # exercised through apply(), as a nonlinear model would be

            def apply(self, v):
                return (1.0 - loss) * (np.asarray(v, np.float32) @ g)

        return Bound()


@pytest.fixture
def scaling_crossbar():
    return ScalingCrossbar
