import { applyDecorators } from '@nestjs/common';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

/**
 * No C0/C1 control characters (tabs, newlines, NUL, escape sequences…) and no bidirectional
 * overrides or isolates, which make a name display as something else ("Trojan Source").
 */
const NO_CONTROL_CHARACTERS = /^[^\p{Cc}\u202A-\u202E\u2066-\u2069]*$/u;

/** At least one visible character: a letter, digit, punctuation mark or symbol. */
const SOMETHING_VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;

/** A human-readable name: 1-200 characters, any script, no control characters, not blank or invisible. */
export function IsDisplayName(): PropertyDecorator {
  return applyDecorators(
    IsString(),
    MinLength(1),
    MaxLength(200),
    Matches(NO_CONTROL_CHARACTERS, { message: '$property must not contain control or bidirectional-override characters' }),
    Matches(SOMETHING_VISIBLE, { message: '$property must contain a visible character' }),
  );
}
