/**
 * The ssh executor passes the SDK's executor conformance suite, against the "cpu" sshd of
 * ssh-executor.int-spec.ts (scripts/ci/ssh/start-sshd.sh, started here when not running).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeExecutorConformance, readProgram, silentLogger } from '@tensorify/executor-sdk';
import ssh from '../src/index';
import { CPU_PORT, KEY, KNOWN_HOSTS, PYTHON, ROOT, startSshd, USER } from './test-hosts';

startSshd();
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tensorify-ssh-conformance-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const cpu = {
  name: 'cpu',
  host: '127.0.0.1',
  port: CPU_PORT,
  user: USER,
  privateKeyPath: KEY,
  python: PYTHON,
  workDir,
};

describeExecutorConformance(() => ssh.create({ hosts: [cpu], knownHostsPath: KNOWN_HOSTS, killGraceSeconds: 1 }, { dataDir: workDir, logger: silentLogger }), {
  name: 'ssh executor: conformance',
  hello: readProgram(path.join(ROOT, 'test', 'fixtures', 'golden', 'hello')),
});
