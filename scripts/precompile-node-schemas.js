#!/usr/bin/env node
'use strict';
/**
 * Part of `npm run build`, after `nest build`: compiles the node manifest schema and the built-in
 * node types' settings schemas (codegen-templates/nodes) with ajv's standalone code generation into
 * dist/nodes/node-schemas.precompiled.js, which the node loader takes them from at boot instead of
 * compiling them again (see src/nodes/node-schema-compiler.ts).
 */
const { writeFileSync } = require('node:fs');
const { defaultTemplatesDir } = require('../dist/nodes/node-catalog');
const { PRECOMPILED_FILE, precompiledSchemasSource, schemasToPrecompile } = require('../dist/nodes/node-schema-compiler');

writeFileSync(PRECOMPILED_FILE, precompiledSchemasSource(schemasToPrecompile(defaultTemplatesDir())));
