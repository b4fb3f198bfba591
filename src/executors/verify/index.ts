/** `tensorify-server plugins verify`: what the CLI uses of this folder (and the tests, through the same door). */
export { type Check, type CheckStatus, RULES, type RuleId } from './checks';
export { readConfigArgument } from './config-argument';
export { HELLO_OUTPUT } from './hello-program';
export { formatNodePackReport, type NodePackCheck, type NodePackReport, type NodePackVerifyOptions, verifyNodePack } from './node-pack-verify';
export { serverSdk } from './server-sdk';
export { type PackageReport, renderPackageReport, verifyPackage } from './verify-package';
export { verifyPlugin } from './verify-plugin';
export { type VerifyOptions, VerifyUsageError } from './verify-options';
export { formatReport, renderReport, reportExitCode, type VerifyReport } from './verify-report';
