import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, BODY_ERRORS, ErrorDoc } from '../common/api-docs';
import { ErrorCode } from '../common/errors';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';
import { ApiKeysService } from './api-keys.service';
import { ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { Auth, AuthContext } from '../auth/auth-context';
import { ApiKeyListDto, CreateApiKeyDto, CreatedApiKeyDto, ListApiKeysQueryDto } from './dto/api-key.dto';

const KEY_NOT_FOUND: ErrorDoc = { status: 404, code: ErrorCode.API_KEY_NOT_FOUND, message: 'API key key_Qm3xT8bL2nVc7RkA not found' };
const WORKSPACE_NOT_FOUND: ErrorDoc = { status: 404, code: ErrorCode.WORKSPACE_NOT_FOUND, message: 'Workspace ws_8Hq2LmZx0PaR4tYc not found' };

@ApiTags('API keys')
@ApiAuthenticated()
@RequireScope('admin')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create an API key',
    description:
      "Creates a key in the caller's workspace (or `workspaceId`). The secret is in this response only: only its SHA-256 hash is stored. " +
      "Scopes default to the caller's; a key can never grant a scope it lacks. Needs the `admin` scope.",
  })
  @ApiResponse({ status: 201, description: 'The new key, with its secret (shown only here)', type: CreatedApiKeyDto })
  @ApiErrors(400, WORKSPACE_NOT_FOUND, ...BODY_ERRORS)
  async create(@Body() body: CreateApiKeyDto, @Auth() auth: AuthContext): Promise<CreatedApiKeyDto> {
    const { apiKey, secret } = await this.apiKeys.create(
      {
        workspaceId: body.workspaceId ?? auth.workspace.id,
        name: body.name,
        scopes: body.scopes ?? auth.apiKey.scopes,
        expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
      },
      auth.apiKey,
    );
    return { ...this.apiKeys.toDto(apiKey), key: secret };
  }

  @Get()
  @ApiOperation({
    summary: 'List API keys',
    description: 'Keys of every workspace (or of `workspaceId`), newest first. Never the secret: `prefix` identifies a key. Needs the `admin` scope.',
  })
  @ApiResponse({ status: 200, description: 'A page of keys, newest first', type: ApiKeyListDto })
  @ApiErrors(400)
  async list(@Query() query: ListApiKeysQueryDto): Promise<ApiKeyListDto> {
    const page = await this.apiKeys.list(query.limit ?? DEFAULT_PAGE_SIZE, { workspaceId: query.workspaceId, cursor: query.cursor });
    return { apiKeys: page.items.map((k) => this.apiKeys.toDto(k)), nextCursor: page.nextCursor };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Revoke an API key',
    description: 'The key fails with 401 from the very next request. Revoking a revoked key is a no-op. Needs the `admin` scope.',
  })
  @ApiParam({ name: 'id', example: 'key_Qm3xT8bL2nVc7RkA' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrors(KEY_NOT_FOUND, ...BODY_ERRORS)
  async revoke(@Param('id') id: string): Promise<void> {
    await this.apiKeys.revoke(id);
  }
}
