import { ApiProperty } from '@nestjs/swagger';
import { Plan, PLANS } from '../../plans/plans';
import { Scope, SCOPES } from '../scopes';

class MeWorkspaceDto {
  @ApiProperty({ example: 'ws_8Hq2LmZx0PaR4tYc' }) id!: string;
  @ApiProperty({ example: 'default' }) name!: string;
  @ApiProperty({ enum: PLANS, example: 'enterprise' }) plan!: Plan;
  @ApiProperty({ example: 1000 }) rateLimitPerMinute!: number;
}

class MeApiKeyDto {
  @ApiProperty({ example: 'key_Qm3xT8bL2nVc7RkA' }) id!: string;
  @ApiProperty({ example: 'bootstrap admin' }) name!: string;
  @ApiProperty({ example: 'tfy_9fK2mQ7x' }) prefix!: string;
  @ApiProperty({ enum: SCOPES, isArray: true, example: ['admin'] }) scopes!: Scope[];
}

export class MeDto {
  @ApiProperty({ type: MeWorkspaceDto }) workspace!: MeWorkspaceDto;
  @ApiProperty({ type: MeApiKeyDto }) apiKey!: MeApiKeyDto;
}
