import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Guards against server-side request forgery for URLs the server calls on a client's behalf
 * (completion callbacks): only http(s), and no loopback, private, link-local (which holds the
 * cloud metadata address 169.254.169.254), unique-local, CGNAT, multicast or otherwise reserved
 * address, checked on every address a name resolves to. The same rule runs again at connect time
 * through `guardedLookup`, so a name that resolves elsewhere later (DNS rebinding) is still refused.
 * ipaddr.js classifies the ranges (IPv4-mapped IPv6 included) rather than a hand-kept list.
 */

/** The only range an outbound address may be in. */
const PUBLIC_RANGE = 'unicast';
/** Addresses that are "unicast" to ipaddr.js but serve cloud metadata. */
const METADATA_ADDRESSES = new Set(['fd00:ec2::254', '100.100.100.200']);

/** Why `address` (an IP literal) may not be called, or null when it may. */
export function forbiddenAddress(address: string): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (METADATA_ADDRESSES.has(parsed.toString())) return `${address} is a cloud metadata address`;
  const range = parsed.range();
  return range === PUBLIC_RANGE ? null : `${address} is a ${range} address`;
}

/** Why `url` is not an http(s) URL the server may call, or null when it is (the host is not resolved here). */
export function urlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `must be an http or https URL, not ${parsed.protocol.replace(/:$/, '')}`;
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry a user name or password';
  return null;
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
}

/**
 * Why the server may not call `url`, or null when it may: the scheme, then (unless `allowPrivate`)
 * every address its host resolves to. A name that does not resolve is refused too.
 */
export async function outboundUrlProblem(url: string, allowPrivate: boolean): Promise<string | null> {
  const problem = urlProblem(url);
  if (problem !== null || allowPrivate) return problem;
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = (await resolveAll(host)).map((entry) => entry.address);
    } catch {
      return `host ${host} does not resolve`;
    }
  }
  for (const address of addresses) {
    const why = forbiddenAddress(address);
    if (why !== null) return `must not point inside the server's network: ${host === address ? '' : `${host} resolves to `}${why}`;
  }
  return null;
}

/** A `lookup` for an http(s) agent that refuses to connect to a forbidden address, whatever DNS said earlier. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const list = addresses;
    const bad = list.map((entry) => forbiddenAddress(entry.address)).find((why) => why !== null);
    if (bad !== undefined && bad !== null) {
      return callback(Object.assign(new Error(`Refused to connect: ${bad}`), { code: 'EADDRNOTALLOWED' }), '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    return callback(null, list[0].address, list[0].family);
  });
};
