// @neo4j/graphql over the Neo4j Stagegraph writes, served by graphql-yoga at /graphql:
// `node neo4j-graphql.js` with NEO4J_URL, NEO4J_USER, NEO4J_PASSWORD and PORT set
// (bench/neo4j_graphql.py starts it). The typeDefs are typeDefs.graphql beside this file.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const neo4j = require('neo4j-driver');
const { Neo4jGraphQL } = require('@neo4j/graphql');
const { createYoga } = require('graphql-yoga');

async function main() {
  const typeDefs = fs.readFileSync(path.join(__dirname, 'typeDefs.graphql'), 'utf8');
  const driver = neo4j.driver(
    process.env.NEO4J_URL,
    neo4j.auth.basic(process.env.NEO4J_USER, process.env.NEO4J_PASSWORD),
  );
  const schema = await new Neo4jGraphQL({ typeDefs, driver }).getSchema();
  const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', logging: 'warn' });
  const port = Number(process.env.PORT);
  http.createServer(yoga).listen(port, '127.0.0.1', () => {
    console.log(`@neo4j/graphql listening on http://127.0.0.1:${port}/graphql`);
  });
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
