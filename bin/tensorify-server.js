#!/usr/bin/env node
'use strict';
const { runCli } = require('../dist/cli.js');

runCli(process.argv).then((code) => {
  if (code !== 0) process.exit(code);
});
