"""Benchmarks and the synthetic catalog generator.

- :mod:`bench.shape` decides a catalog (pure), :mod:`bench.generate` writes it into a git
  repository (``python -m bench generate --entities N --out DIR``).
- :mod:`bench.ingest` measures one ingest in a child process, :mod:`bench.reads` the read
  questions of :mod:`bench.questions` over HTTP and through the raw drivers.
- :mod:`bench.run` runs it all for each size and store; :mod:`bench.report` prints the
  tables (``python -m bench``, ``make bench``).
"""
