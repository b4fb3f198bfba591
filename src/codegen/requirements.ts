/**
 * pip requirement lines merged: one line per distribution (names compared as PEP 503 normalises
 * them), the version specifiers of every node that needs it joined, sorted by name.
 * `torch>=2.0` and `Torch>=2.1` become `torch>=2.0,>=2.1`.
 */
export function mergeRequirements(lines: Iterable<string>): string[] {
  const merged = new Map<string, { name: string; extras: Set<string>; specifiers: Set<string>; marker: string }>();
  for (const line of lines) {
    const requirement = parseRequirement(line);
    const key = `${normalizeName(requirement.name)};${requirement.marker}`;
    const entry = merged.get(key) ?? { name: requirement.name, extras: new Set(), specifiers: new Set(), marker: requirement.marker };
    requirement.extras.forEach((extra) => entry.extras.add(extra));
    requirement.specifiers.forEach((specifier) => entry.specifiers.add(specifier));
    merged.set(key, entry);
  }
  return [...merged.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, { name, extras, specifiers, marker }]) => {
      const extrasText = extras.size === 0 ? '' : `[${[...extras].sort().join(',')}]`;
      return `${name}${extrasText}${[...specifiers].sort().join(',')}${marker === '' ? '' : ` ; ${marker}`}`;
    });
}

const REQUIREMENT = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*([^;]*?)\s*(?:;\s*(.+))?$/;

function parseRequirement(line: string): { name: string; extras: string[]; specifiers: string[]; marker: string } {
  const match = REQUIREMENT.exec(line.trim());
  if (!match || match[3].includes('@')) throw new Error(`"${line}" is not a pip requirement of the form name[extras]>=version ; marker`);
  const [, name, extras = '', specifiers, marker = ''] = match;
  const list = (text: string) =>
    text
      .split(',')
      .map((part) => part.replace(/\s+/g, ''))
      .filter((part) => part !== '');
  return { name, extras: list(extras), specifiers: list(specifiers), marker: marker.trim() };
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}
