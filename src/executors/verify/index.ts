/** `tensorify-server plugins verify`: what the CLI and the tests use of the verify folder. */
export { type Check, type CheckStatus, EXECUTOR_RULES, RULES, type RuleId } from './checks';
export { readConfigArgument } from './config-argument';
export { HELLO_INPUTS, HELLO_OUTPUT, HELLO_PROGRAM_DIR } from './hello-program';
export { npmError } from './npm-process';
export { runtimeDependencies } from './rules/dependencies.rules';
export { SDK_PACKAGE, serverSdk } from './server-sdk';
export { verifyPlugin } from './verify-plugin';
export { formatReport, renderReport, reportExitCode, type VerifyReport } from './verify-report';
export { CAPABILITIES_TIMEOUT_MS, INSTALL_TIMEOUT_MS, type VerifyOptions, VerifyUsageError } from './verify-options';
