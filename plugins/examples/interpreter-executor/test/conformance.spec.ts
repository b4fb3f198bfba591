/** The example plugin passes the SDK's executor conformance suite, as any third-party plugin can. */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeExecutorConformance, silentLogger } from '@tensorify/executor-sdk';
import definition from '../src/index';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tensorify-interpreter-conformance-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describeExecutorConformance(
  () => definition.create({ interpreter: '/usr/bin/python3', args: [], killGraceSeconds: 1, logLineMaxBytes: 16384 }, { dataDir, logger: silentLogger }),
  { name: 'interpreter executor (example plugin): conformance' },
);
