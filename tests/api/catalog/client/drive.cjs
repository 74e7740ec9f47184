// Drives @backstage/catalog-client against a live Stagegraph and validates every full
// entity it returns with @backstage/catalog-model's validators. Usage:
//   node drive.cjs <base URL> <reader token> <writer token> <admin token> <git repo folder>
// The repository (made by the test) is registered over file://; the script commits one more
// descriptor to it before refreshEntity, with the git CLI.
// Prints one JSON object with what each method returned and which entities the validators
// refused (the test asserts on both); any thrown error exits 1 with the message on stderr.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { CATALOG_FILTER_EXISTS, CatalogClient } = require('@backstage/catalog-client');
const model = require('@backstage/catalog-model');

const [base, token, writerToken, adminToken, repo] = process.argv.slice(2);
const options = { token };
const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => `${base}/api/catalog` },
  fetchApi: { fetch },
});

const validateEnvelope = model.entitySchemaValidator();
const kindValidators = [
  model.apiEntityV1alpha1Validator,
  model.componentEntityV1alpha1Validator,
  model.domainEntityV1alpha1Validator,
  model.groupEntityV1alpha1Validator,
  model.locationEntityV1alpha1Validator,
  model.resourceEntityV1alpha1Validator,
  model.systemEntityV1alpha1Validator,
  model.userEntityV1alpha1Validator,
];
let validated = 0;
const invalid = {};

// Every full entity goes through the envelope validator and its kind's validator; what
// they refuse is collected (ref -> message), not thrown, so the test can name each one.
async function validate(entity) {
  try {
    validateEnvelope(entity);
    const results = await Promise.all(kindValidators.map(v => v.check(entity)));
    const known = ['api', 'component', 'domain', 'group', 'location', 'resource', 'system', 'user'];
    if (known.includes(entity.kind.toLowerCase()) && !results.some(Boolean)) {
      throw new Error('no kind validator accepted it');
    }
  } catch (error) {
    invalid[model.stringifyEntityRef(entity)] = String(error.message || error);
  }
  validated += 1;
  return entity;
}

const ref = e => model.stringifyEntityRef(e);

async function main() {
  const all = await client.getEntities({}, options);
  await Promise.all(all.items.map(validate));

  const filtered = await client.getEntities(
    {
      filter: [
        { kind: 'component', 'spec.type': 'website' },
        { kind: 'api', 'spec.type': 'grpc' },
      ],
      order: { field: 'metadata.name', order: 'asc' },
    },
    options,
  );
  const paged = await client.getEntities(
    {
      filter: { kind: 'group' },
      order: { field: 'metadata.name', order: 'asc' },
      offset: 2,
      limit: 3,
    },
    options,
  );
  const exists = await client.getEntities(
    { filter: { kind: 'component', 'spec.system': CATALOG_FILTER_EXISTS } },
    options,
  );

  const refs = ['api:default/petstore', 'component:default/no-such-thing', 'group:default/team-c'];
  const byRefs = await client.getEntitiesByRefs({ entityRefs: refs }, options);
  await Promise.all(byRefs.items.filter(Boolean).map(validate));

  const forward = [];
  let page = await client.queryEntities(
    { filter: { kind: 'user' }, limit: 5, orderFields: { field: 'metadata.name', order: 'desc' } },
    options,
  );
  const totalItems = page.totalItems;
  forward.push(page.items.map(ref));
  await Promise.all(page.items.map(validate));
  while (page.pageInfo.nextCursor) {
    page = await client.queryEntities({ cursor: page.pageInfo.nextCursor, limit: 5 }, options);
    forward.push(page.items.map(ref));
    await Promise.all(page.items.map(validate));
  }
  const back = [page.items.map(ref)];
  while (page.pageInfo.prevCursor) {
    page = await client.queryEntities({ cursor: page.pageInfo.prevCursor, limit: 5 }, options);
    back.push(page.items.map(ref));
  }
  const text = await client.queryEntities(
    {
      filter: { kind: 'component' },
      fullTextFilter: { term: 'search', fields: ['metadata.name'] },
      orderFields: { field: 'metadata.name', order: 'asc' },
      fields: ['kind', 'metadata.name', 'metadata.namespace'],
    },
    options,
  );

  const petstore = await validate(await client.getEntityByRef('component:default/petstore', options));
  const missing = await client.getEntityByRef('component:default/no-such-thing', options);
  const ancestors = await client.getEntityAncestors({ entityRef: 'component:default/petstore' }, options);
  await Promise.all(ancestors.items.map(item => validate(item.entity)));
  const facets = await client.getEntityFacets(
    {
      facets: ['kind', 'spec.lifecycle', 'relations.ownedBy'],
      filter: { kind: ['component', 'api'] },
    },
    options,
  );

  let unauthorized = null;
  try {
    await client.getEntities({}, { token: 'wrong' });
  } catch (error) {
    unauthorized = { name: error.name, status: error.response?.status, cause: error.cause?.name };
  }

  const component = {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'checkout' },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-a' },
  };
  const location = 'url:https://github.com/acme/checkout/blob/main/catalog-info.yaml';
  const valid = await client.validateEntity(component, location, options);
  const refused = await client.validateEntity(
    { ...component, metadata: { name: 'not a name' } },
    location,
    options,
  );

  let readerDelete = null;
  try {
    await client.removeEntityByUid(petstore.metadata.uid, options);
  } catch (error) {
    readerDelete = error.response?.status;
  }
  await client.removeEntityByUid(petstore.metadata.uid, { token: writerToken });
  const afterDelete = await client.getEntityByRef('component:default/petstore', options);

  const locations = await driveLocations();

  return {
    locations,
    validation: { valid, refused },
    deletion: { readerDelete, afterDelete: afterDelete ?? null },
    all: all.items.length,
    filtered: filtered.items.map(ref),
    paged: paged.items.map(e => e.metadata.name),
    exists: exists.items.map(ref).sort(),
    byRefs: byRefs.items.map(e => (e ? ref(e) : null)),
    query: { totalItems, forward, back, text: text.items.map(ref) },
    petstore: { ref: ref(petstore), uid: petstore.metadata.uid, relations: petstore.relations },
    missing: missing ?? null,
    ancestors: { root: ancestors.rootEntityRef, items: ancestors.items.map(i => ref(i.entity)) },
    facets: facets.facets,
    unauthorized,
    validated,
    invalid,
  };
}

