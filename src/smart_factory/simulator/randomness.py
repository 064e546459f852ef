"""Independent random streams per file, derived from the seed and the file's time window.

Each concern draws from its own stream, so turning a scenario on (say, humidity) never
shifts the numbers another concern draws: the run without it is the same data minus
that scenario.

>>> first = FileStreams.for_window(seed=42, window_start_ms=0)
>>> again = FileStreams.for_window(seed=42, window_start_ms=0)
>>> float(first.values.random()) == float(again.values.random())
True
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass(frozen=True)
class FileStreams:
    schedule: np.random.Generator
    values: np.random.Generator
    anomalies: np.random.Generator
    missing_ids: np.random.Generator
    late: np.random.Generator
    humidity: np.random.Generator
    duplicates: np.random.Generator
    malformed: np.random.Generator

    @classmethod
    def for_window(cls, seed: int, window_start_ms: int) -> FileStreams:
        children = np.random.SeedSequence([seed, window_start_ms]).spawn(len(fields(cls)))
        return cls(*(np.random.default_rng(child) for child in children))
