"""Plotly figures from panel frames: pure functions, ``figure(frame) -> go.Figure``, no I/O."""
