"""Backstage's scaffolder REST API (``/api/scaffolder/v2``): :mod:`.app` routes and guards,
:mod:`.routes` answers, :mod:`.shapes` turns tasks and events into Backstage's JSON."""
