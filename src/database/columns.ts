import { Column, ColumnOptions, ValueTransformer } from 'typeorm';

/**
 * Timestamps are stored as fixed-width ISO-8601 UTC text (`2026-11-28T13:37:35.123Z`): the same
 * bytes on SQLite and PostgreSQL, compared as strings in keyset pagination with no driver-specific
 * date handling, and ordered chronologically because the format is fixed-width.
 */
export const isoTimestamp = {
  to: (value: Date | null | undefined) => (value instanceof Date ? value.toISOString() : value),
  from: (value: string | null) => (value === null || value === undefined ? null : new Date(value)),
} satisfies ValueTransformer;

export const TIMESTAMP_LENGTH = 24;

export function TimestampColumn(options: { name: string; nullable?: boolean }): PropertyDecorator {
  return Column({ type: 'varchar', length: TIMESTAMP_LENGTH, transformer: isoTimestamp, ...options } as ColumnOptions);
}

/** JSON kept as text, so SQLite and PostgreSQL hold it the same way and it round-trips exactly. */
export const jsonText = { to: (value: unknown) => JSON.stringify(value), from: (value: string) => JSON.parse(value) as unknown } satisfies ValueTransformer;

export function JsonColumn(options: { name: string }): PropertyDecorator {
  return Column({ type: 'text', ...options, transformer: jsonText });
}
