import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayUnique, IsArray, IsDateString, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { IsDisplayName } from '../../common/text.validators';
import { Scope, SCOPES } from '../../auth/scopes';

export class ApiKeyDto {
  @ApiProperty({ example: 'key_Qm3xT8bL2nVc7RkA' }) id!: string;
  @ApiProperty({ example: 'CI pipeline' }) name!: string;
  @ApiProperty({ description: 'The first characters of the secret, to recognise the key', example: 'tfy_9fK2mQ7x' }) prefix!: string;
  @ApiProperty({ enum: SCOPES, isArray: true, example: ['workflows:read', 'executions:run'] }) scopes!: Scope[];
  @ApiProperty({ example: 'ws_8Hq2LmZx0PaR4tYc' }) workspaceId!: string;
  @ApiProperty({ example: '2026-11-28T13:37:35.123Z' }) createdAt!: string;
  @ApiProperty({ type: String, nullable: true, example: '2027-01-01T00:00:00.000Z' }) expiresAt!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-28T14:02:11.000Z', description: 'Updated in batches, at most a minute late' })
  lastUsedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, example: null }) revokedAt!: string | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The secret. Shown only in this response: store it now.', example: 'tfy_9fK2mQ7xLp0Wd3Rb8Zs1Yc6Nh4Tg5Vj2Ak7Ue9Oi0Pq' })
  key!: string;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto] }) apiKeys!: ApiKeyDto[];
  @ApiProperty({ type: String, nullable: true, example: null }) nextCursor!: string | null;
}

export class CreateApiKeyDto {
  @ApiProperty({ description: 'What the key is for, 1-200 characters', example: 'CI pipeline' })
  @IsDisplayName()
  name!: string;

  @ApiPropertyOptional({ description: "Workspace of the new key (default: the caller's)", example: 'ws_8Hq2LmZx0PaR4tYc' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  workspaceId?: string;

  @ApiPropertyOptional({
    enum: SCOPES,
    isArray: true,
    description: "Scopes of the new key (default: the caller's own). A key can never grant a scope it lacks itself.",
    example: ['workflows:read', 'executions:run'],
  })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes?: Scope[];

  @ApiPropertyOptional({ description: 'When the key stops working (ISO-8601, in the future); default: never', example: '2027-01-01T00:00:00Z' })
  @IsOptional()
  @IsDateString({ strict: true })
  expiresAt?: string;
}

export class ListApiKeysQueryDto extends PageQueryDto {
  // Optional filters and headers give their example in words: Swagger UI's "Try it out" would send an `example`.
  @ApiPropertyOptional({ description: 'Only the keys of this workspace, e.g. `ws_8Hq2LmZx0PaR4tYc`' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  workspaceId?: string;
}
