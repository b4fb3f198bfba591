/** A Python fragment split into its leading import lines and the rest. */
export interface PythonFragment {
  imports: string[];
  body: string;
  /** Top-level functions and classes it defines. */
  defines: string[];
}

/** Splits a Python file into its leading imports and the rest, and lists the names it defines at top level. */
export function splitFragment(text: string): PythonFragment {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let index = 0;
  const imports: string[] = [];
  for (; index < lines.length; index++) {
    const line = lines[index];
    if (line.trim() === '') continue;
    if (!/^(import|from) \S/.test(line)) break;
    imports.push(line);
  }
  const body = lines.slice(index).join('\n').trim();
  const defines = [...body.matchAll(/^(?:def|class) ([A-Za-z_][A-Za-z0-9_]*)|^([A-Za-z_][A-Za-z0-9_]*) = /gm)].map((match) => match[1] ?? match[2]);
  return { imports, body, defines };
}
