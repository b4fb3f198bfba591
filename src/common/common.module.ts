import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock, CLOCK } from './clock';

/**
 * The process's clock, handed in at the composition root (tests pass a fake one). Global for the
 * reason ConfigModule is: a value given once by the root, not a service a module chooses to use.
 */
@Global()
@Module({})
export class CommonModule {
  static forRoot(clock: Clock): DynamicModule {
    return { module: CommonModule, providers: [{ provide: CLOCK, useValue: clock }], exports: [CLOCK] };
  }
}
