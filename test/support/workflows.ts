/** The smallest valid workflow: a trigger whose `name` input becomes the output. */
export const MINIMAL_WORKFLOW = {
  name: 'Hello',
  nodes: [
    { id: 'trigger', type: 'manual' },
    { id: 'out', type: 'return', settings: { value: { result: '{{ trigger.name }}' } } },
  ],
  edges: [{ source: 'trigger', target: 'out' }],
};
