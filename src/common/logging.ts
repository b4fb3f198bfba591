import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/config';
import { authContextOf } from '../auth/auth-context';

const SECRET_IN_TEXT = /tfy_[0-9A-Za-z]+/g;

/** Masks anything shaped like an API key secret, wherever it appears in a logged string. */
export function maskSecrets(text: string): string {
  return text.replace(SECRET_IN_TEXT, 'tfy_***');
}

/** Structured JSON logs (pino), one line per request with its request id; never a key secret. */
export function loggerParams(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id: string }).id,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'err.config', '*.secret', '*.key'], censor: '[redacted]' },
      serializers: {
        req: (req: IncomingMessage & { id?: string; raw?: IncomingMessage }) => ({
          id: req.id,
          method: req.method,
          url: maskSecrets(req.url ?? ''),
        }),
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
      },
      customProps: (req: IncomingMessage) => {
        const auth = authContextOf(req);
        return auth ? { workspaceId: auth.workspace.id, apiKeyId: auth.apiKey.id } : {};
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      quietReqLogger: true,
    },
  };
}
