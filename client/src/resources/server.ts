import type { RequestOptions, Transport } from '../transport';
import type { Executor, Health, Me, NodePack, NodeType, Readiness, SystemFacts } from './types';

/** `GET /v1/nodes`: the node catalogue. */
export class Nodes {
  constructor(private readonly transport: Transport) {}

  /** Every node type: its settings' JSON Schema, inputs, outputs and Python requirements. */
  async list(options?: RequestOptions): Promise<NodeType[]> {
    const { data } = await this.transport.send((init) => this.transport.raw.GET('/v1/nodes', init), { retryConnectionErrors: true }, options);
    return data.nodes;
  }

  /** `GET /v1/node-packs`: the built-in pack and every node pack, with version, types, and the `loadError` of what did not load. */
  async packs(options?: RequestOptions): Promise<NodePack[]> {
    const { data } = await this.transport.send((init) => this.transport.raw.GET('/v1/node-packs', init), { retryConnectionErrors: true }, options);
    return data.packs;
  }
}

/** `GET /v1/executors`: the executor plugins. */
export class Executors {
  constructor(private readonly transport: Transport) {}

  /** The loaded executors with their health and GPUs; a plugin that failed to load is listed with its `loadError`. */
  async list(options?: RequestOptions): Promise<Executor[]> {
    const { data } = await this.transport.send((init) => this.transport.raw.GET('/v1/executors', init), { retryConnectionErrors: true }, options);
    return data.executors;
  }
}

/** The server itself: host facts, liveness, readiness, metrics. */
export class System {
  constructor(private readonly transport: Transport) {}

  /** `GET /v1/system`: CPU, memory, GPUs and Python of the server's host. */
  async get(options?: RequestOptions): Promise<SystemFacts> {
    const { data } = await this.transport.send((init) => this.transport.raw.GET('/v1/system', init), { retryConnectionErrors: true }, options);
    return data;
  }

  /** `GET /health` (no key needed): the process is up. */
  async health(options?: RequestOptions): Promise<Health> {
    const { data } = await this.transport.send((init) => this.transport.raw.GET('/health', init), { retryConnectionErrors: true }, options);
    return data;
  }

  /** `GET /health/ready` (no key needed): database, queue and executors; ServiceUnavailableError (`NOT_READY`) when not ready. */
  async ready(options?: RequestOptions): Promise<Readiness> {
    const { data } = await this.transport.send((init) => this.transport.raw.GET('/health/ready', init), { retryConnectionErrors: true }, options);
    return data;
  }

  /** `GET /metrics` (no key needed): the Prometheus text. */
  async metrics(options?: RequestOptions): Promise<string> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.GET('/metrics', { ...init, parseAs: 'text' }),
      { retryConnectionErrors: true },
      options,
    );
    return data;
  }
}

/** `GET /v1/me`. */
export class MeResource {
  constructor(private readonly transport: Transport) {}

  /** The key's workspace (plan, rate limit) and the key itself (name, prefix, scopes). */
  async get(options?: RequestOptions): Promise<Me> {
    const { data } = await this.transport.send((init) => this.transport.raw.GET('/v1/me', init), { retryConnectionErrors: true }, options);
    return data;
  }
}
