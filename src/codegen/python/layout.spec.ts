import { flatSource, layoutDef, layoutStatement } from './layout';
import { jsonToPy, py, type PyExpr } from './py-expr';

// Every expected layout below is what black 23.1 (default settings) printed for the flat statement.
const { name, str, num, call, attr, subscript, dict, list, compare, not } = py;
const lines = (...text: string[]) => text.join('\n');
const entry = (key: string, value: PyExpr) => ({ key: str(key), value });
const keyword = (key: string, value: PyExpr) => ({ name: key, value });

describe('flatSource', () => {
  it('writes calls, keyword arguments, attributes, subscripts and literals on one line', () => {
    const expr = call('http_request', [
      keyword('method', str('GET')),
      keyword('headers', dict([entry('Accept', str('*/*'))])),
      keyword('retries', num(-1)),
      keyword('items', list([num(1.5), py.none, py.bool(true)])),
    ]);
    expect(flatSource(expr)).toBe('http_request(method="GET", headers={"Accept": "*/*"}, retries=-1, items=[1.5, None, True])');
    expect(flatSource(subscript(attr(name('ctx'), 'inputs'), str('x')))).toBe('ctx.inputs["x"]');
    expect(flatSource(call(attr(attr(name('os'), 'environ'), 'get'), [str('OPENAI_BASE_URL')]))).toBe('os.environ.get("OPENAI_BASE_URL")');
  });

  it('writes empty collections and calls', () => {
    expect(flatSource(dict([]))).toBe('{}');
    expect(flatSource(list([]))).toBe('[]');
    expect(flatSource(call('now'))).toBe('now()');
  });

  it('needs no parentheses for a str literal followed by .format(...)', () => {
    const expr = dict([entry('message', call(attr(str('Hello, {}!'), 'format'), [call('text', [subscript(name('trigger_output'), str('name'))])]))]);
    expect(flatSource(expr)).toBe('{"message": "Hello, {}!".format(text(trigger_output["name"]))}');
  });

  it('parenthesises `or` inside `and` but not `and` inside `or`', () => {
    expect(flatSource(py.and([name('a'), py.or([name('b'), name('c')])]))).toBe('a and (b or c)');
    expect(flatSource(py.or([name('a'), py.and([name('b'), name('c')])]))).toBe('a or b and c');
  });

  it('keeps a nested boolop of the same operator in parentheses, so the source parses back to the same tree', () => {
    expect(flatSource(py.and([name('a'), py.and([name('b'), name('c')])]))).toBe('a and (b and c)');
  });

  it('writes comparisons and `not` at their precedence', () => {
    expect(flatSource(py.and([compare('>', subscript(name('score_output'), str('total')), num(10)), not(name('x_passed'))]))).toBe(
      'score_output["total"] > 10 and not x_passed',
    );
    expect(flatSource(not(compare('==', name('a'), name('b'))))).toBe('not a == b');
    expect(flatSource(not(py.or([name('a'), name('b')])))).toBe('not (a or b)');
  });

  it('parenthesises comparisons, `not` and boolops used as comparison operands (never a chained comparison)', () => {
    expect(flatSource(compare('==', compare('<', name('a'), name('b')), name('c')))).toBe('(a < b) == c');
    expect(flatSource(compare('!=', not(name('a')), name('b')))).toBe('(not a) != b');
    expect(flatSource(compare('<=', name('a'), py.or([name('b'), name('c')])))).toBe('a <= (b or c)');
  });

  it('parenthesises operators and negative numbers used as the value of an attribute, subscript or call', () => {
    expect(flatSource(attr(py.or([name('a'), name('b')]), 'c'))).toBe('(a or b).c');
    expect(flatSource(subscript(not(name('a')), num(0)))).toBe('(not a)[0]');
    expect(flatSource(call(compare('==', name('a'), name('b')), []))).toBe('(a == b)()');
    expect(flatSource(subscript(num(-1), num(0)))).toBe('(-1)[0]');
  });

  it('parenthesises any number before a dot, as black does (`1.real` is not even Python)', () => {
    expect(flatSource(attr(num(1), 'real'))).toBe('(1).real');
    expect(flatSource(attr(num(-0), 'real'))).toBe('(-0.0).real');
  });
});

