"""Exploration: draw faults from a scenario's `[explore]` profile for many seeds, check properties on each
run's trace, shrink a failure to its smallest form and replay it from one line. See docs/explore.md."""
