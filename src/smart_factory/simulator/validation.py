"""Parameter checks shared by the simulator's parts; each error names the parameter and the range.

>>> check_share("late_share", 0.25)
0.25
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from smart_factory.errors import SimulatorConfigError


def check_whole_number(parameter: str, value: object, low: int, high: int) -> int:
    """``value`` as an int when it is a whole number in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
        raise SimulatorConfigError(
            f"{parameter} must be a whole number from {low:,} to {high:,}, got {value!r}"
        )
    return int(value)


def check_share(parameter: str, value: object) -> float:
    """``value`` as a float when it is a fraction in ``[0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, Real) or math.isnan(value) or not 0.0 <= value <= 1.0:
        raise SimulatorConfigError(
            f"{parameter} must be a fraction from 0.0 to 1.0 (0.01 means 1%), got {value!r}"
        )
    return float(value)


def check_seed(seed: object) -> int:
    """A seed numpy and Faker both accept: a non-negative whole number."""
    return check_whole_number("seed", seed, 0, 2**63 - 1)
