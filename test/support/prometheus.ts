/**
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), for tests: it throws, naming the
 * line, on anything a Prometheus server would refuse or that the format forbids — a bad metric or
 * label name, a bad escape, an unparsable value, a duplicate HELP/TYPE, a TYPE after the samples
 * it describes, a family split in two groups, a repeated series — and checks histograms
 * (cumulative buckets ending in `le="+Inf"`, equal to `_count`, with `_sum`).
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: `x_bucket`, `x_sum`, `x_count` for a histogram `x`. */
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export class PrometheusParseError extends Error {
  constructor(lineNumber: number, line: string, problem: string) {
    super(`line ${lineNumber}: ${problem}: ${JSON.stringify(line)}`);
    this.name = 'PrometheusParseError';
  }
}

/**
 * A value as Prometheus reads it, with Go's `strconv.ParseFloat`: decimal floats, and NaN and
 * [+-]Inf(inity) in any case (prom-client writes NaN as `Nan`), but no signed NaN.
 */
function parseValue(text: string): number | null {
  if (/^nan$/i.test(text)) return NaN;
  const infinity = /^([+-]?)inf(?:inity)?$/i.exec(text);
  if (infinity) return infinity[1] === '-' ? -Infinity : Infinity;
  return FLOAT.test(text) ? Number(text) : null;
}

/** The family a sample belongs to: `x_bucket`/`x_sum`/`x_count` belong to a histogram or summary `x`. */
function familyNameOf(sampleName: string, families: Map<string, MetricFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue;
    const base = sampleName.slice(0, -suffix.length);
    const type = families.get(base)?.type;
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
  }
  return sampleName;
}

/** Reads `{a="1",b="x\"y"}` from `text` at `start` (the `{`); returns the labels and the index after `}`. */
function parseLabels(text: string, start: number, fail: (problem: string) => never): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (text[i] === '}') return { labels, end: i + 1 };
    const nameMatch = /^[^=}\s]*/.exec(text.slice(i))![0];
    if (!LABEL_NAME.test(nameMatch)) fail(`bad label name ${JSON.stringify(nameMatch)}`);
    if (nameMatch.startsWith('__')) fail(`label name ${nameMatch} is reserved`);
    if (Object.hasOwn(labels, nameMatch)) fail(`label ${nameMatch} repeated`);
    i += nameMatch.length;
    if (text[i] !== '=') fail(`expected = after label ${nameMatch}`);
    if (text[i + 1] !== '"') fail(`expected " to open the value of label ${nameMatch}`);
    i += 2;
    let value = '';
    for (;;) {
      const char = text[i];
      if (char === undefined || char === '\n') fail(`unterminated value of label ${nameMatch}`);
      if (char === '"') break;
      if (char === '\\') {
        const next = text[i + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else fail(`bad escape \\${next ?? ''} in label ${nameMatch}`);
        i += 2;
        continue;
      }
      value += char;
      i++;
    }
    labels[nameMatch] = value;
    i++; // the closing quote
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail(`expected , or } after label ${nameMatch}`);
  }
}

function unescapeHelp(text: string, fail: (problem: string) => never): string {
  return text.replace(/\\(.?)/g, (_, next: string) => {
    if (next === '\\') return '\\';
    if (next === 'n') return '\n';
    return fail(`bad escape \\${next} in HELP`);
  });
}

function checkHistogram(family: MetricFamily): void {
  const problem = (message: string) => {
    throw new Error(`histogram ${family.name}: ${message}`);
  };
  const seriesKey = (labels: Record<string, string>) =>
    JSON.stringify(
      Object.entries(labels)
        .filter(([name]) => name !== 'le')
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  const series = new Map<string, { buckets: { le: number; value: number }[]; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const key = seriesKey(sample.labels);
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name === `${family.name}_bucket`) {
      const le = sample.labels.le === undefined ? null : parseValue(sample.labels.le);
      if (le === null || Number.isNaN(le)) problem(`bucket without a numeric le: ${JSON.stringify(sample.labels)}`);
      entry.buckets.push({ le: le!, value: sample.value });
    } else if (sample.name === `${family.name}_sum`) entry.sum = sample.value;
    else if (sample.name === `${family.name}_count`) entry.count = sample.value;
    else problem(`unexpected sample ${sample.name}`);
  }
  for (const [key, { buckets, sum, count }] of series) {
    if (count === undefined || sum === undefined) problem(`series ${key} lacks _count or _sum`);
    if (buckets.length === 0 || buckets[buckets.length - 1].le !== Infinity) problem(`series ${key} does not end with le="+Inf"`);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i].le > buckets[i - 1].le)) problem(`series ${key}: le not increasing`);
      if (buckets[i].value < buckets[i - 1].value) problem(`series ${key}: buckets not cumulative`);
    }
    if (buckets[buckets.length - 1].value !== count)
      problem(`series ${key}: le="+Inf" bucket ${buckets[buckets.length - 1].value} differs from _count ${count}`);
  }
}

