/**
 * `@tensorify/executor-sdk/ssh`: SSH for executors that reach their machines over it (the first-party
 * `ssh` and `slurm` executors): connecting and logging in (key, agent, jump host), host keys checked
 * against known_hosts or pinned fingerprints, a connection that runs commands and serves SFTP, and
 * the configuration schema of all that.
 *
 * A subpath of its own so that the SDK's main entry does not load ssh2: a plugin that imports this
 * module declares `ssh2` in its own dependencies (the SDK does not list it: see the SDK README).
 *
 * @packageDocumentation
 */

export {
  expandHome,
  resolveSshHostKeys,
  resolveSshLogin,
  resolveSshTarget,
  sshConfigSchemaParts,
  type ResolvedSshHostKeys,
  type ResolvedSshJump,
  type ResolvedSshLogin,
  type SshHostConfig,
  type SshHostKeysConfig,
  type SshJumpConfig,
  type SshLoginConfig,
  type SshTarget,
} from './config';
export { connect, ConnectAborted, Connection, shellQuote, type CommandResult, type ConnectSettings } from './connection';
export {
  fingerprint,
  hostKeyAlgorithms,
  hostMatches,
  keyType,
  knownHostsName,
  matchKnownHosts,
  normaliseFingerprint,
  parseKnownHosts,
  readKnownHosts,
  verifyHostKey,
  type HostKeys,
  type HostKeyVerdict,
} from './known-hosts';
