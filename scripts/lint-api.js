#!/usr/bin/env node
'use strict';
/**
 * `npm run lint:api`: the OpenAPI document the built server (dist/) serves at GET /docs-json, judged
 * by Redocly CLI (redocly.yaml: `recommended`) and Spectral (.spectral.yaml: `spectral:oas`). Exits 1
 * on any error or warning of either; a rule is silenced only in those files, with its reason.
 * Nothing listens and nothing is fetched: the document is taken as scripts/generate-client.js takes
 * it, and both tools run on their bundled rules with telemetry off.
 */
const { spawnSync } = require('node:child_process');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { builtServerDocument } = require('./generate-client');

const ROOT = join(__dirname, '..');

/** Runs a linter's CLI (from node_modules/.bin) and returns its JSON report. */
function runJson(bin, args) {
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', bin), args, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  });
  const start = result.stdout.search(/[[{]/);
  if (start < 0) throw new Error(`${bin} printed no report (exit ${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
  return JSON.parse(result.stdout.slice(start));
}

/** Redocly's problems as `{ severity, rule, where, message }`. */
function redocly(file) {
  const report = runJson('redocly', ['lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'json']);
  return report.problems.map((p) => ({
    severity: p.severity === 'error' ? 'error' : 'warning',
    rule: p.ruleId,
    where: p.location?.[0]?.pointer ?? '',
    message: p.message,
  }));
}

/** Spectral's problems as `{ severity, rule, where, message }` (its severities: 0 error, 1 warning, 2 info, 3 hint). */
function spectral(file) {
  const report = runJson('spectral', ['lint', file, '--ruleset', join(ROOT, '.spectral.yaml'), '--format', 'json', '--quiet']);
  return report.map((p) => ({ severity: ['error', 'warning', 'info', 'hint'][p.severity], rule: p.code, where: `#/${p.path.join('/')}`, message: p.message }));
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'tensorify-lint-api-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, `${JSON.stringify(await builtServerDocument(), null, 2)}\n`);
    let failed = false;
    for (const [name, lint] of [
      ['Redocly', redocly],
      ['Spectral', spectral],
    ]) {
      const problems = lint(file);
      const count = (severity) => problems.filter((p) => p.severity === severity).length;
      for (const p of problems) process.stdout.write(`  ${name} ${p.severity} ${p.rule} ${p.where}: ${p.message}\n`);
      process.stdout.write(`${name}: ${count('error')} errors, ${count('warning')} warnings\n`);
      failed ||= count('error') + count('warning') > 0;
    }
    return failed ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
    process.exit(1);
  },
);