/** Parses a whole exposition; throws PrometheusParseError (or a histogram problem) on the first fault. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, MetricFamily>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: string | null = null;
  const lines = text.split('\n');
  lines.pop(); // after the final newline

  const enter = (name: string, fail: (problem: string) => never) => {
    if (current === name) return;
    if (closed.has(name)) fail(`the lines of ${name} are not one group`);
    if (current !== null) closed.add(current);
    current = name;
  };

  lines.forEach((line, index) => {
    const fail = (problem: string): never => {
      throw new PrometheusParseError(index + 1, line, problem);
    };
    if (/^\s*$/.test(line)) return;
    if (line.startsWith('#')) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!match) return; // an ordinary comment
      const [, keyword, name, rest = ''] = match;
      if (!METRIC_NAME.test(name)) fail(`bad metric name ${JSON.stringify(name)}`);
      enter(name, fail);
      const family = families.get(name) ?? { name, type: 'untyped' as MetricType, samples: [] };
      if (keyword === 'HELP') {
        if (family.help !== undefined) fail(`second HELP for ${name}`);
        family.help = unescapeHelp(rest, fail);
      } else {
        if (seen.has(`type:${name}`)) fail(`second TYPE for ${name}`);
        if (family.samples.length > 0) fail(`TYPE of ${name} after its samples`);
        if (!TYPES.includes(rest.trim() as MetricType)) fail(`unknown type ${JSON.stringify(rest)}`);
        family.type = rest.trim() as MetricType;
        seen.add(`type:${name}`);
      }
      families.set(name, family);
      return;
    }

    const nameText = /^[^{\s]*/.exec(line)![0];
    if (!METRIC_NAME.test(nameText)) fail(`bad metric name ${JSON.stringify(nameText)}`);
    let i = nameText.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i, fail));
    const rest = line.slice(i);
    const fields = /^[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*$/.exec(rest);
    if (!fields) fail('expected a value (and an optional timestamp) after the series');
    const value = parseValue(fields![1]);
    if (value === null) fail(`bad value ${JSON.stringify(fields![1])}`);
    let timestamp: number | undefined;
    if (fields![2] !== undefined) {
      if (!/^-?\d+$/.test(fields![2])) fail(`bad timestamp ${JSON.stringify(fields![2])}`);
      timestamp = Number(fields![2]);
    }
    const familyName = familyNameOf(nameText, families);
    enter(familyName, fail);
    const family = families.get(familyName) ?? { name: familyName, type: 'untyped' as MetricType, samples: [] };
    families.set(familyName, family);
    const key = `${nameText}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
    if (seen.has(key)) fail(`series repeated`);
    seen.add(key);
    if (family.type === 'counter' && !(value! >= 0)) fail('a counter must be a non-negative number');
    if (family.type !== 'histogram' && family.type !== 'summary' && nameText !== familyName) fail('sample name differs from its family');
    family.samples.push({ name: nameText, labels, value: value!, ...(timestamp === undefined ? {} : { timestamp }) });
  });

  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** The samples of `name` (a sample name such as `x_count`) whose labels include `labels`. */
export function samplesOf(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): Sample[] {
  const family = families.get(familyNameOf(name, families));
  return (family?.samples ?? []).filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}

/** The sum of the samples of `name` matching `labels`; 0 when there are none. */
export function valueOf(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  return samplesOf(families, name, labels).reduce((total, sample) => total + sample.value, 0);
}
