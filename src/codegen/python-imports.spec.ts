import { fromImport, importedNames, mergeImports } from './python-imports';

describe('mergeImports', () => {
  it('puts the standard library first, then third-party packages, plain imports before from-imports', () => {
    expect(mergeImports(['from openai import OpenAI', 'import torch', 'from typing import Any', 'import os', 'import json'])).toBe(
      'import json\nimport os\nfrom typing import Any\n\nimport torch\nfrom openai import OpenAI',
    );
  });

  it('merges the names of one module and drops duplicates', () => {
    expect(mergeImports(['from typing import Any', 'from typing import Callable, Any', 'import os', 'import os'])).toBe(
      'import os\nfrom typing import Any, Callable',
    );
  });

  it('sorts dotted modules with their package and keeps aliases', () => {
    expect(mergeImports(['import urllib.request', 'import urllib.error', 'import numpy as np', 'from torch import nn as neural'])).toBe(
      'import urllib.error\nimport urllib.request\n\nimport numpy as np\nfrom torch import nn as neural',
    );
  });

  it('refuses what is not a one-line import', () => {
    expect(() => mergeImports(['import os; os.system("x")'])).toThrow('is not a one-line Python import');
  });
});

describe('importedNames', () => {
  it('lists the names an import binds', () => {
    expect(importedNames('import urllib.request')).toEqual(['urllib']);
    expect(importedNames('import numpy as np')).toEqual(['np']);
    expect(importedNames('from torch import nn, optim as o')).toEqual(['nn', 'o']);
  });
});

describe('fromImport', () => {
  it('explodes a from-import longer than 88 characters one name per line, as black does', () => {
    const names = Array.from({ length: 12 }, (_, index) => `helper_number_${index}`);
    expect(fromImport('utils', names.slice(0, 2))).toBe('from utils import helper_number_0, helper_number_1');
    expect(fromImport('utils', names)).toBe(`from utils import (\n${names.map((name) => `    ${name},`).join('\n')}\n)`);
  });
});