describe('layoutStatement', () => {
  it('keeps a statement that fits on one line', () => {
    expect(layoutStatement(4, 'return ', compare('==', name('a'), name('b')))).toBe('    return a == b');
    expect(layoutStatement(4, 'x = ', dict([]))).toBe('    x = {}');
  });

  it('counts the indentation in the line length', () => {
    const expr = call('some_function_name', [str('first argument value'), str('second argument value')]);
    expect(layoutStatement(0, 'result_value = ', expr)).toBe('result_value = some_function_name("first argument value", "second argument value")');
    expect(layoutStatement(8, 'result_value = ', expr)).toBe(
      lines('        result_value = some_function_name(', '            "first argument value", "second argument value"', '        )'),
    );
  });

  it('makes the invisible parentheses around a returned expression visible to split inside them', () => {
    expect(layoutStatement(4, 'return ', compare('==', name('a'.repeat(45)), name('b'.repeat(45))))).toBe(
      lines('    return (', `        ${'a'.repeat(45)}`, `        == ${'b'.repeat(45)}`, '    )'),
    );
  });

  it('splits at the last opening bracket and hugs call arguments that fit on one line', () => {
    const expr = call('some_function_name', [str('first argument value'), str('second argument value'), name('third_argument_xyz')]);
    expect(layoutStatement(4, 'result = ', expr)).toBe(
      lines('    result = some_function_name(', '        "first argument value", "second argument value", third_argument_xyz', '    )'),
    );
  });

  it('puts call arguments one per line with a magic trailing comma when they do not fit on one line', () => {
    const expr = call('http_request', [
      keyword('method', str('GET')),
      keyword('url', str('https://api.example.com/v1/items')),
      keyword('headers', dict([entry('Accept', str('application/json'))])),
      keyword('timeout_seconds', num(30)),
    ]);
    expect(layoutStatement(4, 'response = ', expr)).toBe(
      lines(
        '    response = http_request(',
        '        method="GET",',
        '        url="https://api.example.com/v1/items",',
        '        headers={"Accept": "application/json"},',
        '        timeout_seconds=30,',
        '    )',
      ),
    );
  });

  it('explodes a split dict one entry per line with a trailing comma, even when its entries would fit on one line', () => {
    const expr = dict([entry('message', str('Hello there, this is a greeting for you, my friend')), entry('count', num(3))]);
    expect(layoutStatement(4, 'payload = ', expr)).toBe(
      lines('    payload = {', '        "message": "Hello there, this is a greeting for you, my friend",', '        "count": 3,', '    }'),
    );
  });

  it('keeps a lone element on its own line without adding a trailing comma', () => {
    expect(layoutStatement(4, 'items = ', list([str('a single element that is long enough to need its own line here, really truly')]))).toBe(
      lines('    items = [', '        "a single element that is long enough to need its own line here, really truly"', '    ]'),
    );
    expect(layoutStatement(4, 'value = ', call('transform', [str('a single argument that is long enough to need its own line, really')]))).toBe(
      lines('    value = transform(', '        "a single argument that is long enough to need its own line, really"', '    )'),
    );
  });

  it('does not explode a collection that fits on its own line as the lone element of another', () => {
    const expr = list([dict([entry('name', str('the first entry in the list of results, which is long')), entry('score', num(10))])]);
    expect(layoutStatement(4, 'return ', expr)).toBe(
      lines('    return [', '        {"name": "the first entry in the list of results, which is long", "score": 10}', '    ]'),
    );
  });

  it('explodes nested JSON level by level', () => {
    const expr = jsonToPy({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a helpful assistant that answers briefly.' },
        { role: 'user', content: 'Hi' },
      ],
      temperature: 0.2,
    });
    expect(layoutStatement(0, 'config = ', expr)).toBe(
      lines(
        'config = {',
        '    "model": "gpt-4o-mini",',
        '    "messages": [',
        '        {',
        '            "role": "system",',
        '            "content": "You are a helpful assistant that answers briefly.",',
        '        },',
        '        {"role": "user", "content": "Hi"},',
        '    ],',
        '    "temperature": 0.2,',
        '}',
      ),
    );
  });

  it('splits an `if` condition at its boolean operators, inside parentheses', () => {
    const condition = py.and([
      compare('>', subscript(name('score_output'), str('total')), num(10)),
      not(name('x_passed')),
      compare('==', name('some_other_condition'), str('expected value')),
    ]);
    expect(layoutStatement(4, 'if ', condition, ':')).toBe(
      lines('    if (', '        score_output["total"] > 10', '        and not x_passed', '        and some_other_condition == "expected value"', '    ):'),
    );
  });

  it('gives `and` and `or` the same split priority', () => {
    const condition = py.or([py.and([name('first_condition_name'), name('second_condition_name')]), name('third_condition_name_here_too_long')]);
    expect(layoutStatement(4, 'if ', condition, ':')).toBe(
      lines('    if (', '        first_condition_name', '        and second_condition_name', '        or third_condition_name_here_too_long', '    ):'),
    );
  });

  it('splits at comparisons only when an operand of the boolean operator is still too long', () => {
    const fits = py.and([compare('==', name('a_rather_long_variable_name_number_one'), name('another_rather_long_variable_name_xyz')), name('flag')]);
    expect(layoutStatement(4, 'return ', fits)).toBe(
      lines('    return (', '        a_rather_long_variable_name_number_one == another_rather_long_variable_name_xyz', '        and flag', '    )'),
    );
    const tooLong = py.and([
      compare('==', name('a_rather_long_variable_name_number_one_xyz'), name('another_rather_long_variable_name_xyz_abc')),
      name('flag'),
    ]);
    expect(layoutStatement(4, 'return ', tooLong)).toBe(
      lines(
        '    return (',
        '        a_rather_long_variable_name_number_one_xyz',
        '        == another_rather_long_variable_name_xyz_abc',
        '        and flag',
        '    )',
      ),
    );
  });

  it('splits a method chain at its dots, inside parentheses, only when it does not fit in them', () => {
    const chain = (args: PyExpr[]) => call(attr(call(attr(call('get_client', [name('configuration')]), 'with_options'), [name('retries')]), 'request'), args);
    expect(layoutStatement(4, 'response_value = ', chain([str('GET'), name('url1')]))).toBe(
      lines('    response_value = (', '        get_client(configuration).with_options(retries).request("GET", url1)', '    )'),
    );
    expect(layoutStatement(4, 'value = ', chain([str('GET'), name('url'), name('payload_data'), name('headers')]))).toBe(
      lines(
        '    value = (',
        '        get_client(configuration)',
        '        .with_options(retries)',
        '        .request("GET", url, payload_data, headers)',
        '    )',
      ),
    );
  });

  it('keeps a line that cannot be split, such as a long string, as it is', () => {
    expect(layoutStatement(4, 'x = ', str('a'.repeat(100)))).toBe(`    x = "${'a'.repeat(100)}"`);
    const compareNames = compare('==', name('a'.repeat(45)), name('b'.repeat(45)));
    expect(layoutStatement(4, '', compareNames)).toBe(`    ${'a'.repeat(45)} == ${'b'.repeat(45)}`); // no invisible parentheses
  });

  it('wraps a bare expression statement only at its own brackets', () => {
    const expr = call('log_message', [str('something unexpected happened while processing the request'), name('request_id')]);
    expect(layoutStatement(4, '', expr)).toBe(
      lines('    log_message(', '        "something unexpected happened while processing the request", request_id', '    )'),
    );
  });

  it('splits at an earlier trailer when the head before the last one is too long', () => {
    const method = (args: string[]) => subscript(call(attr(name('some_object'), 'method'), args.map(name)), str('response_key'));
    expect(layoutStatement(4, 'result = ', method(['argument_number_one', 'argument_number_two']))).toBe(
      lines('    result = some_object.method(argument_number_one, argument_number_two)[', '        "response_key"', '    ]'),
    );
    expect(layoutStatement(4, 'result = ', method(['argument_number_one', 'argument_number_two', 'argument_three']))).toBe(
      lines('    result = some_object.method(', '        argument_number_one, argument_number_two, argument_three', '    )["response_key"]'),
    );
  });

  it('omits the optional parentheses when the expression ends with a bracket after other brackets', () => {
    const expr = compare(
      '==',
      subscript(name('data'), str('a rather long key name used here')),
      call('compute_expected_value', [name('x_value'), name('y_value'), name('z')]),
    );
    expect(layoutStatement(4, 'return ', expr)).toBe(
      lines('    return data["a rather long key name used here"] == compute_expected_value(', '        x_value, y_value, z', '    )'),
    );
  });

  it('omits the optional parentheses when the expression starts with a bracket whose closing rest fits', () => {
    const expr = compare('==', dict([entry('key', str('a value that makes this line rather long, longer'))]), name('expected_dictionary'));
    expect(layoutStatement(4, 'return ', expr)).toBe(
      lines('    return {', '        "key": "a value that makes this line rather long, longer"', '    } == expected_dictionary'),
    );
  });

  it('uses parentheses when a call without arguments is too long', () => {
    expect(layoutStatement(4, 'some_rather_long_variable_name = ', call('a_function_with_a_rather_long_name_too_xx_yy_zz_ww'))).toBe(
      lines('    some_rather_long_variable_name = (', '        a_function_with_a_rather_long_name_too_xx_yy_zz_ww()', '    )'),
    );
  });

  describe('a long string literal followed by .format(...)', () => {
    const format = (template: string, args: PyExpr[]) => call(attr(str(template), 'format'), args);

    it('splits at the parentheses when the call then fits in them (black\'s "second opinion")', () => {
      expect(layoutStatement(4, 'greeting_text_for_the_user = ', format(`Hello, {}! ${'x'.repeat(44)}`, [name('name')]))).toBe(
        lines('    greeting_text_for_the_user = (', `        "Hello, {}! ${'x'.repeat(44)}".format(name)`, '    )'),
      );
    });

    it('splits inside the parentheses too when the call does not fit in them', () => {
      const template = 'Hello, {}! This is a long greeting template string that goes on and on';
      expect(layoutStatement(4, 'return ', format(template, [call('text', [subscript(name('trigger_output'), str('name'))])]))).toBe(
        lines('    return (', `        "${template}".format(`, '            text(trigger_output["name"])', '        )', '    )'),
      );
    });

    it('leaves the head too long when the parentheses do not help', () => {
      const template = `Hello, {}! ${'x'.repeat(80)}`;
      expect(layoutStatement(4, 'return ', format(template, [name('name')]))).toBe(lines(`    return "${template}".format(`, '        name', '    )'));
    });

    it('leaves `.format()` without arguments long', () => {
      expect(layoutStatement(4, 'return ', format('x'.repeat(90), []))).toBe(`    return "${'x'.repeat(90)}".format()`);
    });
  });

  it('splits a negated call at its own brackets', () => {
    const expr = not(call('is_valid', [name('some_long_argument_name_one'), name('some_long_argument_name_two_and_even_more')]));
    expect(layoutStatement(4, 'if ', expr, ':')).toBe(
      lines('    if not is_valid(', '        some_long_argument_name_one, some_long_argument_name_two_and_even_more', '    ):'),
    );
  });

  it('rejects statement shapes it does not know', () => {
    expect(() => layoutStatement(0, 'while ', name('x'), ':')).toThrow('Unsupported statement shape');
    expect(() => layoutStatement(0, 'if ', name('x'))).toThrow('Unsupported statement shape');
    expect(() => layoutStatement(0, 'class = ', name('x'))).toThrow('Unsupported statement shape');
  });
});

