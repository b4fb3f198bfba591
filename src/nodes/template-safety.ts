/*
 * The safety gate of every Handlebars template that makes Python: only the helpers that print a
 * value as Python reach the program. It lives here, below codegen, because the node-pack loader
 * refuses an unsafe template at load (with its file and line), before codegen ever compiles it.
 */

/** What the program skeleton (`codegen-templates/python/*.hbs`) may print. */
export const SKELETON_HELPERS: ReadonlySet<string> = new Set(['py', 'code']);
/** What a node template may print. */
export const NODE_HELPERS: ReadonlySet<string> = new Set(['py', 'body']);
export const SUBEXPRESSIONS: ReadonlySet<string> = new Set(['call']);
export const BLOCKS: ReadonlySet<string> = new Set(['if', 'unless', 'each']);

/** What makes a template unsafe: any output but `{{py …}}`/`{{body …}}`/`{{code …}}`, triple-stash, partials. */
export function templateProblems(program: hbs.AST.Program, allowed: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const visit = (node: hbs.AST.Node): void => {
    switch (node.type) {
      case 'Program':
        (node as hbs.AST.Program).body.forEach(visit);
        break;
      case 'MustacheStatement': {
        const mustache = node as hbs.AST.MustacheStatement;
        const name = (mustache.path as hbs.AST.PathExpression).original;
        if (!mustache.escaped) problems.push(`line ${node.loc.start.line}: triple-stash {{{…}}} is not allowed`);
        else if (!allowed.has(name) || mustache.params.length !== 1) {
          problems.push(
            `line ${node.loc.start.line}: write values as {{py value}}${allowed.has('body') ? ' or {{body setting}}' : ' or {{code part}}'}, not {{${name}…}}`,
          );
        }
        mustache.params.forEach(visit);
        break;
      }
      case 'SubExpression': {
        const name = (node as hbs.AST.SubExpression).path.original;
        if (!SUBEXPRESSIONS.has(name)) problems.push(`line ${node.loc.start.line}: the subexpression (${name} …) is not allowed; use (call "helper" …)`);
        (node as hbs.AST.SubExpression).params.forEach(visit);
        (node as hbs.AST.SubExpression).hash?.pairs.forEach((pair) => visit(pair.value));
        break;
      }
      case 'BlockStatement': {
        const block = node as hbs.AST.BlockStatement;
        const name = block.path.original;
        if (!BLOCKS.has(name)) problems.push(`line ${node.loc.start.line}: the block {{#${name}}} is not allowed`);
        visit(block.program);
        if (block.inverse) visit(block.inverse);
        break;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement':
      case 'DecoratorBlock':
      case 'Decorator':
        problems.push(`line ${node.loc.start.line}: partials and decorators are not allowed`);
        break;
    }
  };
  visit(program);
  return problems;
}
