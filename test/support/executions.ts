import { readFileSync } from 'node:fs';

/** trigger → a `code` node running `body` (its input: the run's inputs) → a return of its output. */
export function codeWorkflow(name: string, body: string) {
  return {
    name,
    nodes: [
      { id: 'trigger', type: 'manual' },
      { id: 'step', type: 'code', settings: { code: body } },
      { id: 'out', type: 'return', settings: { value: '{{ step }}' } },
    ],
    edges: [
      { source: 'trigger', target: 'step' },
      { source: 'step', target: 'out' },
    ],
  };
}

/** A code node body that starts a grandchild, prints `pids <own> <grandchild>`, then sleeps `inputs.seconds` (60). */
export const SLEEPER = [
  'import os, subprocess, time',
  'child = subprocess.Popen(["sleep", "60"])',
  'print("pids", os.getpid(), child.pid, flush=True)',
  'time.sleep(float(input.get("seconds", 60)))',
  'return {"slept": True}',
].join('\n');

/** Whether the process exists and is not a zombie (a dead process not yet reaped counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
