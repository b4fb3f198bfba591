import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { IsDisplayName } from '../../common/text.validators';
import { MAX_RETENTION_DAYS, Plan, PLANS } from '../../plans/plans';

export class WorkspaceDto {
  @ApiProperty({ example: 'ws_8Hq2LmZx0PaR4tYc' }) id!: string;
  @ApiProperty({ example: 'ml-research' }) name!: string;
  @ApiProperty({ enum: PLANS, example: 'pro' }) plan!: Plan;
  @ApiProperty({ description: 'Requests per minute this workspace may make (from its plan, or its own for enterprise)', example: 300 })
  rateLimitPerMinute!: number;
  @ApiProperty({
    description:
      "Days a finished execution is kept before the retention job deletes it: the workspace's own number, or its plan's (free 7, pro 30, enterprise 90)",
    example: 30,
  })
  retentionDays!: number;
  @ApiProperty({ type: Boolean, description: '`false` while `retentionDays` is the plan default, `true` when the workspace has its own', example: false })
  retentionDaysOverridden!: boolean;
  @ApiProperty({ example: '2026-11-28T13:37:35.123Z' }) createdAt!: string;
  @ApiProperty({ example: '2026-11-28T13:37:35.123Z' }) updatedAt!: string;
}

export class WorkspaceListDto {
  @ApiProperty({ type: [WorkspaceDto] }) workspaces!: WorkspaceDto[];
  @ApiProperty({ type: String, nullable: true, example: null }) nextCursor!: string | null;
}

export const MAX_RATE_LIMIT_PER_MINUTE = 100_000_000;

export class CreateWorkspaceDto {
  @ApiProperty({ description: 'Unique name, 1-200 characters', example: 'ml-research' })
  @IsDisplayName()
  name!: string;

  @ApiProperty({ enum: PLANS, example: 'pro', description: 'free: 60 requests/minute, pro: 300, enterprise: its own number' })
  @IsIn(PLANS)
  plan!: Plan;

  @ApiPropertyOptional({ description: 'Only for enterprise: requests per minute (default from TENSORIFY_ENTERPRISE_RATE_LIMIT)', example: 2000 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_RATE_LIMIT_PER_MINUTE)
  rateLimitPerMinute?: number;
}

export class UpdateWorkspaceDto extends PartialType(CreateWorkspaceDto) {
  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 1,
    maximum: MAX_RETENTION_DAYS,
    description: "Days a finished execution is kept (1-3650); `null` returns to the plan's default",
    example: 14,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_RETENTION_DAYS)
  retentionDays?: number | null;
}
