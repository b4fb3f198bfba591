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
    const fastify = this.adapterHost.httpAdapter?.getInstance?.<FastifyInstance>();
    if (typeof fastify?.addHook !== 'function') return;
    fastify.addHook('onRequest', (_request, _reply, done) => {
      this.activity.requestStarted();
      done();
    });
  }
}
