import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { Auth, AuthContext } from '../auth/auth-context';
import { ApiErrors, BODY_ERRORS, ErrorDoc } from '../common/api-docs';
import { ErrorCode } from '../common/errors';
import { ScheduleDto, UpdateScheduleDto } from './dto/schedule.dto';
import { SchedulesService } from './schedules.service';

const WORKFLOW_NOT_FOUND: ErrorDoc = {
  status: 404,
  code: ErrorCode.WORKFLOW_NOT_FOUND,
  description: 'No such workflow in your workspace',
  message: 'Workflow wf_3mT8c0RkQ2xZp9Lb not found',
};
const NO_SCHEDULE: ErrorDoc = {
  status: 404,
  code: ErrorCode.SCHEDULE_NOT_FOUND,
  description: "The workflow's trigger is not a schedule",
  message: 'Workflow wf_3mT8c0RkQ2xZp9Lb has no schedule: its trigger is "manual", not "schedule". Replace the trigger with a schedule node to give it one.',
};
const ID_PARAM = { name: 'id', example: 'wf_3mT8c0RkQ2xZp9Lb' };

@ApiTags('Workflows')
@ApiAuthenticated()
@Controller('v1/workflows/:id/schedule')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @Get()
  @RequireScope('workflows:read')
  @ApiOperation({
    summary: "Get a workflow's schedule",
    description:
      'For a workflow whose trigger is a `schedule` node: its cron and time zone, whether it is paused, its next 5 fire times and its last run. Needs `workflows:read`.',
  })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 200, description: 'The schedule', type: ScheduleDto })
  @ApiErrors(WORKFLOW_NOT_FOUND, NO_SCHEDULE)
  get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<ScheduleDto> {
    return this.schedules.get(auth.workspace.id, id);
  }

  @Patch()
  @RequireScope('workflows:write')
  @ApiOperation({
    summary: "Pause or resume a workflow's schedule",
    description:
      '`{"paused": true}` stops the schedule from starting runs; `{"paused": false}` resumes it from the next fire time after now (fire times it slept through are not run). The cron itself changes with the workflow (`PUT /v1/workflows/{id}`). Needs `workflows:write`.',
  })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 200, description: 'The schedule, as changed', type: ScheduleDto })
  @ApiErrors(400, WORKFLOW_NOT_FOUND, NO_SCHEDULE, ...BODY_ERRORS)
  update(@Auth() auth: AuthContext, @Param('id') id: string, @Body() body: UpdateScheduleDto): Promise<ScheduleDto> {
    return this.schedules.setPaused(auth.workspace.id, id, body.paused);
  }
}
