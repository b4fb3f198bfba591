import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ValidationError } from './errors';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export class PageQueryDto {
  @ApiPropertyOptional({ description: 'Items per page', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  @ApiPropertyOptional({ description: 'The `nextCursor` of the previous page (opaque)' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  cursor?: string;
}

/** Position after the last item of a page, in the newest-first order (createdAt desc, id desc). */
export interface PagePosition {
  createdAt: Date;
  id: string;
}

export function encodeCursor(position: PagePosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.getTime(), position.id])).toString('base64url');
}

/** The furthest from the epoch a Date can be, in ms; beyond it `new Date(time)` is an Invalid Date. */
const MAX_DATE_MS = 8.64e15;

export function decodeCursor(cursor: string): PagePosition {
  try {
    const [time, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof time === 'number' && Number.isSafeInteger(time) && Math.abs(time) <= MAX_DATE_MS && typeof id === 'string' && id.length <= 64) {
      return { createdAt: new Date(time), id };
    }
  } catch {
    // falls through to the error below
  }
  throw new ValidationError('Invalid cursor: pass the nextCursor of a previous page unchanged', {
    cursor: ['is not a cursor this server issued'],
  });
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Cuts a result fetched with `limit + 1` rows into a page and the cursor of the next one. */
export function toPage<T extends PagePosition>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
