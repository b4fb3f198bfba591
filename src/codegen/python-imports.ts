import { LINE_LENGTH } from './python/layout';

/**
 * Import lines merged the way isort would leave them: standard library first, then third-party
 * packages, a blank line between; in each, `import x` lines before `from x import …` lines, both
 * sorted; the names of one module's `from` imports merged into one sorted statement.
 */
export function mergeImports(lines: Iterable<string>): string {
  const plain = new Set<string>();
  const fromImports = new Map<string, Set<string>>();
  for (const line of lines) {
    const statement = parseImport(line);
    if (statement.kind === 'import') plain.add(statement.module);
    else {
      const names = fromImports.get(statement.module) ?? new Set<string>();
      statement.names.forEach((name) => names.add(name));
      fromImports.set(statement.module, names);
    }
  }
  const sections = [true, false].map((standard) => {
    const imports = [...plain]
      .filter((module) => isStandardLibrary(module) === standard)
      .sort(byModule)
      .map((module) => `import ${module}`);
    const froms = [...fromImports.keys()]
      .filter((module) => isStandardLibrary(module) === standard)
      .sort(byModule)
      .map((module) => fromImport(module, [...fromImports.get(module)!].sort(byName)));
    return [...imports, ...froms].join('\n');
  });
  return sections.filter((section) => section !== '').join('\n\n');
}

/** The names an import line binds in its module: `import a.b` binds `a`, `from m import x as y` binds `y`. */
export function importedNames(line: string): string[] {
  const statement = parseImport(line);
  if (statement.kind === 'import') {
    const alias = / as (\w+)$/.exec(statement.module);
    return [alias ? alias[1] : statement.module.split('.')[0]];
  }
  return statement.names.map((name) => name.split(' as ').pop()!);
}

/** `from module import a, b` as black writes it: on one line when it fits, else one name per line. */
export function fromImport(module: string, names: string[]): string {
  const flat = `from ${module} import ${names.join(', ')}`;
  if (flat.length <= LINE_LENGTH) return flat;
  return `from ${module} import (\n${names.map((name) => `    ${name},`).join('\n')}\n)`;
}

type ImportStatement = { kind: 'import'; module: string } | { kind: 'from'; module: string; names: string[] };

function parseImport(line: string): ImportStatement {
  const plain = /^import ([\w.]+(?: as \w+)?)$/.exec(line.trim());
  if (plain) return { kind: 'import', module: plain[1] };
  const from = /^from ([\w.]+) import (\w+(?: as \w+)?(?:, *\w+(?: as \w+)?)*)$/.exec(line.trim());
  if (from) return { kind: 'from', module: from[1], names: from[2].split(',').map((name) => name.trim()) };
  throw new Error(`"${line}" is not a one-line Python import (import x, import x as y, from x import a, b)`);
}

function isStandardLibrary(module: string): boolean {
  return STANDARD_LIBRARY.has(module.split(/[. ]/)[0]);
}

function byModule(a: string, b: string): number {
  return a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

/** isort's default order of imported names: case-sensitive, so `Any` sorts before `dataclass`. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Top-level modules of Python 3.11's standard library (sys.stdlib_module_names, public ones). */
const STANDARD_LIBRARY: ReadonlySet<string> = new Set([
  'abc',
  'aifc',
  'antigravity',
  'argparse',
  'array',
  'ast',
  'asynchat',
  'asyncio',
  'asyncore',
  'atexit',
  'audioop',
  'base64',
  'bdb',
  'binascii',
  'bisect',
  'builtins',
  'bz2',
  'cProfile',
  'calendar',
  'cgi',
  'cgitb',
  'chunk',
  'cmath',
  'cmd',
  'code',
  'codecs',
  'codeop',
  'collections',
  'colorsys',
  'compileall',
  'concurrent',
  'configparser',
  'contextlib',
  'contextvars',
  'copy',
  'copyreg',
  'crypt',
  'csv',
  'ctypes',
  'curses',
  'dataclasses',
  'datetime',
  'dbm',
  'decimal',
  'difflib',
  'dis',
  'distutils',
  'doctest',
  'email',
  'encodings',
  'ensurepip',
  'enum',
  'errno',
  'faulthandler',
  'fcntl',
  'filecmp',
  'fileinput',
  'fnmatch',
  'fractions',
  'ftplib',
  'functools',
  'gc',
  'genericpath',
  'getopt',
  'getpass',
  'gettext',
  'glob',
  'graphlib',
  'grp',
  'gzip',
  'hashlib',
  'heapq',
  'hmac',
  'html',
  'http',
  'idlelib',
  'imaplib',
  'imghdr',
  'imp',
  'importlib',
  'inspect',
  'io',
  'ipaddress',
  'itertools',
  'json',
  'keyword',
  'lib2to3',
  'linecache',
  'locale',
  'logging',
  'lzma',
  'mailbox',
  'mailcap',
  'marshal',
  'math',
  'mimetypes',
  'mmap',
  'modulefinder',
  'msilib',
  'msvcrt',
  'multiprocessing',
  'netrc',
  'nis',
  'nntplib',
  'nt',
  'ntpath',
  'nturl2path',
  'numbers',
  'opcode',
  'operator',
  'optparse',
  'os',
  'ossaudiodev',
  'pathlib',
  'pdb',
  'pickle',
  'pickletools',
  'pipes',
  'pkgutil',
  'platform',
  'plistlib',
  'poplib',
  'posix',
  'posixpath',
  'pprint',
  'profile',
  'pstats',
  'pty',
  'pwd',
  'py_compile',
  'pyclbr',
  'pydoc',
  'pydoc_data',
  'pyexpat',
  'queue',
  'quopri',
  'random',
  're',
  'readline',
  'reprlib',
  'resource',
  'rlcompleter',
  'runpy',
  'sched',
  'secrets',
  'select',
  'selectors',
  'shelve',
  'shlex',
  'shutil',
  'signal',
  'site',
  'smtpd',
  'smtplib',
  'sndhdr',
  'socket',
  'socketserver',
  'spwd',
  'sqlite3',
  'sre_compile',
  'sre_constants',
  'sre_parse',
  'ssl',
  'stat',
  'statistics',
  'string',
  'stringprep',
  'struct',
  'subprocess',
  'sunau',
  'symtable',
  'sys',
  'sysconfig',
  'syslog',
  'tabnanny',
  'tarfile',
  'telnetlib',
  'tempfile',
  'termios',
  'textwrap',
  'this',
  'threading',
  'time',
  'timeit',
  'tkinter',
  'token',
  'tokenize',
  'tomllib',
  'trace',
  'traceback',
  'tracemalloc',
  'tty',
  'turtle',
  'turtledemo',
  'types',
  'typing',
  'unicodedata',
  'unittest',
  'urllib',
  'uu',
  'uuid',
  'venv',
  'warnings',
  'wave',
  'weakref',
  'webbrowser',
  'winreg',
  'winsound',
  'wsgiref',
  'xdrlib',
  'xml',
  'xmlrpc',
  'zipapp',
  'zipfile',
  'zipimport',
  'zlib',
  'zoneinfo',
]);
