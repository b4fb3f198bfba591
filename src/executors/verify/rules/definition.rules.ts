import type { ExecutorDefinition } from '@tensorify/executor-sdk';
import { checkDefinition, configAjv, validatedConfig } from '../../plugin-loader';
import type { Add, RuleId } from '../checks';

/** Why the executor's instance rules are skipped when a definition rule failed. */
export const REFUSED_BEFORE_CREATE = 'the server refuses this definition before create()';

/**
 * A definition's rules (id, display-name, version, create-function, config-schema, config) with
 * the loader's words: the configuration with its defaults when all pass, else the reason to skip
 * `create()` and after, as the server refuses such a definition.
 */
export function checkDefinitionFields(
  definition: Partial<ExecutorDefinition>,
  id: string,
  packageJson: Record<string, unknown>,
  givenConfig: unknown,
  add: Add,
): { config: unknown } | { skip: string } {
  let failed = false;
  const record: Add = (rule, status, message, details) => {
    failed ||= status === 'fail';
    add(rule, status, message, details);
  };
  const found = checkDefinition(definition, id, configAjv());
  const field = (rule: RuleId, problem: string | undefined, passed: string) => record(rule, problem === undefined ? 'pass' : 'fail', problem ?? passed);
  field('id', found.id, `"${id}", as in the manifest`);
  field('display-name', found.displayName, JSON.stringify(definition.displayName));
  if (found.version === undefined && typeof packageJson.version === 'string' && packageJson.version !== definition.version) {
    record(
      'version',
      'warn',
      `${definition.version}, but package.json says ${packageJson.version}: keep them in step (GET /v1/executors shows the definition's)`,
    );
  } else {
    field('version', found.version, String(definition.version));
  }
  field('create-function', found.create, 'a function');
  field('config-schema', found.configSchema, 'a valid JSON Schema (draft-07)');

  if (found.validateConfig === undefined) {
    record('config', 'skip', 'not checked: configSchema does not compile');
    return { skip: REFUSED_BEFORE_CREATE };
  }
  const configured = validatedConfig(found.validateConfig, id, givenConfig);
  if ('problem' in configured) record('config', 'fail', configured.problem, { given: givenConfig });
  else
    record('config', 'pass', `${JSON.stringify(givenConfig)} is valid; with its defaults: ${JSON.stringify(configured.config)}`, {
      given: givenConfig,
      config: configured.config,
    });
  return 'problem' in configured || failed ? { skip: REFUSED_BEFORE_CREATE } : { config: configured.config };
}
