/**
 * The sshd instances of the ssh executor's integration tests (scripts/ci/ssh/start-sshd.sh): where
 * they listen, the client's keys, and ways to look at the "remote" machine (this one) over SSH.
 */
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..', '..');
export const SSHD_DIR = process.env.TENSORIFY_SSHD_DIR ?? '/tmp/tensorify-sshd';
export const CPU_PORT = Number(process.env.TENSORIFY_SSHD_PORT ?? 2222);
export const GPU_PORT = Number(process.env.TENSORIFY_SSHD_GPU_PORT ?? 2223);
export const USER = os.userInfo().username;
export const KEY = path.join(SSHD_DIR, 'client_ed25519');
export const KNOWN_HOSTS = path.join(SSHD_DIR, 'known_hosts');
export const PYTHON = '/usr/bin/python3';

/** Starts the two sshd instances unless they run (idempotent). */
export function startSshd(): void {
  execFileSync(path.join(ROOT, 'scripts', 'ci', 'ssh', 'start-sshd.sh'), { stdio: 'pipe' });
}

/** Runs a command over SSH with the OpenSSH client (on the "cpu" host). */
export function overSsh(command: string): string {
  return execFileSync(
    'ssh',
    ['-i', KEY, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${KNOWN_HOSTS}`, '-p', String(CPU_PORT), `${USER}@127.0.0.1`, command],
    {
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
}

/** Which of these pids are alive (not gone, not zombies), and whether the path exists, asked over SSH. */
export function remoteState(pids: number[], dir: string): { alive: number[]; dirExists: boolean } {
  const script = `import os, sys\nalive = []\nfor pid in sys.argv[2:]:\n    try:\n        stat = open("/proc/%s/stat" % pid).read()\n    except OSError:\n        continue\n    if stat[stat.rfind(")") + 2] not in "ZX":\n        alive.append(int(pid))\nprint(alive, os.path.exists(sys.argv[1]))`;
  const answer = overSsh(`${PYTHON} -c '${script}' '${dir}' ${pids.join(' ')}`).trim();
  const match = /^\[(.*)\] (True|False)$/.exec(answer);
  if (!match) throw new Error(`unexpected answer: ${answer}`);
  return { alive: match[1] ? match[1].split(', ').map(Number) : [], dirExists: match[2] === 'True' };
}

export function keyFingerprint(publicKeyFile: string): string {
  return execFileSync('ssh-keygen', ['-lf', publicKeyFile], { encoding: 'utf8' }).split(' ')[1];
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** A tiny pure-Python wheel (tensorify-tiny 0.1, module tensorify_tiny with VALUE = 42), built without network. */
export function buildWheel(dir: string): void {
  const script = [
    'import sys, zipfile',
    'path = sys.argv[1] + "/tensorify_tiny-0.1-py3-none-any.whl"',
    'files = {',
    '  "tensorify_tiny/__init__.py": "VALUE = 42\\n",',
    '  "tensorify_tiny-0.1.dist-info/METADATA": "Metadata-Version: 2.1\\nName: tensorify-tiny\\nVersion: 0.1\\n",',
    '  "tensorify_tiny-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: tensorify-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",',
    '}',
    'record = "".join("%s,,\\n" % name for name in files) + "tensorify_tiny-0.1.dist-info/RECORD,,\\n"',
    'with zipfile.ZipFile(path, "w") as wheel:',
    '    for name, text in files.items():',
    '        wheel.writestr(name, text)',
    '    wheel.writestr("tensorify_tiny-0.1.dist-info/RECORD", record)',
  ].join('\n');
  execFileSync(PYTHON, ['-c', script, dir]);
}
