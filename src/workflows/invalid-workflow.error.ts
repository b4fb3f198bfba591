import { DomainError, ErrorCode } from '../common/errors';
import type { GraphReport } from './graph/graph-problem';

/** 400 `INVALID_WORKFLOW`: the graph's problems, every one, with `details.nodes` keyed by node id. */
export class InvalidWorkflowError extends DomainError {
  readonly status = 400;

  constructor(report: GraphReport) {
    const { nodes, graph } = report.errors;
    const perNode = Object.entries(nodes).flatMap(([id, problems]) => problems.map((p) => ({ id, message: p.message })));
    const count = perNode.length + graph.length;
    const first = graph[0]?.message ?? perNode[0]?.message ?? '';
    super(ErrorCode.INVALID_WORKFLOW, `The workflow is invalid (${count} problem${count === 1 ? '' : 's'}): ${first}`, { nodes, graph });
  }
}