describe('layoutDef', () => {
  const params = (...names: string[]) => names.map((param) => ({ name: param, annotation: param === 'ctx' ? 'Context' : 'Any' }));

  it('keeps a header that fits on one line', () => {
    expect(layoutDef(0, 'run', params('a', 'ctx'), 'Any')).toBe('def run(a: Any, ctx: Context) -> Any:');
  });

  it('hugs parameters that fit on one line, without a trailing comma', () => {
    expect(layoutDef(0, 'node_http_request_with_a_rather_long_name_xy', params('trigger_output', 'ctx'), 'Any')).toBe(
      lines('def node_http_request_with_a_rather_long_name_xy(', '    trigger_output: Any, ctx: Context', ') -> Any:'),
    );
  });

  it('puts parameters one per line with a trailing comma when they do not fit on one line', () => {
    expect(layoutDef(0, 'node_http_request', params('trigger_output', 'score_output_value', 'another_output', 'yet_another_output', 'ctx'), 'Any')).toBe(
      lines(
        'def node_http_request(',
        '    trigger_output: Any,',
        '    score_output_value: Any,',
        '    another_output: Any,',
        '    yet_another_output: Any,',
        '    ctx: Context,',
        ') -> Any:',
      ),
    );
  });

  it('adds a trailing comma after a lone parameter', () => {
    expect(layoutDef(4, 'node_with_a_really_long_function_name_that_keeps_going', params('the_only_parameter_name'), 'Any')).toBe(
      lines('    def node_with_a_really_long_function_name_that_keeps_going(', '        the_only_parameter_name: Any,', '    ) -> Any:'),
    );
  });

  it('splits a header without parameters at the invisible parentheses around the return annotation', () => {
    const name = `node_${'x'.repeat(80)}`;
    expect(layoutDef(0, name, [], 'Any')).toBe(lines(`def ${name}() -> (`, '    Any', '):'));
  });

  it('rejects names that are not identifiers and annotations that are not dotted names', () => {
    expect(() => layoutDef(0, 'class', [], 'Any')).toThrow('Not a Python identifier');
    expect(() => layoutDef(0, 'f', [{ name: 'a', annotation: 'dict[str, Any]' }], 'Any')).toThrow('Unsupported annotation');
  });
});
