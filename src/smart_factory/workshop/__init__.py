"""The workshop as a whole: the end-to-end demo run behind `make demo`."""
