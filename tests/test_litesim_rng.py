# SPDX-License-Identifier: GPL-2.0-only
"""litesim.rng: the named random streams keep their numbers and never share bits."""

from __future__ import annotations

import numpy as np
import pytest
from slicebridge.litesim.rng import (
    NORMAL_PAIR_OFFSET,
    ONOFF_MAX_TOGGLES,
    CounterRng,
    Stream,
    instance_keys,
    onoff_toggle_stream,
)

# the first hash of element 0, seed 7, period 3 in each stream: renumbering a stream changes every
# run that draws from it, so the numbers are pinned
PINNED_BITS = {
    Stream.TRAFFIC_PHASE: 17289204682453902076,
    Stream.ONOFF_START_ON: 8294157253797771774,
    Stream.ONOFF_FIRST_DURATION: 3997982083947519668,
    Stream.POISSON_SMALL_MEAN: 9168671090851903113,
    Stream.POISSON_LARGE_MEAN: 9782879187755088529,
    Stream.RENEWAL_COUNT: 17636833249353693014,
    Stream.MOBILITY_HEADING: 1089199273919792239,
    Stream.ONOFF_TOGGLES: 12286204561398444614,
}


def test_every_stream_keeps_its_bits():
    assert set(PINNED_BITS) == set(Stream), "a new stream needs its pinned bits here"
    rng = CounterRng((4,))
    keys = instance_keys(np.array([7]))
    for stream, want in PINNED_BITS.items():
        assert int(rng.bits(keys, np.array([3]), stream)[0, 0]) == want, stream.name


def test_stream_numbers_do_not_overlap():
    """Each named stream, each on/off toggle stream and the second uniform of every normal draw
    (``stream + NORMAL_PAIR_OFFSET``) is a different number."""
    numbers = [int(s) for s in Stream if s is not Stream.ONOFF_TOGGLES]
    numbers += [onoff_toggle_stream(i) for i in range(ONOFF_MAX_TOGGLES)]
    numbers += [n + NORMAL_PAIR_OFFSET for n in list(numbers)]
    assert len(set(numbers)) == len(numbers)


def test_onoff_toggle_stream_rejects_out_of_range_toggles():
    assert onoff_toggle_stream(0) == Stream.ONOFF_TOGGLES
    with pytest.raises(ValueError, match="toggle"):
        onoff_toggle_stream(ONOFF_MAX_TOGGLES)


def test_streams_draw_different_numbers():
    rng = CounterRng((3, 5))
    keys = instance_keys(np.arange(4))
    periods = np.zeros(4, dtype=np.int64)
    draws = [rng.uniform(keys, periods, s) for s in Stream]
    for i in range(len(draws)):
        for j in range(i + 1, len(draws)):
            assert not np.any(draws[i] == draws[j])
