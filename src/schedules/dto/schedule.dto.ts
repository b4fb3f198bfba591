import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';

export class ScheduleDto {
  @ApiProperty({ description: "The schedule node's cron: 5 fields, or 6 with seconds first", example: '30 2 * * *' })
  cron!: string;

  @ApiProperty({ description: 'The IANA time zone the cron is read in', example: 'Europe/Berlin' })
  timezone!: string;

  @ApiProperty({ description: 'A paused schedule starts no runs until resumed', example: false })
  paused!: boolean;

  @ApiProperty({
    description: 'The next 5 fire times (ISO-8601, UTC); empty while paused or when the cron never fires again',
    type: [String],
    format: 'date-time',
    example: ['2026-12-08T01:30:00.000Z', '2026-12-09T01:30:00.000Z', '2026-12-10T01:30:00.000Z', '2026-12-11T01:30:00.000Z', '2026-12-12T01:30:00.000Z'],
  })
  nextRuns!: string[];

  @ApiProperty({
    description: 'The fire time of the last run the schedule started (the time the cron named), or null before the first',
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-12-07T01:30:00.000Z',
  })
  lastRunAt!: string | null;

  @ApiProperty({ description: 'The execution of that run (`GET /v1/executions/{id}`)', type: String, nullable: true, example: 'exec_7Hq2LmV9xK3pR0Ts' })
  lastExecutionId!: string | null;
}

export class UpdateScheduleDto {
  @ApiProperty({ description: 'true pauses the schedule; false resumes it, from the next fire time after now (missed ones are not run)', example: true })
  @IsBoolean()
  paused!: boolean;
}
