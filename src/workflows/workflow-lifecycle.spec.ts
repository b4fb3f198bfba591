import { WorkflowEntity } from './workflow.entity';
import { WorkflowLifecycle } from './workflow-lifecycle';

describe(WorkflowLifecycle.name, () => {
  const workflow = Object.assign(new WorkflowEntity(), { id: 'wf_a', workspaceId: 'ws_a', version: 2 });
  const previous = Object.assign(new WorkflowEntity(), { id: 'wf_a', workspaceId: 'ws_a', version: 1 });

  it('calls every listener in order and merges what their saves add to the response', async () => {
    const lifecycle = new WorkflowLifecycle();
    const calls: string[] = [];
    lifecycle.register({
      saved: (saved, before) => {
        calls.push(`a ${saved.version} ${before?.version}`);
        return Promise.resolve({ webhook: { hookId: 'hk_1' } });
      },
    });
    lifecycle.register({ deleted: (deleted) => Promise.resolve(void calls.push(`b deleted ${deleted.id}`)) });
    lifecycle.register({
      saved: () => {
        calls.push('c');
        return Promise.resolve(undefined);
      },
    });
    expect(await lifecycle.saved(workflow, previous)).toEqual({ webhook: { hookId: 'hk_1' } });
    await lifecycle.deleted(workflow);
    expect(calls).toEqual(['a 2 1', 'c', 'b deleted wf_a']);
  });

  it('adds nothing when no listener is registered', async () => {
    expect(await new WorkflowLifecycle().saved(workflow, null)).toEqual({});
  });
});