// Every location method: dry run and real addLocation of a file:// repository, the three
// getLocation forms, its entities' ancestry, analyzeLocation, refreshEntity after a new
// commit, removeLocationById.
async function driveLocations() {
  const admin = { token: adminToken };
  const target = `file://${repo}`;
  let readerAdd = null;
  try {
    await client.addLocation({ type: 'url', target }, options);
  } catch (error) {
    readerAdd = error.response?.status;
  }
  const dry = await client.addLocation({ type: 'url', target, dryRun: true }, admin);
  await Promise.all(dry.entities.map(validate));
  const added = await client.addLocation({ type: 'url', target }, admin);
  let conflict = null;
  try {
    await client.addLocation({ type: 'url', target }, admin);
  } catch (error) {
    conflict = { status: error.response?.status, cause: error.cause?.name };
  }
  const id = added.location.id;
  const listed = await client.getLocations({}, options);
  const byId = await client.getLocationById(id, options);
  const byRef = await client.getLocationByRef(`url:${target}`, options);
  const byEntity = await client.getLocationByEntity('component:default/cart', options);
  const ancestry = await client.getEntityAncestors({ entityRef: 'component:default/cart' }, options);
  await Promise.all(ancestry.items.map(item => validate(item.entity)));
  const cart = await validate(await client.getEntityByRef('component:default/cart', options));
  const analysis = await client.analyzeLocation({ location: { type: 'url', target } }, admin);

  const descriptor = path.join(repo, 'services', 'basket', 'catalog-info.yaml');
  fs.mkdirSync(path.dirname(descriptor), { recursive: true });
  fs.writeFileSync(
    descriptor,
    'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: basket\n' +
      'spec:\n  type: service\n  lifecycle: production\n  owner: team-shop\n',
  );
  const git = args => execFileSync('git', args, { cwd: repo, env: { ...process.env, ...GIT_ENV } });
  git(['add', '--all']);
  git(['commit', '--quiet', '-m', 'basket']);
  const beforeRefresh = await client.getEntityByRef('component:default/basket', options);
  await client.refreshEntity('component:default/cart', { token: writerToken });
  const basket = await validate(await client.getEntityByRef('component:default/basket', options));

  await client.removeLocationById(id, admin);
  const afterRemove = {
    location: (await client.getLocationById(id, options)) ?? null,
    cart: (await client.getEntityByRef('component:default/cart', options)) ?? null,
    listed: (await client.getLocations({}, options)).items,
  };
  return {
    readerAdd,
    dry: { location: dry.location, exists: dry.exists, refs: dry.entities.map(ref) },
    added: { location: added.location, entities: added.entities },
    conflict,
    listed: listed.items,
    byId,
    byRef,
    byEntity,
    ancestry: ancestry.items.map(i => [ref(i.entity), i.parentEntityRefs]),
    cartAnnotations: cart.metadata.annotations,
    analysis: analysis.existingEntityFiles.map(f => [ref(f.entity), f.isRegistered]).sort(),
    refreshed: { before: beforeRefresh ?? null, after: ref(basket) },
    afterRemove,
  };
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Stagegraph Tests',
  GIT_AUTHOR_EMAIL: 'tests@stagegraph.invalid',
  GIT_COMMITTER_NAME: 'Stagegraph Tests',
  GIT_COMMITTER_EMAIL: 'tests@stagegraph.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

main().then(
  result => process.stdout.write(JSON.stringify(result)),
  error => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  },
);
