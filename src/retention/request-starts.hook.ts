import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { ForegroundActivity } from '../common/foreground-activity';

/** Tells ForegroundActivity of each HTTP request, so that the retention job yields to them (none when there is no HTTP server, as in the CLI). */
@Injectable()
export class RequestStartsHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly activity: ForegroundActivity,
  ) {}

  onModuleInit(): void {
    // The Node server's own 'request' event, not a Fastify hook: the cached reads of
    // workflows/hot-read.ts are answered before Fastify, and they are the most frequent requests.
    const server = this.adapterHost.httpAdapter?.getInstance?.<FastifyInstance>()?.server;
    if (typeof server?.on !== 'function') return;
    server.on('request', () => this.activity.requestStarted());
  }
}
