"""The trust suite: bad input, hostile requests and source faults never abort, stall or lose data.

Each module runs a short form in `make test`; `make fuzz` sets ``STAGEGRAPH_FUZZ=long`` for the
full-size runs, which print their figures (run with ``-s``).
"""
