import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../plugin-loader';
import { VerifyUsageError } from './verify-options';

/**
 * Reads `--config`: JSON text when it starts with `{` or `[`, else the path of a JSON file. The
 * value must be a JSON object.
 */
export async function readConfigArgument(text: string, cwd = process.cwd()): Promise<unknown> {
  const inline = /^\s*[{[]/.test(text);
  let source = text;
  if (!inline) {
    try {
      source = await readFile(path.resolve(cwd, text), 'utf8');
    } catch (error) {
      throw new VerifyUsageError(`--config must be a JSON object or the path of a JSON file; cannot read ${text}: ${errorMessage(error)}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (error) {
    throw new VerifyUsageError(`--config ${inline ? 'is' : `file ${text} holds`} no valid JSON: ${errorMessage(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new VerifyUsageError(`--config must be a JSON object, not ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
  }
  return parsed;
}
