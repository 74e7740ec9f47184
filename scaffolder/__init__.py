"""The scaffolder: Backstage's software templates (``scaffolder.backstage.io/v1beta3``) run
unchanged. A template's parameters are checked, its steps run in order in a fresh workspace
(``run.py``), each an action from the registry (``actions/registry.py``) with its input
rendered in a sandbox (``render.py``); tasks live in the store and are claimed by any process
with a scheduler (``tasks.py``, ``worker.py``)."""
