"""The pieces of bench/run: configuration, process helpers, the capgate
measurements and the report. See docs/PERFORMANCE.md."""
