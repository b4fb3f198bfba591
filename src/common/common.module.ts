import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock, CLOCK } from './clock';

/** Process-wide providers without a module of their own: the clock. */
@Global()
@Module({})
export class CommonModule {
  static forRoot(clock: Clock): DynamicModule {
    return { module: CommonModule, providers: [{ provide: CLOCK, useValue: clock }], exports: [CLOCK] };
  }
}
