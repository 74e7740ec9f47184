// Backstage's own catalog backend, as a Backstage app's backend runs it, with nothing else:
// `node backstage.js --config app-config.yaml` (the config is written by bench/backstage.py:
// port, SQLite in memory, no auth policy, the catalog's rules and locations).
'use strict';

const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(import('@backstage/plugin-catalog-backend'));
// the Template kind, as every Backstage app with the scaffolder has it
backend.add(import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'));
backend.start().catch(error => {
  console.error(error);
  process.exit(1);
});
