// @ts-check
/**
 * `npm run lint:deps`: no module imports itself around a circle — the server (src), the executor
 * plugins, the SDK, the example plugin and the client. Type-only imports count: a circle of types
 * is still a circle for the reader. The layering of src/'s module folders is checked by
 * .dependency-cruiser.layers.cjs (and by src/layering.spec.ts in `npm test`).
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A module that reaches itself through its imports: split what both sides need into a third module.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
