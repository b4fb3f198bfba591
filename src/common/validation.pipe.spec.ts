import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Min } from 'class-validator';
import { ValidationError } from './errors';
import { ApiValidationPipe } from './validation.pipe';

class OptionalQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) limit?: number;
  @IsOptional() @IsString() cursor?: string;
  @IsOptional() @IsString() format?: string = 'json';
}

class RequiredQuery {
  @IsString() name!: string;
}

describe(ApiValidationPipe.name, () => {
  const pipe = new ApiValidationPipe();
  const query = (metatype: new () => object) => ({ type: 'query' as const, metatype, data: undefined });

  it('answers an empty query of a DTO whose fields are all optional with a new instance, every time', async () => {
    const first = await pipe.transform({}, query(OptionalQuery));
    const second = await pipe.transform({}, query(OptionalQuery));
    expect(first).toBeInstanceOf(OptionalQuery);
    expect(second).toBeInstanceOf(OptionalQuery);
    expect(second).not.toBe(first);
    expect(second).toEqual(first);
    expect({ ...(second as object) }).toEqual({ format: 'json' });
  });

  it('still validates a query that is not empty', async () => {
    await pipe.transform({}, query(OptionalQuery));
    await expect(pipe.transform({ limit: '0' }, query(OptionalQuery))).rejects.toBeInstanceOf(ValidationError);
    await expect(pipe.transform({ unknown: 'x' }, query(OptionalQuery))).rejects.toBeInstanceOf(ValidationError);
    expect(await pipe.transform({ limit: '5' }, query(OptionalQuery))).toMatchObject({ limit: 5 });
  });

  it('refuses an empty query of a DTO with a required field, every time', async () => {
    await expect(pipe.transform({}, query(RequiredQuery))).rejects.toBeInstanceOf(ValidationError);
    await expect(pipe.transform({}, query(RequiredQuery))).rejects.toBeInstanceOf(ValidationError);
  });
});
