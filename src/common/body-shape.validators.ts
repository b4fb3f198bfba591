import { applyDecorators } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsArray, ValidateBy, ValidateIf, ValidateNested, type ValidationArguments } from 'class-validator';

const isPlainObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

const describe = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`);

/**
 * A list of objects of a DTO class, each checked against that class. class-validator's
 * `ValidateNested` alone walks into an array found where an object belongs (`[[]]` passes), so
 * every item is first required to be a JSON object; the message names the first item that is not,
 * e.g. `nodes[0] must be an object, not an array`.
 */
export function IsObjectListOf(dto: () => new () => object): PropertyDecorator {
  return applyDecorators(
    IsArray(),
    ValidateBy({
      name: 'isObjectList',
      validator: {
        validate: (value: unknown) => !Array.isArray(value) || value.every(isPlainObject),
        defaultMessage: ({ property, value }: ValidationArguments) => {
          const items = value as unknown[];
          const index = items.findIndex((item) => !isPlainObject(item));
          return `${property}[${index}] must be an object, not ${describe(items[index])}`;
        },
      },
    }),
    // Its own message for an item that is not an object or array (`… must be either object or array`) would be wrong here.
    ValidateNested({ each: true, message: ({ property }: ValidationArguments) => `every item of ${property} must be an object` }),
    Type(dto),
  );
}

/**
 * A field that may be left out but, when present, must pass its other checks: unlike
 * `@IsOptional()`, null is not taken for absent, so `"position": null` is refused rather than
 * stored (and then served where the document promises an object).
 */
export function IsOmittable(): PropertyDecorator {
  return ValidateIf((_, value: unknown) => value !== undefined);
}
