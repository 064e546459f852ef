"""What each panel shows, as small frames: one loader per panel, ``loader(reader) -> DataFrame``.

Loaders do their work in DuckDB SQL over the Delta tables; Python only reshapes the few
rows that come back. Times are naive UTC.
"""
