import { applyDecorators } from '@nestjs/common';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

/** No C0/C1 control characters (tabs, newlines, NUL, escape sequences…) in a display name. */
const NO_CONTROL_CHARACTERS = /^[^\p{Cc}]*$/u;

/** A human-readable name: 1-200 characters, any script, no control characters, not only spaces. */
export function IsDisplayName(): PropertyDecorator {
  return applyDecorators(
    IsString(),
    MinLength(1),
    MaxLength(200),
    Matches(NO_CONTROL_CHARACTERS, { message: '$property must not contain control characters' }),
    Matches(/\S/, { message: '$property must not be blank' }),
  );
}
