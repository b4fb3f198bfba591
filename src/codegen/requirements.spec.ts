import { mergeRequirements } from './requirements';

describe('mergeRequirements', () => {
  it('sorts by name and drops duplicates', () => {
    expect(mergeRequirements(['torch>=2.0', 'openai>=1.0.0', 'torch>=2.0'])).toEqual(['openai>=1.0.0', 'torch>=2.0']);
  });

  it('joins the specifiers of one distribution, names compared as pip normalises them', () => {
    expect(mergeRequirements(['scikit_learn>=1.3', 'Scikit-Learn<2', 'torch'])).toEqual(['scikit_learn<2,>=1.3', 'torch']);
  });

  it('keeps extras and environment markers', () => {
    expect(mergeRequirements(['uvicorn[standard]>=0.30', 'pywin32>=306 ; sys_platform == "win32"'])).toEqual([
      'pywin32>=306 ; sys_platform == "win32"',
      'uvicorn[standard]>=0.30',
    ]);
  });

  it('refuses direct references and other text', () => {
    expect(() => mergeRequirements(['pkg @ https://example.com/pkg.whl'])).toThrow('is not a pip requirement');
    expect(() => mergeRequirements(['-r other.txt'])).toThrow('is not a pip requirement');
  });
});
