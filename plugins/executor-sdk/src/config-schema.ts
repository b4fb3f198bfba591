/** An environment variable's name, as `env` and `passEnv` accept it. */
const VARIABLE_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

/**
 * JSON Schema (draft-07) properties that executors' configurations share, so that the same
 * field validates the same way on every executor. The description is each executor's own: say
 * what the field does there (for pip too? on which machine?).
 *
 * @example
 * ```ts
 * properties: {
 *   env: configSchemaParts.env('Fixed variables set for every run.'),
 *   logLineMaxBytes: configSchemaParts.logLineMaxBytes,
 *   killGraceSeconds: configSchemaParts.killGraceSeconds(5, 'On cancel or timeout, seconds between SIGTERM and SIGKILL.'),
 * }
 * ```
 */
export const configSchemaParts = {
  /** The pattern of an environment variable's name (`^[A-Za-z_][A-Za-z0-9_]*$`). */
  variableName: VARIABLE_NAME,

  /** `env`: fixed variables, an object of strings by variable name; default `{}`. */
  env: (description: string) => ({
    type: 'object',
    propertyNames: { pattern: VARIABLE_NAME },
    additionalProperties: { type: 'string' },
    default: {},
    description,
  }),

  /** `passEnv`: names of variables copied into the programs' environment from one the executor reads (the server's, a remote session's); default `[]`. */
  passEnv: (description: string) => ({
    type: 'array',
    items: { type: 'string', pattern: VARIABLE_NAME },
    uniqueItems: true,
    default: [],
    description,
  }),

  /** `pipArgs`: extra arguments of `pip install`; default `[]`. */
  pipArgs: (description: string) => ({
    type: 'array',
    items: { type: 'string' },
    default: [],
    description,
  }),

  /** `logLineMaxBytes`: the `maxBytes` of a `LineSplitter`; 64 B to 16 MiB, default 16 KiB. */
  logLineMaxBytes: {
    type: 'integer',
    minimum: 64,
    maximum: 16777216,
    default: 16384,
    description: 'Longest output line kept, in bytes (UTF-8); a longer line is cut there and ends with a marker saying so.',
  },

  /** `killGraceSeconds`: on cancel or timeout, the seconds between SIGTERM and SIGKILL; 0 to 600. */
  killGraceSeconds: (defaultSeconds: number, description: string) => ({
    type: 'number',
    minimum: 0,
    maximum: 600,
    default: defaultSeconds,
    description,
  }),
} as const;
